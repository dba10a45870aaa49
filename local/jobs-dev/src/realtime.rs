//! Appwrite's Realtime endpoint (`GET /v1/realtime`, a WebSocket) for the dev server, so the
//! dashboard and the official Web SDK receive row events locally exactly as from Appwrite:
//! `connected` / `event` / `response` / `error` / `pong` messages, channels given in the URL
//! (`channels[]=`) or by a `subscribe` message, the row as the payload, and delivery only to
//! connections holding a role the table's `read` permission lists. The protocol is Appwrite
//! 1.9.6's (`app/realtime.php`, `src/Appwrite/Messaging/Adapter/Realtime.php`,
//! `src/Appwrite/Realtime/Message/Handlers/*`): see `docs/appwrite-notes.md § Realtime and Account`.
//!
//! Row events come from [`NotifyingStore`], which wraps the store every hosted function writes
//! through and publishes each created or changed job row on a broadcast channel. Pruned rows are
//! not announced (the sweeper deletes finished jobs only, which the dashboard ages out itself).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use shared::job::{format_timestamp, Job, JobEvent, JobStatus, JobType, Timestamp};
use shared::store::{Count, Created, JobQuery, JobStore, Page, Pruned, StoreResult, Write};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Row events kept for slow sockets; a socket that falls further behind is closed, so its
/// client reconnects and resynchronises instead of silently missing a change.
const BACKLOG: usize = 1024;

/// The log table of `appwrite.json`.
const EVENTS_TABLE: &str = "job_events";

/// One row change, as Appwrite's realtime worker receives it.
#[derive(Debug, Clone)]
pub struct RowEvent {
    pub table: String,
    pub action: &'static str,
    pub row: Value,
    pub at: Timestamp,
}

/// Who is on the other end of a socket: their Appwrite roles (`any`, `users`, `user:…`,
/// `team:…`, `label:…`, or `guests`) and, when signed in, their account.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub roles: Vec<String>,
    pub account: Option<Value>,
}

/// The broadcast hub and what the endpoint needs to know about the project.
pub struct Hub {
    tx: broadcast::Sender<Arc<RowEvent>>,
    project: String,
    database: String,
    /// Table id → the roles its `read` permission lists.
    readers: HashMap<String, Vec<String>>,
    connections: AtomicU64,
    sent: AtomicU64,
}

impl Hub {
    pub fn new(project: &str, database: &str, readers: HashMap<String, Vec<String>>) -> Hub {
        Hub {
            tx: broadcast::channel(BACKLOG).0,
            project: project.to_owned(),
            database: database.to_owned(),
            readers,
            connections: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        }
    }

    /// Publishes a row change to every open socket (a no-op when none is open).
    pub fn publish(&self, event: RowEvent) {
        let _ = self.tx.send(Arc::new(event));
    }

    /// Sockets opened so far and event messages sent, for the dev server's counters.
    pub fn stats(&self) -> Value {
        json!({
            "connections": self.connections.load(Ordering::Relaxed),
            "eventsSent": self.sent.load(Ordering::Relaxed),
        })
    }

    /// The channels an event on `table` row `id` is published to (`getDatabaseChannels` for a
    /// TablesDB row: the legacy documents names, and the rows names under both prefixes).
    fn channels(&self, table: &str, id: &str) -> Vec<String> {
        let db = &self.database;
        let mut out = vec![
            "documents".to_owned(),
            format!("databases.{db}.collections.{table}.documents"),
            format!("databases.{db}.collections.{table}.documents.{id}"),
            "rows".to_owned(),
            format!("databases.{db}.tables.{table}.rows"),
            format!("databases.{db}.tables.{table}.rows.{id}"),
            format!("tablesdb.{db}.tables.{table}.rows"),
            format!("tablesdb.{db}.tables.{table}.rows.{id}"),
        ];
        out.dedup();
        out
    }

    /// The event names of a row change, most specific first (a subset of Appwrite's generated
    /// wildcard forms).
    fn events(&self, table: &str, id: &str, action: &str) -> Vec<String> {
        let db = &self.database;
        vec![
            format!("tablesdb.{db}.tables.{table}.rows.{id}.{action}"),
            format!("tablesdb.{db}.tables.{table}.rows.{id}"),
            format!("tablesdb.{db}.tables.{table}.rows.*.{action}"),
            format!("tablesdb.{db}.tables.{table}.rows.*"),
            format!("tablesdb.{db}.tables.*.rows.*.{action}"),
            format!("tablesdb.*.tables.*.rows.*.{action}"),
            format!("databases.{db}.collections.{table}.documents.{id}.{action}"),
            format!("databases.*.collections.*.documents.*.{action}"),
        ]
    }
}

