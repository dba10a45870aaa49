//! Appwrite's Realtime endpoint (`GET /v1/realtime`, a WebSocket) for the dev server, so the
//! dashboard and the official Web SDK receive row events locally exactly as from Appwrite:
//! `connected` / `event` / `response` / `error` / `pong` messages, channels given in the URL
//! (`channels[]=`) or by a `subscribe` message, the row as the payload, and delivery only to
//! connections holding a role the table's `read` permission lists. The protocol is Appwrite
//! 1.9.6's (`app/realtime.php`, `src/Appwrite/Messaging/Adapter/Realtime.php`,
//! `src/Appwrite/Realtime/Message/Handlers/*`): see `docs/appwrite-notes.md § Realtime and Account`.
//! A socket opened without a session signs in with an `authentication` message, as the Web SDK
//! does where the browser keeps no third-party cookie (§ Sessions across sites); a socket's
//! messages (`MAX_MESSAGE_BYTES`) and subscriptions (`MAX_SUBSCRIPTIONS`) are bounded.
//!
//! Row events come from [`NotifyingStore`], which wraps the store every hosted function writes
//! through and publishes on a broadcast channel what Appwrite would for the same writes through
//! `AppwriteStore`: the job row (with the log entries accumulating in its `pendingLog` outbox),
//! and `job_events` rows (`….upsert`) only when a write cuts the outbox
//! (`shared::store::appwrite::Outbox`). Payloads, `channels[]` and `events[]` are shaped as a real
//! 1.9.6 server sends them (`docs/appwrite-notes.md § Realtime and Account`; held against
//! captured messages in `tests/fixtures/appwrite-1.9.6/`). Pruned rows are not announced (the
//! sweeper deletes finished jobs only, which the dashboard ages out itself).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use shared::appwrite::datetime;
use shared::job::{Job, JobEvent, JobStatus, JobType, Timestamp};
use shared::store::appwrite::row::job_row;
use shared::store::appwrite::Outbox;
use shared::store::{
    Count, Created, JobQuery, JobStore, Page, Pruned, Retention, StoreResult, Write,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::lock;

/// Row events kept for slow sockets; a socket that falls further behind is closed, so its
/// client reconnects and resynchronises instead of silently missing a change.
const BACKLOG: usize = 1024;

/// The log table of `appwrite.json`.
const EVENTS_TABLE: &str = "job_events";

/// The table's internal collection name, which a bulk upsert's row events carry as
/// `$collection` (`database_<database sequence>_collection_<table sequence>`, appwrite 1.9.6
/// `src/Appwrite/Platform/Modules/Databases/Http/Databases/Collections/Documents/Bulk/Upsert.php`):
/// the dev server's one database, and `job_events` is `appwrite.json`'s second table.
const EVENTS_COLLECTION: &str = "database_1_collection_2";

/// Job rows whose outbox and `$sequence` the hub remembers. Past this the least recently
/// written is forgotten: if it is written again, its outbox starts empty and it gets a new
/// sequence (as after a restart, since SQLite keeps no outbox).
const TRACKED_ROWS: usize = 4096;

/// Locks that order each job's store write with its publication, striped by job id: on
/// Appwrite the outbox lives in the row, so the `pendingLog` of revision n always holds the
/// entries of revisions before it, whichever function wrote them.
const ORDER_STRIPES: usize = 32;

/// One row change, as Appwrite's realtime worker receives it.
#[derive(Debug, Clone)]
pub struct RowEvent {
    pub table: String,
    /// `create`, `update` or `upsert` (a bulk upsert's rows).
    pub action: &'static str,
    pub row: Value,
    pub at: Timestamp,
}

/// What the hub remembers of one job row: its `$sequence` and its outbox.
struct Tracked {
    sequence: u64,
    outbox: Outbox,
    /// When it was last written, in [`Rows::writes`], to forget the oldest first.
    touched: u64,
}

/// The rows' bookkeeping Appwrite keeps in the database: per-table sequences and each job
/// row's outbox.
#[derive(Default)]
struct Rows {
    jobs: HashMap<String, Tracked>,
    jobs_sequence: u64,
    events_sequence: u64,
    writes: u64,
}

/// A job write as Appwrite would store it: the row's `$sequence` and `pendingLog`, and the
/// `job_events` rows (with their `$sequence`) upserted first because the write cut the outbox.
struct Recorded {
    sequence: u64,
    pending_log: Value,
    upserted: Vec<(u64, Value)>,
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
    rows: Mutex<Rows>,
    order: Vec<Mutex<()>>,
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
            rows: Mutex::new(Rows::default()),
            order: (0..ORDER_STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Runs `write` (a store write of job `id` and its publication) after every earlier write
    /// of that job has been published.
    fn ordered<T>(&self, id: &str, write: impl FnOnce() -> T) -> T {
        let stripe = id.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        let _turn = lock(&self.order[stripe % ORDER_STRIPES]);
        write()
    }

    /// Records a write of `job` with its log entries the way `AppwriteStore` stores it.
    fn record(&self, job: &Job, events: &[JobEvent]) -> Recorded {
        let mut rows = lock(&self.rows);
        let rows = &mut *rows;
        rows.writes += 1;
        if !rows.jobs.contains_key(&job.id) && rows.jobs.len() >= TRACKED_ROWS {
            let oldest = rows
                .jobs
                .iter()
                .min_by_key(|(_, t)| t.touched)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                rows.jobs.remove(&oldest);
            }
        }
        let tracked = match rows.jobs.entry(job.id.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                rows.jobs_sequence += 1;
                e.insert(Tracked {
                    sequence: rows.jobs_sequence,
                    outbox: Outbox::default(),
                    touched: 0,
                })
            }
        };
        tracked.touched = rows.writes;
        let (pending_log, cut) = tracked
            .outbox
            .push(job, events)
            .unwrap_or_else(|| (tracked.outbox.value(), Vec::new()));
        let upserted = cut
            .into_iter()
            .map(|row| {
                rows.events_sequence += 1;
                (rows.events_sequence, row)
            })
            .collect();
        Recorded {
            sequence: tracked.sequence,
            pending_log,
            upserted,
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

    /// The channels a change (`action`) of `table` row `id` is published to: `fromPayload` in
    /// appwrite 1.9.6 `src/Appwrite/Messaging/Adapter/Realtime.php` merges
    /// `getDatabaseChannels` for the legacy names and the rows names under both prefixes (8),
    /// then adds each one ending in a resource name or id again with `.<action>` (16 in all).
    fn channels(&self, table: &str, id: &str, action: &str) -> Vec<String> {
        let db = &self.database;
        let base = [
            "documents".to_owned(),
            format!("databases.{db}.collections.{table}.documents"),
            format!("databases.{db}.collections.{table}.documents.{id}"),
            "rows".to_owned(),
            format!("databases.{db}.tables.{table}.rows"),
            format!("databases.{db}.tables.{table}.rows.{id}"),
            format!("tablesdb.{db}.tables.{table}.rows"),
            format!("tablesdb.{db}.tables.{table}.rows.{id}"),
        ];
        let suffixed = base.iter().map(|c| format!("{c}.{action}"));
        let mut out: Vec<String> = base.iter().cloned().chain(suffixed).collect();
        let mut seen = HashSet::new();
        out.retain(|c| seen.insert(c.clone()));
        out
    }

    /// The event names of a change of `table` row `id`, in the order appwrite 1.9.6
    /// `src/Appwrite/Event/Event.php` `generateEvents` lists them for
    /// `databases.[databaseId].collections.[collectionId].documents.[documentId].<action>`: the
    /// row pattern with and without the action, then the table's and the database's, each with
    /// every mix of its ids and `*`, and each `tablesdb.` name mirrored under
    /// `databases.….collections.….documents` and `databases.….tables.….rows`
    /// (`mirrorCollectionEvents`); 64 names.
    fn events(&self, table: &str, id: &str, action: &str) -> Vec<String> {
        let db = self.database.as_str();
        let any = "*";
        // The id mixes in generateEvents' order: all ids, all `*`, then one or two `*`.
        let rows = [
            (db, table, id),
            (any, any, any),
            (db, any, id),
            (any, any, id),
            (any, table, id),
            (db, table, any),
            (any, table, any),
            (db, any, any),
        ];
        let row_names = |suffix: &str| {
            rows.iter()
                .flat_map(|(d, t, r)| {
                    [
                        format!("tablesdb.{d}.tables.{t}.rows.{r}{suffix}"),
                        format!("databases.{d}.collections.{t}.documents.{r}{suffix}"),
                        format!("databases.{d}.tables.{t}.rows.{r}{suffix}"),
                    ]
                })
                .collect::<Vec<_>>()
        };
        let mut out = row_names(&format!(".{action}"));
        out.extend(row_names(""));
        for (d, t) in [(db, table), (any, any), (db, any), (any, table)] {
            out.push(format!("tablesdb.{d}.tables.{t}"));
            out.push(format!("databases.{d}.collections.{t}"));
            out.push(format!("databases.{d}.tables.{t}"));
        }
        for d in [db, any] {
            out.push(format!("tablesdb.{d}"));
            out.push(format!("databases.{d}"));
        }
        let mut seen = HashSet::new();
        out.retain(|e| seen.insert(e.clone()));
        out
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

/// Resolves the `session` of an `authentication` message to the identity it grants, or None
/// when it names no live session (`crate::account::Accounts::session_identity`).
pub type Authenticate = Arc<dyn Fn(&str) -> Option<Identity> + Send + Sync>;

/// The largest message a socket may send. Appwrite's Realtime server reads packages of at most
/// 64,000 bytes (appwrite 1.9.6 `app/realtime.php`, `setPackageMaxLength(64000)`) and Swoole
/// drops a client that sends a larger one, with no answer and no close frame; tungstenite
/// refuses such a message and `serve` drops the socket the same way.
pub const MAX_MESSAGE_BYTES: usize = 64_000;

/// The most subscriptions one socket may hold. Appwrite sets no number (its bounds are the
/// message size above and 32 messages a minute per connection, `app/realtime.php`); jobs-dev
/// keeps no rate limit and bounds the subscriptions instead, far above the dashboard's one or
/// two and the Web SDK's one per `subscribe` call. A `subscribe` that would pass it changes
/// nothing and is answered with Appwrite's error for an invalid message (1003); the socket
/// stays open, as after any message Appwrite refuses with that code.
pub const MAX_SUBSCRIPTIONS: usize = 100;

/// Answers the upgrade request and serves the socket in the background. `identity` is resolved
/// by the gateway from the session the upgrade request names (the cookie, or the
/// `X-Appwrite-Session` / `X-Fallback-Cookies` headers of a client that can set them, as
/// `app/init/realtime/connection.php` reads them); `authenticate` resolves a later
/// `authentication` message, how a browser without the cookie signs its socket in.
pub fn upgrade(
    hub: Arc<Hub>,
    req: Request<Incoming>,
    identity: Identity,
    authenticate: Authenticate,
) -> Response<Full<Bytes>> {
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
            let ws = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(socket_config()),
            )
            .await;
            serve(hub, ws, query, identity, authenticate).await;
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

/// A server socket whose messages are at most `MAX_MESSAGE_BYTES`.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

async fn send<S>(ws: &mut WebSocketStream<S>, message: &Value) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ws.send(Message::text(message.to_string())).await.is_ok()
}

fn error(code: u16, message: &str) -> Value {
    json!({"type": "error", "data": {"code": code, "message": message}})
}

/// Serves one socket (any byte stream, so tests drive it over an in-memory pipe).
async fn serve<S>(
    hub: Arc<Hub>,
    mut ws: WebSocketStream<S>,
    query: Vec<(String, String)>,
    mut who: Identity,
    authenticate: Authenticate,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
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
                // An error includes a message over `MAX_MESSAGE_BYTES`: the socket is dropped.
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let reply = answer(&text, &mut subs, &mut who, authenticate.as_ref());
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
    let channels = hub.channels(&event.table, id, event.action);
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
        "timestamp": datetime(&event.at),
        "payload": event.row,
        "subscriptions": matched,
    }}))
}