/// One subscription of a socket: its id and channels.
struct Subscription {
    id: String,
    channels: HashSet<String>,
}

fn subscription_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:013x}{:07x}",
        chrono::Utc::now().timestamp_millis(),
        n & 0xfff_ffff
    )
}

/// Answers the upgrade request and serves the socket in the background. `identity` is resolved
/// by the gateway from the session cookie the browser sends with the upgrade.
pub fn upgrade(hub: Arc<Hub>, req: Request<Incoming>, identity: Identity) -> Response<Full<Bytes>> {
    let key = req
        .headers()
        .get("sec-websocket-key")
        .map(|k| derive_accept_key(k.as_bytes()));
    let wants_ws = req
        .headers()
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(accept) = key.filter(|_| wants_ws) else {
        let body = json!({"message": "Realtime is a WebSocket endpoint: send an upgrade request.", "code": 400, "type": "general_argument_invalid", "version": "1.9.6"});
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("static headers are valid");
    };
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            let ws =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            serve(hub, ws, query, identity).await;
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-accept", accept)
        .body(Full::new(Bytes::new()))
        .expect("static headers are valid")
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

async fn send(ws: &mut Socket, message: &Value) -> bool {
    ws.send(Message::text(message.to_string())).await.is_ok()
}

fn error(code: u16, message: &str) -> Value {
    json!({"type": "error", "data": {"code": code, "message": message}})
}

async fn serve(hub: Arc<Hub>, mut ws: Socket, query: Vec<(String, String)>, mut who: Identity) {
    hub.connections.fetch_add(1, Ordering::Relaxed);
    let project = query
        .iter()
        .find(|(k, _)| k == "project")
        .map(|(_, v)| v.as_str());
    if project != Some(hub.project.as_str()) {
        // app/realtime.php: an unknown project is a policy violation (1008) and the socket closes.
        send(&mut ws, &error(1008, "Missing or unknown project ID")).await;
        let _ = ws
            .close(Some(CloseFrame {
                code: CloseCode::Policy,
                reason: "Missing or unknown project ID".into(),
            }))
            .await;
        return;
    }
    // Listening starts before `connected` goes out, so no change after it is missed.
    let mut rx = hub.tx.subscribe();
    let url_channels: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "channels[]" || k == "channels")
        .map(|(_, v)| v.clone())
        .collect();
    let mut subs: Vec<Subscription> = Vec::new();
    let mapping: Vec<String> = if url_channels.is_empty() {
        Vec::new()
    } else {
        let id = subscription_id();
        subs.push(Subscription {
            id: id.clone(),
            channels: url_channels.iter().cloned().collect(),
        });
        vec![id]
    };
    let connected = json!({"type": "connected", "data": {
        "channels": url_channels, "subscriptions": mapping, "user": who.account,
    }});
    if !send(&mut ws, &connected).await {
        return;
    }
    loop {
        // Events first: a message is answered only after every change already published has
        // been delivered (or filtered), so a client's ping round trip orders after them.
        tokio::select! {
            biased;
            event = rx.recv() => {
                let event = match event {
                    Ok(e) => e,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = ws.close(Some(CloseFrame { code: CloseCode::Again, reason: "fell behind; reconnect".into() })).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if let Some(message) = deliver(&hub, &event, &subs, &who) {
                    if !send(&mut ws, &message).await {
                        return;
                    }
                    hub.sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            incoming = ws.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let reply = answer(&text, &mut subs, &mut who);
                if !send(&mut ws, &reply).await {
                    return;
                }
            }
        }
    }
}

/// The event message for this socket, or None when it may not read the row or did not ask
/// for any of its channels (`Realtime::getSubscribers`).
fn deliver(hub: &Hub, event: &RowEvent, subs: &[Subscription], who: &Identity) -> Option<Value> {
    let readers = hub.readers.get(&event.table)?;
    let allowed = readers.iter().any(|r| r == "any" || who.roles.contains(r));
    if !allowed {
        return None;
    }
    let id = event.row.get("$id").and_then(Value::as_str).unwrap_or("");
    let channels = hub.channels(&event.table, id);
    let matched: Vec<&str> = subs
        .iter()
        .filter(|s| channels.iter().any(|c| s.channels.contains(c)))
        .map(|s| s.id.as_str())
        .collect();
    if matched.is_empty() {
        return None;
    }
    Some(json!({"type": "event", "data": {
        "events": hub.events(&event.table, id, event.action),
        "channels": channels,
        "timestamp": format_timestamp(&event.at),
        "payload": event.row,
        "subscriptions": matched,
    }}))
}

/// Answers one client message (`src/Appwrite/Realtime/Message/Handlers/*`).
fn answer(text: &str, subs: &mut Vec<Subscription>, who: &mut Identity) -> Value {
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        return error(1003, "Message format is not valid.");
    };
    match message.get("type").and_then(Value::as_str) {
        Some("ping") => json!({"type": "pong"}),
        Some("subscribe") => {
            let Some(items) = message.get("data").and_then(Value::as_array) else {
                return error(1003, "Payload is not valid.");
            };
            let mut added = Vec::new();
            for item in items {
                let channels: Option<Vec<String>> = item
                    .get("channels")
                    .and_then(Value::as_array)
                    .and_then(|c| c.iter().map(|v| v.as_str().map(str::to_owned)).collect());
                let Some(channels) = channels else {
                    return error(1003, "Payload is not valid.");
                };
                let queries = item.get("queries").and_then(Value::as_array);
                if queries.is_some_and(|q| !q.is_empty()) {
                    return error(
                        1003,
                        "Invalid query: jobs-dev supports subscriptions without queries only.",
                    );
                }
                let id = item
                    .get("subscriptionId")
                    .and_then(Value::as_str)
                    .map_or_else(subscription_id, str::to_owned);
                subs.retain(|s| s.id != id);
                added.push(json!({"subscriptionId": id, "channels": channels, "queries": []}));
                subs.push(Subscription {
                    id,
                    channels: channels.into_iter().collect(),
                });
            }
            json!({"type": "response", "data": {"to": "subscribe", "success": true, "subscriptions": added}})
        }
        Some("unsubscribe") => {
            let ids: Vec<&str> = message
                .get("data")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.get("subscriptionId").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            subs.retain(|s| !ids.contains(&s.id.as_str()));
            json!({"type": "response", "data": {"to": "unsubscribe", "success": true}})
        }
        Some("authentication") => {
            // The dev server authenticates sockets by the session cookie of the upgrade request;
            // a session sent in a message is accepted only when it names that same user.
            match &who.account {
                Some(user) => {
                    json!({"type": "response", "data": {"to": "authentication", "success": true, "user": user}})
                }
                None => error(1003, "Session is not valid."),
            }
        }
        _ => error(1003, "Message type is not valid."),
    }
}

/// Per-function store call counters (reads and writes), so tests and the benchmark can say what
/// a dashboard tab or a worker costs in store requests.
#[derive(Default)]
pub struct StoreCounters {
    by_function: Mutex<HashMap<String, (u64, u64)>>,
}

impl StoreCounters {
    fn add(&self, function: &str, read: bool) {
        let mut map = self
            .by_function
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = map.entry(function.to_owned()).or_default();
        if read {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }

    pub fn snapshot(&self) -> Value {
        let map = self
            .by_function
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.iter()
            .map(|(k, (r, w))| (k.clone(), json!({"reads": r, "writes": w})))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// The store as one hosted function sees it: every call counted under the function's id, every
/// created or changed job published to the Realtime hub.
pub struct NotifyingStore {
    inner: Arc<dyn JobStore>,
    hub: Arc<Hub>,
    counters: Arc<StoreCounters>,
    function: String,
    table: String,
}

impl NotifyingStore {
    pub fn new(
        inner: Arc<dyn JobStore>,
        hub: Arc<Hub>,
        counters: Arc<StoreCounters>,
        function: &str,
    ) -> NotifyingStore {
        NotifyingStore {
            inner,
            hub,
            counters,
            function: function.to_owned(),
            table: "jobs".to_owned(),
        }
    }

    /// Publishes the job row, then the log rows written with it (`job_events` creates).
    fn publish(&self, job: &Job, action: &'static str, events: &[JobEvent]) {
        let now = chrono::Utc::now();
        // As on Appwrite, the entries written with the change ride in the row's outbox.
        let mut row = shared::store::appwrite::job_row_with_log(job, events);
        self.system_columns(&mut row, &self.table, &job.created_at, &job.updated_at);
        self.hub.publish(RowEvent {
            table: self.table.clone(),
            action,
            row,
            at: now,
        });
        for event in events {
            let mut row = shared::store::appwrite::event_row(event, job.rev);
            self.system_columns(&mut row, EVENTS_TABLE, &event.at, &event.at);
            self.hub.publish(RowEvent {
                table: EVENTS_TABLE.to_owned(),
                action: "create",
                row,
                at: now,
            });
        }
    }

    fn system_columns(
        &self,
        row: &mut Value,
        table: &str,
        created: &Timestamp,
        updated: &Timestamp,
    ) {
        row["$tableId"] = json!(table);
        row["$databaseId"] = json!(self.hub.database);
        row["$createdAt"] = json!(format_timestamp(created));
        row["$updatedAt"] = json!(format_timestamp(updated));
        row["$permissions"] = json!([]);
    }
}

impl JobStore for NotifyingStore {
    fn create(&self, job: &Job, created: &JobEvent) -> StoreResult<Created> {
        self.counters.add(&self.function, false);
        let out = self.inner.create(job, created)?;
        if let Created::New(job) = &out {
            self.publish(job, "create", std::slice::from_ref(created));
        }
        Ok(out)
    }

    fn get(&self, id: &str) -> StoreResult<Job> {
        self.counters.add(&self.function, true);
        self.inner.get(id)
    }

    fn list(&self, query: &JobQuery) -> StoreResult<Page> {
        self.counters.add(&self.function, true);
        self.inner.list(query)
    }

    fn write(&self, write: &Write) -> StoreResult<Job> {
        self.counters.add(&self.function, false);
        let job = self.inner.write(write)?;
        self.publish(&job, "update", &write.events);
        Ok(job)
    }

    fn events(&self, job_id: &str, limit: usize) -> StoreResult<Vec<JobEvent>> {
        self.counters.add(&self.function, true);
        self.inner.events(job_id, limit)
    }

    fn job_with_events(&self, job_id: &str, limit: usize) -> StoreResult<(Job, Vec<JobEvent>)> {
        self.counters.add(&self.function, true);
        self.inner.job_with_events(job_id, limit)
    }

    fn prune(
        &self,
        keep: usize,
        older_than: Option<Timestamp>,
        batch: usize,
    ) -> StoreResult<Pruned> {
        self.counters.add(&self.function, false);
        self.inner.prune(keep, older_than, batch)
    }

    fn stale(
        &self,
        job_type: JobType,
        status: JobStatus,
        before: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Job>> {
        self.counters.add(&self.function, true);
        self.inner.stale(job_type, status, before, limit)
    }

    fn counts(&self) -> StoreResult<Vec<Count>> {
        self.counters.add(&self.function, true);
        self.inner.counts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Hub {
        let readers = HashMap::from([("jobs".to_owned(), vec!["team:jobs-viewers".to_owned()])]);
        Hub::new("p", "db", readers)
    }

    fn event() -> RowEvent {
        RowEvent {
            table: "jobs".into(),
            action: "update",
            row: json!({"$id": "j1", "status": "RUNNING"}),
            at: chrono::Utc::now(),
        }
    }

    fn sub(channel: &str) -> Vec<Subscription> {
        vec![Subscription {
            id: "s1".into(),
            channels: HashSet::from([channel.to_owned()]),
        }]
    }

    #[test]
    fn a_reader_subscribed_to_the_table_channel_gets_the_row_as_payload() {
        let who = Identity {
            roles: vec!["any".into(), "team:jobs-viewers".into()],
            account: None,
        };
        let m = deliver(&hub(), &event(), &sub("tablesdb.db.tables.jobs.rows"), &who).unwrap();
        assert_eq!(m["type"], "event");
        assert_eq!(m["data"]["payload"]["status"], "RUNNING");
        assert_eq!(m["data"]["subscriptions"], json!(["s1"]));
        assert!(m["data"]["events"][0]
            .as_str()
            .unwrap()
            .ends_with("rows.j1.update"));
    }

    #[test]
    fn a_user_without_a_reading_role_gets_nothing() {
        let who = Identity {
            roles: vec!["any".into(), "users".into(), "user:u".into()],
            account: None,
        };
        assert!(deliver(&hub(), &event(), &sub("rows"), &who).is_none());
    }

    #[test]
    fn other_channels_get_nothing() {
        let who = Identity {
            roles: vec!["team:jobs-viewers".into()],
            account: None,
        };
        assert!(deliver(&hub(), &event(), &sub("files"), &who).is_none());
    }

    #[test]
    fn ping_is_answered_with_pong_and_garbage_with_1003() {
        let (mut subs, mut who) = (Vec::new(), Identity::default());
        assert_eq!(
            answer(r#"{"type":"ping"}"#, &mut subs, &mut who)["type"],
            "pong"
        );
        assert_eq!(answer("nope", &mut subs, &mut who)["data"]["code"], 1003);
    }

    #[test]
    fn a_subscribe_message_adds_its_subscriptions_under_the_client_ids() {
        let (mut subs, mut who) = (Vec::new(), Identity::default());
        let reply = answer(
            r#"{"type":"subscribe","data":[{"subscriptionId":"abc","channels":["rows"],"queries":[]}]}"#,
            &mut subs,
            &mut who,
        );
        assert_eq!(reply["type"], "response");
        assert_eq!(reply["data"]["subscriptions"][0]["subscriptionId"], "abc");
        assert_eq!(subs.len(), 1);
    }
}