/// Answers one client message as Appwrite's dispatcher and handlers do
/// (`src/Appwrite/Realtime/Message/Dispatcher.php`, `Handlers/*`, `app/realtime.php`): every
/// refusal is error 1003 with their message, and changes nothing.
fn answer(
    text: &str,
    subs: &mut Vec<Subscription>,
    who: &mut Identity,
    authenticate: &(dyn Fn(&str) -> Option<Identity> + Send + Sync),
) -> Value {
    let message = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) if m.contains_key("type") || m.contains_key("data") => m,
        _ => return error(1003, "Message format is not valid."),
    };
    let data = message.get("data").filter(|d| !d.is_null());
    match message.get("type").and_then(Value::as_str) {
        Some("ping") => json!({"type": "pong"}),
        Some("subscribe") => subscribe(data, subs),
        Some("unsubscribe") => {
            let ids: Vec<&str> = data
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
            // `Handlers/Authentication.php`: `session` is a required text of at most 2048.
            let session = match data.and_then(|d| d.get("session")) {
                None => return error(1003, "Payload is not valid. Session is required"),
                Some(Value::String(s)) if s.len() <= 2048 => s,
                Some(_) => {
                    return error(
                        1003,
                        "session: Value must be a valid string and no longer than 2048 chars",
                    )
                }
            };
            match authenticate(session) {
                Some(identity) => {
                    let user = identity.account.clone();
                    *who = identity;
                    json!({"type": "response", "data": {"to": "authentication", "success": true, "user": user}})
                }
                None => error(1003, "Session is not valid."),
            }
        }
        _ => error(1003, "Message type is not valid."),
    }
}

/// A `subscribe` message (`Handlers/Subscribe.php`, `Validators/SubscribePayload.php`): every
/// item is checked before any subscription changes; an item naming an existing subscription
/// replaces it.
fn subscribe(data: Option<&Value>, subs: &mut Vec<Subscription>) -> Value {
    let Some(data) = data else {
        return error(1003, "Payload is not valid. Items is required");
    };
    let invalid = |why: &str| error(1003, &format!("items: {why}"));
    let Some(items) = data.as_array() else {
        return invalid("Payload is not valid.");
    };
    // Each subscription with its channels in the order given (and answered).
    let mut parsed: Vec<(Subscription, Vec<String>)> = Vec::with_capacity(items.len());
    for item in items {
        let Some(item) = item.as_object() else {
            return invalid("Each subscribe payload must be an object.");
        };
        let id = match item.get("subscriptionId") {
            None => subscription_id(),
            Some(Value::String(id)) if id == "unique()" || crate::config::is_appwrite_key(id) => {
                id.clone()
            }
            Some(_) => return invalid("subscriptionId is not a valid id."),
        };
        let channels = match item.get("channels") {
            None => return invalid("channels is not present in payload."),
            Some(Value::Array(channels)) => channels,
            Some(_) => return invalid("channels is not a valid array."),
        };
        let Some(mut listed) = channels
            .iter()
            .map(|c| c.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
        else {
            return invalid("channels must contain only strings.");
        };
        let mut seen = HashSet::new();
        listed.retain(|c| seen.insert(c.clone()));
        match item.get("queries") {
            None => {}
            Some(Value::Array(queries)) if queries.is_empty() => {}
            Some(Value::Array(_)) => {
                return error(
                    1003,
                    "Invalid query: jobs-dev supports subscriptions without queries only.",
                )
            }
            Some(_) => return invalid("queries is not a valid array."),
        }
        parsed.push((Subscription { id, channels: seen }, listed));
    }
    let held: HashSet<&str> = subs
        .iter()
        .chain(parsed.iter().map(|(s, _)| s))
        .map(|s| s.id.as_str())
        .collect();
    if held.len() > MAX_SUBSCRIPTIONS {
        return error(
            1003,
            &format!("Too many subscriptions: a connection holds at most {MAX_SUBSCRIPTIONS}."),
        );
    }
    let mut added = Vec::with_capacity(parsed.len());
    for (sub, channels) in parsed {
        added.push(json!({"subscriptionId": sub.id, "channels": channels, "queries": []}));
        subs.retain(|s| s.id != sub.id);
        subs.push(sub);
    }
    json!({"type": "response", "data": {"to": "subscribe", "success": true, "subscriptions": added}})
}

/// The socket protocol: client messages answered alone, and whole sockets served over an
/// in-memory pipe (no network, no timing: each step waits for the answer it is about).
#[cfg(test)]
mod socket_tests {
    use super::*;

    const OPS: &str = "ops-session-secret";

    fn viewer() -> Identity {
        Identity {
            roles: vec!["any".into(), "users".into(), "team:jobs-viewers".into()],
            account: Some(json!({"$id": "view", "email": "view@example.test"})),
        }
    }

    fn guest() -> Identity {
        Identity {
            roles: vec!["any".into(), "guests".into()],
            account: None,
        }
    }

    /// Knows one session, `OPS`, of the viewer.
    fn authenticate(session: &str) -> Option<Identity> {
        (session == OPS).then(viewer)
    }

    fn reply(text: &str, subs: &mut Vec<Subscription>, who: &mut Identity) -> Value {
        answer(text, subs, who, &authenticate)
    }

    fn subscribe_message(ids: std::ops::Range<usize>) -> String {
        let items: Vec<Value> = ids
            .map(
                |i| json!({"subscriptionId": format!("s{i}"), "channels": ["rows"], "queries": []}),
            )
            .collect();
        json!({"type": "subscribe", "data": items}).to_string()
    }

    #[test]
    fn ping_is_answered_with_pong_and_garbage_with_1003() {
        let (mut subs, mut who) = (Vec::new(), guest());
        assert_eq!(
            reply(r#"{"type":"ping"}"#, &mut subs, &mut who)["type"],
            "pong"
        );
        for garbage in ["nope", "[]", "7", r#"{"other":1}"#] {
            assert_eq!(
                reply(garbage, &mut subs, &mut who),
                error(1003, "Message format is not valid."),
                "{garbage}"
            );
        }
        assert_eq!(
            reply(r#"{"type":"dance"}"#, &mut subs, &mut who)["data"]["message"],
            "Message type is not valid."
        );
    }

    #[test]
    fn a_subscribe_message_adds_its_subscriptions_under_the_client_ids() {
        let (mut subs, mut who) = (Vec::new(), guest());
        let answer = reply(
            r#"{"type":"subscribe","data":[{"subscriptionId":"abc","channels":["rows","files","rows"],"queries":[]}]}"#,
            &mut subs,
            &mut who,
        );
        assert_eq!(answer["type"], "response");
        assert_eq!(
            answer["data"]["subscriptions"],
            json!([{"subscriptionId": "abc", "channels": ["rows", "files"], "queries": []}])
        );
        assert_eq!(subs.len(), 1);
    }

    #[test]
    fn a_subscribe_with_one_bad_item_changes_nothing_and_says_what_is_wrong() {
        let (mut subs, mut who) = (Vec::new(), guest());
        for (data, why) in [
            (json!(null), "Payload is not valid. Items is required"),
            (json!({"a": 1}), "items: Payload is not valid."),
            (
                json!([{"channels": ["rows"]}, 5]),
                "items: Each subscribe payload must be an object.",
            ),
            (
                json!([{"channels": ["rows"]}, {"queries": []}]),
                "items: channels is not present in payload.",
            ),
            (
                json!([{"channels": "rows"}]),
                "items: channels is not a valid array.",
            ),
            (
                json!([{"channels": ["rows", 5]}]),
                "items: channels must contain only strings.",
            ),
            (
                json!([{"channels": ["rows"], "queries": "x"}]),
                "items: queries is not a valid array.",
            ),
            (
                json!([{"subscriptionId": "-bad", "channels": ["rows"]}]),
                "items: subscriptionId is not a valid id.",
            ),
        ] {
            let message = json!({"type": "subscribe", "data": data}).to_string();
            assert_eq!(
                reply(&message, &mut subs, &mut who),
                error(1003, why),
                "{message}"
            );
            assert!(subs.is_empty(), "{message} subscribed");
        }
    }

    #[test]
    fn a_socket_holds_at_most_max_subscriptions_and_one_more_is_refused_with_1003() {
        let (mut subs, mut who) = (Vec::new(), guest());
        let full = reply(
            &subscribe_message(0..MAX_SUBSCRIPTIONS),
            &mut subs,
            &mut who,
        );
        assert_eq!(full["data"]["success"], true);
        assert_eq!(subs.len(), MAX_SUBSCRIPTIONS);
        let refused = reply(
            &subscribe_message(MAX_SUBSCRIPTIONS..MAX_SUBSCRIPTIONS + 1),
            &mut subs,
            &mut who,
        );
        assert_eq!(refused["type"], "error");
        assert_eq!(refused["data"]["code"], 1003);
        assert_eq!(subs.len(), MAX_SUBSCRIPTIONS, "nothing added");
        // Replacing a held subscription adds none, so it is still accepted.
        let again = reply(&subscribe_message(0..1), &mut subs, &mut who);
        assert_eq!(again["data"]["success"], true);
        let unsubscribed = json!({"type": "unsubscribe", "data": [{"subscriptionId": "s0"}]});
        reply(&unsubscribed.to_string(), &mut subs, &mut who);
        let room = reply(
            &subscribe_message(MAX_SUBSCRIPTIONS..MAX_SUBSCRIPTIONS + 1),
            &mut subs,
            &mut who,
        );
        assert_eq!(room["data"]["success"], true);
        assert_eq!(subs.len(), MAX_SUBSCRIPTIONS);
    }

    #[test]
    fn an_authentication_message_signs_the_socket_in_as_the_sessions_user() {
        let (mut subs, mut who) = (Vec::new(), guest());
        let message = |data: Value| json!({"type": "authentication", "data": data}).to_string();
        assert_eq!(
            reply(
                &message(json!({"session": "not-a-session"})),
                &mut subs,
                &mut who
            ),
            error(1003, "Session is not valid.")
        );
        assert_eq!(
            reply(&message(json!({})), &mut subs, &mut who),
            error(1003, "Payload is not valid. Session is required")
        );
        assert_eq!(
            reply(
                &message(json!({"session": "x".repeat(2049)})),
                &mut subs,
                &mut who
            ),
            error(
                1003,
                "session: Value must be a valid string and no longer than 2048 chars"
            )
        );
        assert!(who.account.is_none(), "still a guest");
        let answer = reply(&message(json!({"session": OPS})), &mut subs, &mut who);
        assert_eq!(
            answer,
            json!({"type": "response", "data": {"to": "authentication", "success": true, "user": viewer().account}})
        );
        assert_eq!(who.roles, viewer().roles);
    }

    type Client = WebSocketStream<tokio::io::DuplexStream>;

    /// A socket served for `who` on a hub whose `jobs` rows the viewers' team reads.
    async fn connect(who: Identity) -> (Client, Arc<Hub>) {
        let readers = HashMap::from([("jobs".to_owned(), vec!["team:jobs-viewers".to_owned()])]);
        let hub = Arc::new(Hub::new("p", "db", readers));
        let (server, client) = tokio::io::duplex(256 * 1024);
        let served = hub.clone();
        tokio::spawn(async move {
            let ws =
                WebSocketStream::from_raw_socket(server, Role::Server, Some(socket_config())).await;
            let query = vec![("project".to_owned(), "p".to_owned())];
            serve(served, ws, query, who, Arc::new(authenticate)).await;
        });
        let client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        (client, hub)
    }

    async fn next(client: &mut Client) -> Value {
        match client.next().await {
            Some(Ok(Message::Text(text))) => serde_json::from_str(&text).unwrap(),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    async fn say(client: &mut Client, message: Value) -> Value {
        client
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
        next(client).await
    }

    fn row(id: &str) -> RowEvent {
        RowEvent {
            table: "jobs".into(),
            action: "update",
            row: json!({"$id": id, "status": "RUNNING"}),
            at: chrono::Utc::now(),
        }
    }

    #[tokio::test]
    async fn a_socket_signed_in_by_an_authentication_message_gets_the_rows_its_user_may_read() {
        let (mut client, hub) = connect(guest()).await;
        let connected = next(&mut client).await;
        assert_eq!(connected["type"], "connected");
        assert_eq!(
            connected["data"]["user"],
            Value::Null,
            "the client is told to authenticate"
        );
        let subscribed = say(
            &mut client,
            json!({"type": "subscribe", "data": [{"subscriptionId": "s1", "channels": ["tablesdb.db.tables.jobs.rows"], "queries": []}]}),
        )
        .await;
        assert_eq!(subscribed["data"]["success"], true);
        // A guest may not read jobs: the row is filtered before the pong (events go first).
        hub.publish(row("j1"));
        assert_eq!(
            say(&mut client, json!({"type": "ping"})).await["type"],
            "pong"
        );
        let signed_in = say(
            &mut client,
            json!({"type": "authentication", "data": {"session": OPS}}),
        )
        .await;
        assert_eq!(signed_in["data"]["user"]["$id"], "view");
        hub.publish(row("j2"));
        let event = next(&mut client).await;
        assert_eq!(
            (
                event["type"].as_str(),
                event["data"]["payload"]["$id"].as_str()
            ),
            (Some("event"), Some("j2"))
        );
        assert_eq!(event["data"]["subscriptions"], json!(["s1"]));
    }

    #[tokio::test]
    async fn a_message_over_64000_bytes_drops_the_socket_without_an_answer() {
        let (mut client, _hub) = connect(viewer()).await;
        assert_eq!(next(&mut client).await["type"], "connected");
        // A ping padded to exactly `len` bytes.
        let ping = |len: usize| {
            let bare = r#"{"type":"ping","data":{"pad":""}}"#.len();
            format!(
                r#"{{"type":"ping","data":{{"pad":"{}"}}}}"#,
                "x".repeat(len - bare)
            )
        };
        assert_eq!(ping(MAX_MESSAGE_BYTES).len(), MAX_MESSAGE_BYTES);
        client
            .send(Message::text(ping(MAX_MESSAGE_BYTES)))
            .await
            .unwrap();
        assert_eq!(
            next(&mut client).await["type"],
            "pong",
            "the limit itself is allowed"
        );
        client
            .send(Message::text(ping(MAX_MESSAGE_BYTES + 1)))
            .await
            .unwrap();
        let after = client.next().await;
        assert!(
            matches!(after, None | Some(Err(_))),
            "the socket ends with no message and no close frame: {after:?}"
        );
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
        let mut map = lock(&self.by_function);
        let entry = map.entry(function.to_owned()).or_default();
        if read {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }

    pub fn snapshot(&self) -> Value {
        let map = lock(&self.by_function);
        map.iter()
            .map(|(k, (r, w))| (k.clone(), json!({"reads": r, "writes": w})))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// The store as one hosted function sees it: every call counted under the function's id, every
/// created or changed job published to the Realtime hub as `AppwriteStore` would have written
/// it (its outbox in `pendingLog`, `job_events` rows only when the outbox is cut).
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

    /// Publishes what Appwrite announces for this write through `AppwriteStore`: first the
    /// `job_events` rows the write moved out of the outbox (one `upsert` each, as a bulk upsert
    /// announces them), then the job row with the entries accumulated in its `pendingLog`.
    fn publish(&self, job: &Job, action: &'static str, events: &[JobEvent]) {
        let now = chrono::Utc::now();
        let recorded = self.hub.record(job, events);
        // The upsert happens as part of this write: its rows are created at the write's time.
        for (sequence, mut row) in recorded.upserted {
            self.system_columns(
                &mut row,
                EVENTS_TABLE,
                sequence,
                &job.updated_at,
                &job.updated_at,
            );
            row["$collection"] = json!(EVENTS_COLLECTION);
            self.hub.publish(RowEvent {
                table: EVENTS_TABLE.to_owned(),
                action: "upsert",
                row,
                at: now,
            });
        }
        let mut row = job_row(job);
        row["pendingLog"] = recorded.pending_log;
        self.system_columns(
            &mut row,
            &self.table,
            recorded.sequence,
            &job.created_at,
            &job.updated_at,
        );
        self.hub.publish(RowEvent {
            table: self.table.clone(),
            action,
            row,
            at: now,
        });
    }

    /// The columns Appwrite adds to every row: `$sequence` is the table's internal
    /// auto-increment, answered as a string, and datetimes carry `+00:00`
    /// (`docs/appwrite-notes.md § Datetimes`).
    fn system_columns(
        &self,
        row: &mut Value,
        table: &str,
        sequence: u64,
        created: &Timestamp,
        updated: &Timestamp,
    ) {
        row["$tableId"] = json!(table);
        row["$databaseId"] = json!(self.hub.database);
        row["$sequence"] = json!(sequence.to_string());
        row["$createdAt"] = json!(datetime(created));
        row["$updatedAt"] = json!(datetime(updated));
        row["$permissions"] = json!([]);
    }
}

impl JobStore for NotifyingStore {
    fn create(&self, job: &Job, created: &JobEvent) -> StoreResult<Created> {
        self.counters.add(&self.function, false);
        self.hub.ordered(&job.id, || {
            let out = self.inner.create(job, created)?;
            if let Created::New(job) = &out {
                self.publish(job, "create", std::slice::from_ref(created));
            }
            Ok(out)
        })
    }

    fn get(&self, id: &str) -> StoreResult<Job> {
        self.counters.add(&self.function, true);
        self.inner.get(id)
    }

    /// One read, as on Appwrite (one list by `$id`) and as the inner store answers it.
    fn get_many(&self, ids: &[&str]) -> StoreResult<Vec<Job>> {
        self.counters.add(&self.function, true);
        self.inner.get_many(ids)
    }

    fn list(&self, query: &JobQuery) -> StoreResult<Page> {
        self.counters.add(&self.function, true);
        self.inner.list(query)
    }

    fn write(&self, write: &Write) -> StoreResult<Job> {
        self.counters.add(&self.function, false);
        self.hub.ordered(&write.job.id, || {
            let job = self.inner.write(write)?;
            self.publish(&job, "update", &write.events);
            Ok(job)
        })
    }

    fn events(&self, job_id: &str, limit: usize) -> StoreResult<Vec<JobEvent>> {
        self.counters.add(&self.function, true);
        self.inner.events(job_id, limit)
    }

    fn job_with_events(&self, job_id: &str, limit: usize) -> StoreResult<(Job, Vec<JobEvent>)> {
        self.counters.add(&self.function, true);
        self.inner.job_with_events(job_id, limit)
    }

    fn prune(&self, retention: &Retention, batch: usize) -> StoreResult<Pruned> {
        self.counters.add(&self.function, false);
        self.inner.prune(retention, batch)
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

    /// Alert notes (docs/alerts.md): counted as writes; not published, since they change no
    /// job row.
    fn note(&self, rev: u64, events: &[JobEvent]) -> StoreResult<()> {
        self.counters.add(&self.function, false);
        self.inner.note(rev, events)
    }

    fn noted(&self, ids: &[&str]) -> StoreResult<Vec<String>> {
        self.counters.add(&self.function, true);
        self.inner.noted(ids)
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

    /// A message captured from a real Appwrite 1.9.6 (`tests/fixtures/appwrite-1.9.6/`).
    fn captured(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/appwrite-1.9.6/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// A captured list of names with its row id written `ROW`.
    fn with_row(names: &Value, id: &str) -> Vec<String> {
        names
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().replace(id, "ROW"))
            .collect()
    }

    #[test]
    fn a_row_change_is_published_to_the_channels_and_event_names_appwrite_uses() {
        let hub = Hub::new("p", "jobmanager", HashMap::new());
        for (file, table, action) in [
            ("realtime-jobs-row-create.json", "jobs", "create"),
            ("realtime-jobs-row-update-first.json", "jobs", "update"),
            (
                "realtime-job_events-row-upsert.json",
                "job_events",
                "upsert",
            ),
        ] {
            let real = &captured(file)["data"];
            let id = real["payload"]["$id"].as_str().unwrap();
            assert_eq!(
                hub.channels(table, "ROW", action),
                with_row(&real["channels"], id),
                "{file}"
            );
            let mut ours = hub.events(table, "ROW", action);
            let mut theirs = with_row(&real["events"], id);
            if action == "create" {
                assert_eq!(ours, theirs, "{file}: generateEvents' order");
            }
            ours.sort();
            theirs.sort();
            assert_eq!(ours, theirs, "{file}");
        }
    }

    fn notifying() -> (NotifyingStore, broadcast::Receiver<Arc<RowEvent>>) {
        let hub = Arc::new(Hub::new("p", "jobmanager", HashMap::new()));
        let rx = hub.tx.subscribe();
        let store = Arc::new(sqlite_store::SqliteStore::in_memory().unwrap());
        let counters = Arc::new(StoreCounters::default());
        (
            NotifyingStore::new(store, hub, counters, "hook-campaign-run"),
            rx,
        )
    }

    fn published(rx: &mut broadcast::Receiver<Arc<RowEvent>>) -> Vec<Arc<RowEvent>> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    fn pending_log(row: &Value) -> Vec<Value> {
        let text = row["pendingLog"].as_str().unwrap();
        let wrapped: Value = serde_json::from_str(text).unwrap();
        wrapped["data"].as_array().unwrap().clone()
    }

    #[test]
    fn log_entries_accumulate_in_pending_log_and_reach_job_events_only_when_the_outbox_is_cut() {
        use shared::usecase::{self, Act, Progress, Start};
        let (store, mut rx) = notifying();
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-12-07T00:37:46.474Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let at = |s: i64| {
            Act::new(
                &store,
                "function:hook-campaign-run",
                t0 + chrono::Duration::seconds(s),
            )
        };
        let start = Start {
            reference_id: "rt".into(),
            total: Some(200),
            message: Some("starting".into()),
            ..Start::default()
        };
        let job = usecase::start(&at(0), JobType::CampaignRun, start)
            .unwrap()
            .job;
        let created = published(&mut rx);
        assert_eq!(created.len(), 1, "a create announces the job row only");
        assert_eq!(
            (created[0].table.as_str(), created[0].action),
            ("jobs", "create")
        );
        let row = &created[0].row;
        assert_eq!(row["$sequence"], "1");
        assert!(
            row["$createdAt"].as_str().unwrap().ends_with("+00:00"),
            "{row}"
        );
        let entries = pending_log(row);
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0]["$id"],
            job.id.as_str(),
            "a created entry's row is the job's id"
        );

        // Each progress call below moves the percent and logs its new message: one entry.
        let mut progress = |i: u64| {
            let req = Progress {
                done: Some(i * 8),
                message: Some(format!("batch {i}")),
                ..Progress::default()
            };
            usecase::progress(&at(i as i64 * 2), &job.id, req).unwrap();
            published(&mut rx)
        };
        for i in 1..=19 {
            let events = progress(i);
            assert_eq!(events.len(), 1, "no job_events row before the cut");
            assert_eq!(
                (events[0].table.as_str(), events[0].action),
                ("jobs", "update")
            );
            assert_eq!(pending_log(&events[0].row).len(), i as usize + 1);
            assert_eq!(events[0].row["$sequence"], "1", "a row keeps its sequence");
        }
        // The 21st entry breaks the 20-entry bound: the oldest 11 go to job_events first.
        let events = progress(20);
        let (upserts, rest) = events.split_at(11);
        for (n, e) in upserts.iter().enumerate() {
            assert_eq!((e.table.as_str(), e.action), ("job_events", "upsert"));
            assert_eq!(e.row["$sequence"], (n + 1).to_string());
            assert_eq!(e.row["$collection"], EVENTS_COLLECTION);
            assert_eq!(e.row["$tableId"], "job_events");
        }
        assert_eq!(upserts[0].row["$id"], job.id.as_str());
        assert_eq!(upserts[0].row["kind"], "created");
        assert_eq!(rest.len(), 1);
        assert_eq!((rest[0].table.as_str(), rest[0].action), ("jobs", "update"));
        let kept = pending_log(&rest[0].row);
        assert_eq!(kept.len(), 10);
        assert_eq!(kept[9]["message"], "batch 20");
    }

    #[test]
    fn a_write_without_log_entries_carries_the_outbox_unchanged() {
        use shared::usecase::{self, Act, Start};
        let (store, mut rx) = notifying();
        let now = chrono::Utc::now();
        let start = Start {
            reference_id: "quiet".into(),
            ..Start::default()
        };
        let job = usecase::start(
            &Act::new(&store, "system", now),
            JobType::CampaignRun,
            start,
        )
        .unwrap()
        .job;
        let before = published(&mut rx)[0].row["pendingLog"].clone();
        let mut next = job.clone();
        next.rev += 1;
        let write = Write {
            job: next,
            expected_rev: job.rev,
            events: Vec::new(),
        };
        store.write(&write).unwrap();
        let after = published(&mut rx);
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].row["pendingLog"], before);
    }

    #[test]
    fn the_hub_forgets_the_least_recently_written_row_past_its_bound() {
        use shared::usecase::{self, Act, Start};
        let (store, _rx) = notifying();
        let start = Start {
            reference_id: "many".into(),
            ..Start::default()
        };
        let job = usecase::start(
            &Act::new(&store, "system", chrono::Utc::now()),
            JobType::CampaignRun,
            start,
        )
        .unwrap()
        .job;
        let hub = Hub::new("p", "jobmanager", HashMap::new());
        let copy = |id: String| Job { id, ..job.clone() };
        let first = hub.record(&copy("j0".into()), &[]).sequence;
        for i in 1..=TRACKED_ROWS {
            hub.record(&copy(format!("j{i}")), &[]);
        }
        assert_eq!(lock(&hub.rows).jobs.len(), TRACKED_ROWS);
        let again = hub.record(&copy("j0".into()), &[]).sequence;
        assert_ne!(first, again, "j0 was forgotten, so it is numbered anew");
        assert_eq!(lock(&hub.rows).jobs.len(), TRACKED_ROWS);
    }
}
