//! An in-process fake of the Appwrite REST endpoints Job Manager uses, for tests: TablesDB rows
//! with JSON queries, function executions, users and team memberships, with Appwrite's headers,
//! row shapes and error bodies, plus fault injection and per-route request counters.
//!
//! Every shape follows `docs/appwrite-notes.md` (the note cited at each place), which names
//! the upstream file each fact comes from. It is a faithful subset, not a database: no schema,
//! no permissions, no indexes.
//!
//! ```no_run
//! let fake = fake_appwrite::FakeAppwrite::start();
//! let endpoint = fake.endpoint(); // http://127.0.0.1:<port>/v1
//! ```

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};

pub mod functions;
pub mod schema;

/// The server version the fake claims in error bodies (appwrite-notes: Error body).
pub const VERSION: &str = "1.9.6";

/// A fault to inject into the next matching requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// `429 general_rate_limit_exceeded` with `X-RateLimit-*` headers, reset `reset_in` s ahead
    /// (appwrite-notes: Rate limits).
    RateLimited { reset_in: u64 },
    /// A 5xx with Appwrite's `general_server_error` body, nothing applied.
    ServerError(u16),
    /// Answers normally after the delay (for client timeouts).
    Slow(Duration),
    /// Closes the connection without answering; nothing applied.
    Drop,
    /// Applies the request, then closes the connection without answering: the client cannot
    /// know whether its write happened.
    DropAfterApply,
    /// `200` with a body that is not JSON; nothing applied.
    InvalidJson,
}

struct Armed {
    route: String,
    fault: Fault,
    left: usize,
}

/// A recorded `POST /v1/functions/{id}/executions` (appwrite-notes: Creating an execution).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedExecution {
    pub function_id: String,
    pub body: String,
    pub path: String,
    pub method: String,
    pub asynchronous: bool,
    pub headers: Value,
}

/// Rows of one table by id, each a full row object with its `$` attributes.
type Rows = BTreeMap<String, Map<String, Value>>;

#[derive(Default)]
struct State {
    /// `db` → `table` → rows by id (each a full row object with its `$` attributes).
    databases: HashMap<String, HashMap<String, Rows>>,
    sequence: u64,
    faults: Vec<Armed>,
    schedule: Option<Schedule>,
    requests: BTreeMap<String, u64>,
    executions: Vec<RecordedExecution>,
    users: HashMap<String, Vec<String>>,
    /// team → (user, roles)
    teams: HashMap<String, Vec<(String, Vec<String>)>>,
    /// (db, table) → columns and indexes; rows written to a table with columns are checked.
    schemas: HashMap<(String, String), schema::Table>,
    /// Deployments created (`POST /v1/functions/{id}/deployments`), newest last.
    deployments: Vec<Value>,
    /// Functions whose next builds fail.
    failing_builds: Vec<String>,
    /// function → its variables.
    variables: HashMap<String, Vec<Value>>,
    /// database → its document (`$id`, `name`, `enabled`), for those created through the API.
    database_documents: HashMap<String, Value>,
    /// Functions, rules, webhooks and the key's scopes (`functions`).
    functions: functions::Functions,
}

struct Shared {
    project: String,
    key: String,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not hide later results.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running fake. Dropping it stops the server.
pub struct FakeAppwrite {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeAppwrite {
    /// Starts a fake on a free local port with database `jobmanager` and tables `jobs` and
    /// `job_events`, project `test-project` and key `test-key`.
    /// Their columns and indexes are the repository's `appwrite.json`, created as `push tables`
    /// creates them, so every row the store writes is checked against the deployed schema.
    pub fn start() -> FakeAppwrite {
        let fake = Self::start_with("test-project", "test-key");
        fake.add_manifest_tables(include_str!("../../../appwrite.json"));
        fake
    }

    /// Creates the tables of an `appwrite.json` text with their columns and indexes
    /// ([`schema::tables_from_manifest`]).
    pub fn add_manifest_tables(&self, manifest: &str) {
        let manifest: Value = serde_json::from_str(manifest).expect("appwrite.json is JSON");
        for (db, id, table) in schema::tables_from_manifest(&manifest, &now_text()) {
            self.add_table(&db, &id);
            self.shared.lock().schemas.insert((db, id), table);
        }
    }

    /// Starts an empty fake (no tables) for the given project and key.
    pub fn start_with(project: &str, key: &str) -> FakeAppwrite {
        let shared = Arc::new(Shared {
            project: project.into(),
            key: key.into(),
            state: Mutex::new(State::default()),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("fake runtime");
            rt.block_on(serve(listener, server, stopped));
        });
        FakeAppwrite {
            shared,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Base URL including `/v1`, as `APPWRITE_FUNCTION_API_ENDPOINT` has it
    /// (appwrite-notes: Execution environment).
    pub fn endpoint(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn project(&self) -> String {
        self.shared.project.clone()
    }

    pub fn key(&self) -> String {
        self.shared.key.clone()
    }

    /// The variables a function would see, plus the key, for `from_lookup`.
    pub fn variables(&self) -> HashMap<String, String> {
        HashMap::from([
            ("APPWRITE_FUNCTION_API_ENDPOINT".into(), self.endpoint()),
            ("APPWRITE_FUNCTION_PROJECT_ID".into(), self.project()),
            ("APPWRITE_API_KEY".into(), self.key()),
        ])
    }

    pub fn add_table(&self, database: &str, table: &str) {
        self.shared
            .lock()
            .databases
            .entry(database.into())
            .or_default()
            .entry(table.into())
            .or_default();
    }

    /// Makes every later deployment of `function` end its build as `failed`.
    pub fn fail_builds_of(&self, function: &str) {
        self.shared.lock().failing_builds.push(function.to_owned());
    }

    /// The variables set on `function`, as `{key, value, secret}` documents.
    pub fn function_variables(&self, function: &str) -> Vec<Value> {
        self.shared
            .lock()
            .variables
            .get(function)
            .cloned()
            .unwrap_or_default()
    }

    /// Makes the next `times` requests on `route` (a label as in [`requests`](Self::requests),
    /// or `*` for any) fail with `fault`.
    pub fn inject(&self, route: &str, fault: Fault, times: usize) {
        self.shared.lock().faults.push(Armed {
            route: route.into(),
            fault,
            left: times,
        });
    }

    /// Fails every `every`-th request (any route) from now on with one of `kinds`, picked by a
    /// generator seeded with `seed`. The schedule counts requests, never time, so a test sees
    /// the same share of faults however fast or loaded the machine is.
    pub fn schedule_faults(&self, every: u64, kinds: Vec<Fault>, seed: u64) {
        assert!(
            every > 0 && !kinds.is_empty(),
            "a fault schedule needs a period and kinds"
        );
        self.shared.lock().schedule = Some(Schedule {
            every,
            kinds,
            seen: 0,
            rng: fastrand::Rng::with_seed(seed),
            injected: 0,
        });
    }

    /// Faults the schedule has injected so far.
    pub fn scheduled_faults(&self) -> u64 {
        self.shared
            .lock()
            .schedule
            .as_ref()
            .map_or(0, |s| s.injected)
    }

    /// Clears armed faults and the schedule.
    pub fn clear_faults(&self) {
        let mut state = self.shared.lock();
        state.faults.clear();
        state.schedule = None;
    }

    /// Requests served per route label (e.g. `GET row`, `PATCH row`, `GET rows`), faults included.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.shared.lock().requests.clone()
    }

    pub fn total_requests(&self) -> u64 {
        self.shared.lock().requests.values().sum()
    }

    pub fn reset_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// The rows of a table, by id (for assertions).
    pub fn rows(&self, database: &str, table: &str) -> BTreeMap<String, Map<String, Value>> {
        self.shared
            .lock()
            .databases
            .get(database)
            .and_then(|d| d.get(table))
            .cloned()
            .unwrap_or_default()
    }

    /// Overwrites (or inserts) one column of a row behind the client's back.
    pub fn set_column(&self, database: &str, table: &str, row: &str, column: &str, value: Value) {
        let mut state = self.shared.lock();
        if let Some(r) = state
            .databases
            .get_mut(database)
            .and_then(|d| d.get_mut(table))
            .and_then(|t| t.get_mut(row))
        {
            r.insert(column.into(), value);
            r.insert("$updatedAt".into(), json!(now_text()));
        }
    }

    pub fn executions(&self) -> Vec<RecordedExecution> {
        self.shared.lock().executions.clone()
    }

    /// A user holding `labels`. Panics on a label Appwrite refuses (`PUT /v1/users/{id}/labels`
    /// answers 400: 1 to 36 alphanumeric characters, `schema::valid_label`), so no test relies on
    /// a user that cannot exist.
    pub fn add_user(&self, user_id: &str, labels: &[&str]) {
        if let Some(bad) = labels.iter().find(|l| !schema::valid_label(l)) {
            panic!(
                "label {bad:?}: Appwrite refuses it: Invalid `labels` param: {}",
                schema::LABEL_RULE
            );
        }
        self.shared.lock().users.insert(
            user_id.into(),
            labels.iter().map(|l| l.to_string()).collect(),
        );
    }

    pub fn add_membership(&self, team_id: &str, user_id: &str, roles: &[&str]) {
        self.shared
            .lock()
            .teams
            .entry(team_id.into())
            .or_default()
            .push((
                user_id.into(),
                roles.iter().map(|r| r.to_string()).collect(),
            ));
    }

    pub fn add_team(&self, team_id: &str) {
        self.shared.lock().teams.entry(team_id.into()).or_default();
    }
}

impl Drop for FakeAppwrite {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct Hangup;

impl std::fmt::Display for Hangup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Hangup {}

/// An answer: status, JSON body (or raw text), extra headers.
struct Answer {
    status: u16,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body: body.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }

    /// Appwrite's error body `{message, code, type, version}` (appwrite-notes: Error body).
    fn error(status: u16, kind: &str, message: impl Into<String>) -> Answer {
        Answer::json(
            status,
            json!({"message": message.into(), "code": status, "type": kind, "version": VERSION}),
        )
    }
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Hangup> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let project = header("x-appwrite-project");
    let key = header("x-appwrite-key");
    let timestamp = header("x-appwrite-timestamp");
    let (content_type, content_range, upload_id) = (
        header("content-type"),
        header("content-range"),
        header("x-appwrite-id"),
    );
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();

    let route = Route::parse(&method, &path);
    let label = route.as_ref().map_or("unknown".to_owned(), Route::label);
    let fault = {
        let mut state = shared.lock();
        *state.requests.entry(label.clone()).or_default() += 1;
        take_fault(&mut state, &label)
    };
    if let Some(Fault::Slow(delay)) = &fault {
        tokio::time::sleep(*delay).await;
    }
    match &fault {
        Some(Fault::Drop) => return Err(Hangup),
        Some(Fault::RateLimited { reset_in }) => {
            let reset = Utc::now().timestamp() as u64 + reset_in;
            let mut a = Answer::error(
                429,
                "general_rate_limit_exceeded",
                "Rate limit for the current endpoint has been exceeded. Please try again after some time.",
            );
            a.headers = vec![
                ("X-RateLimit-Limit", "60".into()),
                ("X-RateLimit-Remaining", "0".into()),
                ("X-RateLimit-Reset", reset.to_string()),
            ];
            return Ok(respond(a));
        }
        Some(Fault::ServerError(status)) => {
            return Ok(respond(Answer::error(
                *status,
                "general_server_error",
                "Server Error",
            )))
        }
        Some(Fault::InvalidJson) => {
            return Ok(respond(Answer {
                status: 200,
                body: b"{\"rows\": [".to_vec(),
                headers: Vec::new(),
            }))
        }
        _ => {}
    }

    // Project then key, as Appwrite checks them (Appwrite 1.9.6 `app/controllers/shared/api.php`
    // l.150-151 refuses an unknown project before l.204 reads `x-appwrite-key`).
    if project.as_deref() != Some(shared.project.as_str()) {
        return Ok(respond(Answer::error(
            404,
            "project_not_found",
            "Project with the requested ID could not be found. Please check the value of the X-Appwrite-Project header to ensure the correct project ID is being used.",
        )));
    }
    let key_ok = key.as_deref() == Some(shared.key.as_str());
    let upload = functions::Upload {
        content_type: content_type.as_deref(),
        content_range: content_range.as_deref(),
        upload_id: upload_id.as_deref(),
    };
    let handled = key_ok
        .then(|| {
            let mut state = shared.lock();
            functions::handle(
                &mut state,
                &shared.project,
                method.as_str(),
                &path,
                &upload,
                &body,
            )
        })
        .flatten();
    let answer = match (key_ok, route) {
        _ if handled.is_some() => handled.unwrap_or_else(|| Answer::json(500, Value::Null)),
        (false, _) => Answer::error(
            401,
            "general_unauthorized_scope",
            "app.test@service.localhost (role: guests) missing scopes ([\"rows.read\"])",
        ),
        (true, None) => Answer::error(
            404,
            "general_route_not_found",
            "The requested route was not found. Please refer to the API docs and try again.",
        ),
        (true, Some(route)) => {
            let body: Value = if body.is_empty() {
                Value::Null
            } else {
                match serde_json::from_slice(&body) {
                    Ok(v) => v,
                    Err(_) => {
                        return Ok(respond(Answer::error(
                            400,
                            "general_argument_invalid",
                            "Invalid JSON body",
                        )))
                    }
                }
            };
            let params = form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect::<Vec<(String, String)>>();
            let mut state = shared.lock();
            apply(&mut state, route, &params, body, timestamp.as_deref())
        }
    };
    if fault == Some(Fault::DropAfterApply) {
        return Err(Hangup);
    }
    Ok(respond(answer))
}

fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("Content-Type", "application/json; charset=utf-8")
        .header("X-Appwrite-Version", VERSION);
    for (k, v) in answer.headers {
        builder = builder.header(k, v);
    }
    builder
        .body(Full::new(Bytes::from(answer.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

struct Schedule {
    every: u64,
    kinds: Vec<Fault>,
    seen: u64,
    rng: fastrand::Rng,
    injected: u64,
}

fn take_fault(state: &mut State, label: &str) -> Option<Fault> {
    if let Some(s) = state.schedule.as_mut() {
        s.seen += 1;
        if s.seen % s.every == 0 {
            s.injected += 1;
            return Some(s.kinds[s.rng.usize(..s.kinds.len())].clone());
        }
    }
    let armed = state
        .faults
        .iter_mut()
        .find(|a| a.left > 0 && (a.route == "*" || a.route == label))?;
    armed.left -= 1;
    let fault = armed.fault.clone();
    state.faults.retain(|a| a.left > 0);
    Some(fault)
}

/// The routes the fake serves (appwrite-notes: Row endpoints, Creating an execution, Users and
/// memberships).
#[derive(Debug, Clone)]
enum Route {
    Rows {
        db: String,
        table: String,
    },
    Row {
        db: String,
        table: String,
        id: String,
        method: Method,
    },
    RowsMethod {
        db: String,
        table: String,
        method: Method,
    },
    Executions {
        function: String,
    },
    User {
        id: String,
    },
    Memberships {
        team: String,
    },
    /// Databases, tables, columns and indexes (`schema`).
    Schema {
        method: Method,
        parts: Vec<String>,
    },
}

/// The percent-decoded segments of an API path after `/v1/`, as Appwrite's router sees them.
pub(crate) fn path_segments(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix("/v1/")?;
    Some(
        rest.split('/')
            .map(|p| {
                form_urlencoded::parse(format!("x={p}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            })
            .collect(),
    )
}

impl Route {
    fn parse(method: &Method, path: &str) -> Option<Route> {
        let parts = path_segments(path)?;
        let p: Vec<&str> = parts.iter().map(String::as_str).collect();
        match (method, p.as_slice()) {
            (_, ["tablesdb", db, "tables", table, "rows"]) if *method == Method::GET => {
                Some(Route::Rows {
                    db: db.to_string(),
                    table: table.to_string(),
                })
            }
            (m, ["tablesdb", db, "tables", table, "rows"]) => Some(Route::RowsMethod {
                db: db.to_string(),
                table: table.to_string(),
                method: m.clone(),
            }),
            (m, ["tablesdb", db, "tables", table, "rows", id]) => Some(Route::Row {
                db: db.to_string(),
                table: table.to_string(),
                id: id.to_string(),
                method: m.clone(),
            }),
            (&Method::POST, ["functions", f, "executions"]) => Some(Route::Executions {
                function: f.to_string(),
            }),
            (&Method::GET, ["users", id]) => Some(Route::User { id: id.to_string() }),
            (&Method::GET, ["teams", team, "memberships"]) => Some(Route::Memberships {
                team: team.to_string(),
            }),
            (m, ["tablesdb", ..] | ["databases", ..] | ["functions", ..] | ["teams"]) => {
                Some(Route::Schema {
                    method: m.clone(),
                    parts: parts.clone(),
                })
            }
            _ => None,
        }
    }

    /// The counter label: method plus the resource, e.g. `PATCH row`, `GET rows`.
    fn label(&self) -> String {
        match self {
            Route::Rows { .. } => "GET rows".into(),
            Route::RowsMethod { method, .. } => format!("{method} rows"),
            Route::Row { method, .. } => format!("{method} row"),
            Route::Executions { .. } => "POST executions".into(),
            Route::User { .. } => "GET user".into(),
            Route::Memberships { .. } => "GET memberships".into(),
            Route::Schema { method, .. } => format!("{method} schema"),
        }
    }
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// Datetimes as Appwrite answers them: milliseconds and an explicit offset (appwrite-notes:
/// Datetimes).
fn now_text() -> String {
    now().format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(3))
}

/// Valid custom ids: ≤ 36 chars of `[a-zA-Z0-9._-]`, not starting with a special char (issue 5).
fn valid_id(id: &str) -> bool {
    id.len() <= 36
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn not_found_row(id: &str) -> Answer {
    Answer::error(
        404,
        "row_not_found",
        format!("Row with the requested ID '{id}' could not be found."),
    )
}

fn apply(
    state: &mut State,
    route: Route,
    params: &[(String, String)],
    body: Value,
    timestamp: Option<&str>,
) -> Answer {
    match route {
        Route::Schema { method, parts } => schema_route(state, &method, &parts, &body),
        Route::Executions { function } => {
            let asynchronous = body.get("async").and_then(Value::as_bool).unwrap_or(false);
            let recorded = RecordedExecution {
                function_id: function.clone(),
                body: body
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .into(),
                path: body
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or("/")
                    .into(),
                method: body
                    .get("method")
                    .and_then(Value::as_str)
                    .unwrap_or("POST")
                    .into(),
                asynchronous,
                headers: body.get("headers").cloned().unwrap_or(json!({})),
            };
            state.executions.push(recorded.clone());
            state.sequence += 1;
            let now = now_text();
            // The execution model (appwrite-notes: Creating an execution): async → 202 and
            // `waiting`; sync → the finished run.
            let execution = json!({
                "$id": format!("exec{}", state.sequence), "$createdAt": now, "$updatedAt": now,
                "$permissions": [], "functionId": function, "trigger": "http",
                "status": if asynchronous { "waiting" } else { "completed" },
                "requestMethod": recorded.method, "requestPath": recorded.path, "requestHeaders": [],
                "responseStatusCode": if asynchronous { 0 } else { 200 }, "responseBody": "",
                "responseHeaders": [], "logs": "", "errors": "", "duration": 0.0,
            });
            Answer::json(if asynchronous { 202 } else { 201 }, execution)
        }
        Route::User { id } => match state.users.get(&id) {
            Some(labels) => Answer::json(
                200,
                json!({"$id": id, "$createdAt": now_text(), "$updatedAt": now_text(), "name": "",
                       "email": "", "status": true, "labels": labels, "prefs": {}}),
            ),
            None => Answer::error(
                404,
                "user_not_found",
                "User with the requested ID could not be found.",
            ),
        },
        Route::Memberships { team } => {
            let Some(members) = state.teams.get(&team) else {
                return Answer::error(
                    404,
                    "team_not_found",
                    "Team with the requested ID could not be found.",
                );
            };
            let rows: Vec<Map<String, Value>> = members
                .iter()
                .enumerate()
                .map(|(i, (user, roles))| {
                    let v = json!({"$id": format!("m{i}{user}"), "$createdAt": now_text(),
                        "$updatedAt": now_text(), "userId": user, "userName": "", "userEmail": "",
                        "teamId": team, "teamName": team, "invited": now_text(), "joined": now_text(),
                        "confirm": true, "mfa": false, "roles": roles});
                    v.as_object().cloned().unwrap_or_default()
                })
                .collect();
            let total_wanted = match total_param(params) {
                Ok(t) => t,
                Err(a) => return a,
            };
            match select(rows.iter().collect(), params_queries(params), None) {
                Ok(found) => Answer::json(
                    200,
                    json!({"total": if total_wanted { found.len() } else { 0 }, "memberships": found}),
                ),
                Err(a) => a,
            }
        }
        Route::Rows { db, table } => {
            let rows = match table_of(state, &db, &table) {
                Ok(t) => t,
                Err(a) => return a,
            };
            let queries = match params_queries(params) {
                Ok(q) => q,
                Err(a) => return a,
            };
            let total_wanted = match total_param(params) {
                Ok(t) => t,
                Err(a) => return a,
            };
            let all: Vec<&Map<String, Value>> = rows.values().collect();
            // `total` counts every match, before limit/offset/cursor, up to 5000 (appwrite-notes:
            // Query limits).
            let total = if total_wanted {
                match filter_only(&all, &queries) {
                    Ok(n) => n.min(5000),
                    Err(a) => return a,
                }
            } else {
                0
            };
            match select(all, Ok(queries), Some(rows)) {
                Ok(found) => Answer::json(200, json!({"total": total, "rows": found})),
                Err(a) => a,
            }
        }
        Route::RowsMethod { db, table, method } => {
            let sequence = state.sequence;
            let columns = state.schemas.get(&(db.clone(), table.clone())).cloned();
            let rows = match table_of_mut(state, &db, &table) {
                Ok(t) => t,
                Err(a) => return a,
            };
            match method {
                Method::POST => {
                    let (answer, used) =
                        create_row(rows, &db, &table, body, sequence, columns.as_ref());
                    state.sequence += used;
                    answer
                }
                Method::PUT => {
                    // Bulk upsert: each row carries its `$id`; existing rows are replaced
                    // column by column, missing ones created (appwrite-notes.md § Rows).
                    let Some(items) = body.get("rows").and_then(Value::as_array) else {
                        return Answer::error(
                            400,
                            "general_argument_invalid",
                            "Invalid `rows` param",
                        );
                    };
                    let mut touched = Vec::new();
                    let mut used = 0;
                    for item in items {
                        let Some(mut data) = item.as_object().cloned() else {
                            return Answer::error(
                                400,
                                "general_argument_invalid",
                                "Invalid `rows` param",
                            );
                        };
                        let id = data
                            .remove("$id")
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_else(|| "unique()".into());
                        if let Some(r) = rows.get_mut(&id) {
                            if let Err(a) = write_checked(
                                r,
                                &Value::Object(data),
                                columns.as_ref(),
                                Operators::Parse,
                            ) {
                                return a;
                            }
                            r.insert("$updatedAt".into(), json!(now_text()));
                            touched.push(Value::Object(r.clone()));
                        } else {
                            let body = json!({"rowId": id, "data": data});
                            let (answer, n) = create_row(
                                rows,
                                &db,
                                &table,
                                body,
                                sequence + used,
                                columns.as_ref(),
                            );
                            if n == 0 {
                                return answer;
                            }
                            used += n;
                            touched.push(serde_json::from_slice(&answer.body).unwrap_or_default());
                        }
                    }
                    state.sequence += used;
                    Answer::json(200, json!({"total": touched.len(), "rows": touched}))
                }
                Method::PATCH if is_empty_payload(body.get("data").unwrap_or(&Value::Null)) => {
                    missing_payload()
                }
                Method::PATCH | Method::DELETE => {
                    // Bulk update/delete by query (appwrite-notes: Bulk update and delete by
                    // query): no queries means every row.
                    let queries: Vec<Value> = match body.get("queries") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Array(items)) => {
                            match items.iter().map(parse_query).collect::<Result<Vec<_>, _>>() {
                                Ok(q) => q,
                                Err(a) => return a,
                            }
                        }
                        Some(_) => {
                            return Answer::error(
                                400,
                                "general_argument_invalid",
                                "Invalid `queries` param",
                            )
                        }
                    };
                    // Bulk operations act on every matching row: the list default of 25 applies to
                    // reads only (no queries = every row; appwrite-notes: Bulk update and delete by
                    // query).
                    let mut queries = queries;
                    if !queries.iter().any(|q| q["method"] == "limit") {
                        queries.push(json!({"method": "limit", "values": [u32::MAX]}));
                    }
                    let ids: Vec<String> =
                        match select(rows.values().collect(), Ok(queries), Some(rows)) {
                            Ok(found) => found
                                .iter()
                                .filter_map(|r| {
                                    r.get("$id").and_then(Value::as_str).map(str::to_owned)
                                })
                                .collect(),
                            Err(a) => return a,
                        };
                    let mut touched = Vec::new();
                    for id in &ids {
                        if method == Method::DELETE {
                            if let Some(r) = rows.remove(id) {
                                touched.push(r);
                            }
                        } else if let Some(r) = rows.get_mut(id) {
                            let data = body.get("data").cloned().unwrap_or(json!({}));
                            if let Err(a) =
                                write_checked(r, &data, columns.as_ref(), Operators::Parse)
                            {
                                return a;
                            }
                            r.insert("$updatedAt".into(), json!(now_text()));
                            touched.push(r.clone());
                        }
                    }
                    touched.truncate(100);
                    Answer::json(200, json!({"total": ids.len(), "rows": touched}))
                }
                _ => Answer::error(
                    404,
                    "general_route_not_found",
                    "The requested route was not found.",
                ),
            }
        }
        Route::Row {
            db,
            table,
            id,
            method,
        } => {
            let columns = state.schemas.get(&(db.clone(), table.clone())).cloned();
            let rows = match table_of_mut(state, &db, &table) {
                Ok(t) => t,
                Err(a) => return a,
            };
            let Some(row) = rows.get_mut(&id) else {
                return not_found_row(&id);
            };
            // Optimistic concurrency (appwrite-notes: Conditional writes): refused when the row is
            // strictly newer than the request timestamp, at millisecond precision. Single-row
            // update and delete only (in 1.9.6 upsert does not take the header).
            if method != Method::GET {
                if let Some(raw) = timestamp {
                    let Some(ts) = parse_time(raw) else {
                        return Answer::error(
                            400,
                            "general_argument_invalid",
                            "Invalid X-Appwrite-Timestamp header value",
                        );
                    };
                    let updated = row
                        .get("$updatedAt")
                        .and_then(Value::as_str)
                        .and_then(parse_time);
                    if updated.is_some_and(|u| u > ts) {
                        return Answer::error(
                            409,
                            "row_update_conflict",
                            "Remote row is newer than local.",
                        );
                    }
                }
            }
            match method {
                Method::GET => Answer::json(200, Value::Object(row.clone())),
                Method::PATCH => {
                    let data = body.get("data").cloned().unwrap_or(json!({}));
                    if is_empty_payload(&data) && body.get("permissions").is_none_or(Value::is_null)
                    {
                        return missing_payload();
                    }
                    if let Err((s, k, m)) = schema::check_permissions(body.get("permissions")) {
                        return Answer::error(s, k, m);
                    }
                    if let Err(a) = write_checked(row, &data, columns.as_ref(), Operators::Parse) {
                        return a;
                    }
                    row.insert("$updatedAt".into(), json!(now_text()));
                    Answer::json(200, Value::Object(row.clone()))
                }
                Method::DELETE => {
                    rows.remove(&id);
                    Answer {
                        status: 204,
                        body: Vec::new(),
                        headers: Vec::new(),
                    }
                }
                _ => Answer::error(
                    404,
                    "general_route_not_found",
                    "The requested route was not found.",
                ),
            }
        }
    }
}

fn table_of<'a>(
    state: &'a State,
    db: &str,
    table: &str,
) -> Result<&'a BTreeMap<String, Map<String, Value>>, Answer> {
    let database = state
        .databases
        .get(db)
        .ok_or_else(|| Answer::error(404, "database_not_found", "Database not found"))?;
    database.get(table).ok_or_else(|| {
        Answer::error(
            404,
            "table_not_found",
            "Table with the requested ID could not be found.",
        )
    })
}

fn table_of_mut<'a>(
    state: &'a mut State,
    db: &str,
    table: &str,
) -> Result<&'a mut BTreeMap<String, Map<String, Value>>, Answer> {
    let database = state
        .databases
        .get_mut(db)
        .ok_or_else(|| Answer::error(404, "database_not_found", "Database not found"))?;
    database.get_mut(table).ok_or_else(|| {
        Answer::error(
            404,
            "table_not_found",
            "Table with the requested ID could not be found.",
        )
    })
}

/// `POST …/rows` with `{"rowId","data"}`; the row JSON with `$sequence` a string
/// (appwrite-notes: Row endpoints).
fn create_row(
    rows: &mut BTreeMap<String, Map<String, Value>>,
    db: &str,
    table: &str,
    body: Value,
    sequence: u64,
    columns: Option<&schema::Table>,
) -> (Answer, u64) {
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return (
            Answer::error(
                400,
                "row_missing_data",
                "The row data is missing. Try again with row data populated",
            ),
            0,
        );
    };
    let requested = body
        .get("rowId")
        .and_then(Value::as_str)
        .unwrap_or("unique()");
    let id = if requested == "unique()" {
        format!("{:020x}", sequence + 1)
    } else {
        requested.to_owned()
    };
    if let Err((s, k, m)) = schema::check_permissions(body.get("permissions")) {
        return (Answer::error(s, k, m), 0);
    }
    if !valid_id(&id) {
        return (Answer::error(400, "general_argument_invalid", "Invalid `rowId` param: Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can't start with a special char"), 0);
    }
    if rows.contains_key(&id) {
        return (Answer::error(409, "row_already_exists", "Row with the requested ID already exists. Try again with a different ID or use ID.unique() to generate a unique ID."), 0);
    }
    let now = now_text();
    let mut row = Map::new();
    row.insert("$id".into(), json!(id));
    row.insert("$sequence".into(), json!((sequence + 1).to_string()));
    row.insert("$tableId".into(), json!(table));
    row.insert("$databaseId".into(), json!(db));
    row.insert("$createdAt".into(), json!(now));
    row.insert("$updatedAt".into(), json!(now));
    row.insert("$permissions".into(), json!([]));
    if let Err(a) = write_checked(
        &mut row,
        &Value::Object(data.clone()),
        columns,
        Operators::Ignore,
    ) {
        return (a, 0);
    }
    rows.insert(id, row.clone());
    (Answer::json(201, Value::Object(row)), 1)
}

/// Appwrite refuses an update without data (and, for one row, without permissions): appwrite
/// 1.9.6 `Databases/Collections/Documents/Update.php` and `Bulk/Update.php`, `empty($data)`.
fn is_empty_payload(data: &Value) -> bool {
    match data {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty() || s == "{}" || s == "[]",
        _ => false,
    }
}

fn missing_payload() -> Answer {
    Answer::error(
        400,
        "row_missing_payload",
        "The row data and permissions are missing. You must provide either row data or permissions to be updated.",
    )
}

/// Writes `data` into `row` only if the result passes the table's structure check
/// ([`schema::check_row`]); otherwise `row` is left as it was.
fn write_checked(
    row: &mut Map<String, Value>,
    data: &Value,
    columns: Option<&schema::Table>,
    operators: Operators,
) -> Result<(), Answer> {
    let mut next = row.clone();
    merge(&mut next, data, operators)?;
    if let Some(table) = columns {
        schema::check_row(table, &next).map_err(|(s, k, m)| Answer::error(s, k, m))?;
    }
    *row = next;
    Ok(())
}

/// The schema routes `push tables` uses: create a database or table, create columns (legacy
/// `databases/{db}/collections/{t}/attributes/{kind}` as CLI 12.0.1 calls them, or
/// `tablesdb/{db}/tables/{t}/columns/{kind}`) and indexes, read a database or table back.
fn schema_route(state: &mut State, method: &Method, parts: &[String], body: &Value) -> Answer {
    let p: Vec<&str> = parts.iter().map(String::as_str).collect();
    let now = now_text();
    let refused = |(s, k, m): schema::Refusal| Answer::error(s, k, m);
    let table_missing = || {
        Answer::error(
            404,
            "table_not_found",
            "Table with the requested ID could not be found.",
        )
    };
    match (method, p.as_slice()) {
        (&Method::GET, ["teams"]) => {
            Answer::json(200, json!({"total": state.teams.len(), "teams": []}))
        }
        (&Method::GET, ["tablesdb"]) => {
            let list: Vec<Value> = state
                .databases
                .keys()
                .map(|id| database_document(state, id, &now))
                .collect();
            Answer::json(200, json!({"total": list.len(), "databases": list}))
        }
        (&Method::GET, ["tablesdb", db]) => match state.databases.contains_key(*db) {
            true => Answer::json(200, database_document(state, db, &now)),
            false => Answer::error(404, "database_not_found", "Database not found"),
        },
        (&Method::POST, ["tablesdb"]) => {
            let Some(id) = body.get("databaseId").and_then(Value::as_str) else {
                return Answer::error(
                    400,
                    "general_argument_invalid",
                    "Param \"databaseId\" is not optional.",
                );
            };
            if state.databases.contains_key(id) {
                return Answer::error(409, "database_already_exists", "Database already exists");
            }
            state.databases.insert(id.to_owned(), HashMap::new());
            let document = json!({"$id": id, "name": body.get("name").cloned().unwrap_or(json!(id)),
                "$createdAt": now, "$updatedAt": now,
                "enabled": body.get("enabled").and_then(Value::as_bool).unwrap_or(true), "type": "tablesdb"});
            state
                .database_documents
                .insert(id.to_owned(), document.clone());
            Answer::json(201, document)
        }
        (&Method::POST, ["tablesdb", db, "tables"]) => {
            let Some(id) = body.get("tableId").and_then(Value::as_str) else {
                return Answer::error(
                    400,
                    "general_argument_invalid",
                    "Param \"tableId\" is not optional.",
                );
            };
            if let Err(e) = schema::check_permissions(body.get("permissions")) {
                return refused(e);
            }
            let Some(database) = state.databases.get_mut(*db) else {
                return Answer::error(404, "database_not_found", "Database not found");
            };
            if database.contains_key(id) {
                return Answer::error(
                    409,
                    "table_already_exists",
                    "A table with the requested ID already exists.",
                );
            }
            database.insert(id.to_owned(), Rows::new());
            let table = schema::Table {
                name: body["name"].as_str().unwrap_or(id).to_owned(),
                permissions: body["permissions"].as_array().cloned().unwrap_or_default(),
                row_security: body["rowSecurity"].as_bool().unwrap_or(false),
                ..schema::Table::default()
            };
            let answer = schema::table_answer(db, id, &table, &now);
            state.schemas.insert((db.to_string(), id.to_owned()), table);
            Answer::json(201, answer)
        }
        // Update a table (`TablesDB/Tables/Update.php`): name, permissions, row security.
        (&Method::PUT, ["tablesdb", db, "tables", table]) => {
            if let Err(e) = schema::check_permissions(body.get("permissions")) {
                return refused(e);
            }
            match state.schemas.get_mut(&(db.to_string(), table.to_string())) {
                Some(t) => {
                    if let Some(name) = body.get("name").and_then(Value::as_str) {
                        t.name = name.to_owned();
                    }
                    if let Some(p) = body.get("permissions").and_then(Value::as_array) {
                        t.permissions = p.clone();
                    }
                    t.row_security = body["rowSecurity"].as_bool().unwrap_or(false);
                    Answer::json(200, schema::table_answer(db, table, t, &now))
                }
                None => table_missing(),
            }
        }
        (&Method::GET, ["tablesdb", db, "tables", table]) => {
            match state.schemas.get(&(db.to_string(), table.to_string())) {
                Some(t) => Answer::json(200, schema::table_answer(db, table, t, &now)),
                None => table_missing(),
            }
        }
        (&Method::POST, ["databases", db, "collections", table, "attributes", kind])
        | (&Method::POST, ["tablesdb", db, "tables", table, "columns", kind]) => {
            match state.schemas.get_mut(&(db.to_string(), table.to_string())) {
                Some(t) => match schema::create_column(t, kind, body, &now) {
                    Ok(column) => Answer::json(202, column),
                    Err(e) => refused(e),
                },
                None => table_missing(),
            }
        }
        (&Method::POST, ["databases", db, "collections", table, "indexes"])
        | (&Method::POST, ["tablesdb", db, "tables", table, "indexes"]) => {
            match state.schemas.get_mut(&(db.to_string(), table.to_string())) {
                Some(t) => match schema::create_index(t, body, &now) {
                    Ok(index) => Answer::json(202, index),
                    Err(e) => refused(e),
                },
                None => table_missing(),
            }
        }
        _ => Answer::error(
            404,
            "general_route_not_found",
            "The requested route was not found.",
        ),
    }
}

/// A database as `GET /v1/tablesdb/{id}` answers it (`Response/Model/Database.php`); one made
/// by `add_table` is named after its id.
fn database_document(state: &State, id: &str, now: &str) -> Value {
    state.database_documents.get(id).cloned().unwrap_or_else(|| {
        json!({"$id": id, "name": id, "$createdAt": now, "$updatedAt": now, "enabled": true, "type": "tablesdb"})
    })
}

/// Whether a write path parses operator strings. Appwrite 1.9.6 parses them on update paths
/// only (row update, upsert, bulk update; `Databases/Http/Databases/Action.php`
/// `parseOperators`), never on create (appwrite-notes: Operator strings).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operators {
    Parse,
    Ignore,
}

/// Writes `data` into `row`. On update paths, a string on any column that decodes to an object
/// with a known operator `method` is applied as that operator (appwrite-notes: Operator strings), plain text columns
/// included: that is why the adapter escapes such text and wraps JSON columns.
fn merge(row: &mut Map<String, Value>, data: &Value, operators: Operators) -> Result<(), Answer> {
    let Some(data) = data.as_object() else {
        return Err(Answer::error(
            400,
            "row_invalid_structure",
            "Invalid row structure: data must be an object",
        ));
    };
    for (key, value) in data {
        if key.starts_with('$') {
            continue;
        }
        let operator = value
            .as_str()
            .filter(|_| operators == Operators::Parse)
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .filter(|v| {
                v.get("method")
                    .and_then(Value::as_str)
                    .is_some_and(is_operator)
            });
        let new = match operator {
            None => value.clone(),
            Some(op) => apply_operator(key, row.get(key), &op)?,
        };
        row.insert(key.clone(), new);
    }
    Ok(())
}

/// One operator on a column's current value, as utopia-php/database 6.0.0 applies it
/// (`Operator.php`, `Validator/Operator.php`): numeric operators on a text value are refused,
/// string operators work on text. Array and date-offset operators are not needed by Job
/// Manager and are refused by the fake.
fn apply_operator(key: &str, old: Option<&Value>, op: &Value) -> Result<Value, Answer> {
    let method = op["method"].as_str().unwrap_or_default();
    let values = op["values"].as_array().cloned().unwrap_or_default();
    let text = |i: usize| {
        values
            .get(i)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let invalid = |why: String| {
        Answer::error(
            400,
            "row_invalid_structure",
            format!("Invalid operator for attribute \"{key}\": {why}"),
        )
    };
    let numeric = matches!(
        method,
        "increment" | "decrement" | "multiply" | "divide" | "modulo" | "power"
    );
    if numeric {
        if let Some(Value::String(_)) = old {
            return Err(invalid(format!(
                "Cannot apply {method} operator to non-numeric field '{key}'"
            )));
        }
        let arg = values.first().and_then(Value::as_f64).unwrap_or(1.0);
        let old = old.and_then(Value::as_f64).unwrap_or(0.0);
        return Ok(number(match method {
            "increment" => old + arg,
            "decrement" => old - arg,
            "multiply" => old * arg,
            "divide" if arg != 0.0 => old / arg,
            "modulo" if arg != 0.0 => old % arg,
            "power" => old.powf(arg),
            _ => return Err(invalid(format!("Cannot apply {method} operator: by zero"))),
        }));
    }
    let old_text = || match old {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid(format!(
            "Cannot apply {method} operator to non-string field '{key}'"
        ))),
    };
    match method {
        "stringConcat" => Ok(json!(old_text()? + &text(0))),
        "stringReplace" => Ok(json!(old_text()?.replace(&text(0), &text(1)))),
        "dateSetNow" => Ok(json!(now_text())),
        other => Err(Answer::error(
            400,
            "general_argument_invalid",
            format!("Operator `{other}` is not supported by the fake"),
        )),
    }
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

fn is_operator(method: &str) -> bool {
    // The operator methods (appwrite-notes: Operator strings).
    matches!(
        method,
        "increment"
            | "decrement"
            | "multiply"
            | "divide"
            | "modulo"
            | "power"
            | "stringConcat"
            | "stringReplace"
            | "toggle"
            | "arrayAppend"
            | "arrayPrepend"
            | "arrayInsert"
            | "arrayRemove"
            | "arrayUnique"
            | "arrayIntersect"
            | "arrayDiff"
            | "arrayFilter"
            | "dateAddDays"
            | "dateSubDays"
            | "dateSetNow"
    )
}

const FILTERS: &[&str] = &[
    "equal",
    "notEqual",
    "lessThan",
    "lessThanEqual",
    "greaterThan",
    "greaterThanEqual",
    "between",
    "isNull",
    "isNotNull",
    "startsWith",
    "and",
    "or",
];
const MODIFIERS: &[&str] = &[
    "orderAsc",
    "orderDesc",
    "limit",
    "offset",
    "cursorAfter",
    "select",
];

fn invalid_query(why: impl Into<String>) -> Answer {
    Answer::error(
        400,
        "general_query_invalid",
        format!("Invalid query: {}", why.into()),
    )
}

/// Appwrite's `queries` parameter: at most 4,096 characters per query (appwrite 1.9.6
/// `app/init/constants.php` `APP_LIMIT_ARRAY_ELEMENT_SIZE`, the `queries` param of
/// `TablesDB/Tables/Rows/XList.php` and of the bulk update and delete).
const MAX_QUERY_CHARS: usize = 4096;

/// One query: a JSON string (or, nested in `and`/`or`, an object); appwrite-notes: Query wire
/// format.
fn parse_query(raw: &Value) -> Result<Value, Answer> {
    let q = match raw {
        Value::String(s) if s.chars().count() > MAX_QUERY_CHARS => {
            return Err(Answer::error(
                400,
                "general_argument_invalid",
                "Invalid `queries` param: Value must a valid array no longer than 100 items and Value must be a valid string and at least 1 chars and no longer than 4096 chars",
            ))
        }
        Value::String(s) => serde_json::from_str::<Value>(s)
            .map_err(|_| invalid_query(format!("`{s}` is not JSON")))?,
        Value::Object(_) => raw.clone(),
        other => return Err(invalid_query(format!("`{other}`"))),
    };
    let method = q.get("method").and_then(Value::as_str).unwrap_or("");
    if !FILTERS.contains(&method) && !MODIFIERS.contains(&method) {
        return Err(invalid_query(format!("method `{method}` is not supported")));
    }
    if !q.get("values").is_none_or(Value::is_array) {
        return Err(invalid_query("`values` must be an array"));
    }
    // Nested queries must be objects: utopia-php/database 6.0.0 `Query::parseQuery(array)`
    // is called on each, and a string there is a PHP TypeError, which Appwrite answers 500.
    if (method == "and" || method == "or") && !values(&q).iter().all(Value::is_object) {
        return Err(Answer::error(500, "general_unknown", "Server Error"));
    }
    // utopia-php/database 6.0.0 `Validator/Query/Limit.php`: `Range(1, maxLimit)`.
    if method == "limit" && values(&q).first().and_then(Value::as_u64).unwrap_or(0) < 1 {
        return Err(invalid_query(
            "Invalid limit: Value must be a valid range between 1 and 5,000",
        ));
    }
    // Appwrite caps each list of values at 500 (appwrite-notes: Query limits).
    if q.get("values")
        .and_then(Value::as_array)
        .is_some_and(|v| v.len() > 500)
    {
        return Err(invalid_query("at most 500 values are allowed"));
    }
    Ok(q)
}

/// The `total` param of a list route, read as Appwrite 1.9.6 reads it: the route declares
/// `->param('total', true, new Boolean(true), …)` and its action takes `bool $includeTotal`.
/// The loose `Boolean` validator (utopia-php/validators 0.2.6 `src/Validator/Boolean.php`)
/// accepts the strings `true`, `false`, `1`, `0`; utopia-php/http 2.0.0-rc9
/// (`Http::getArguments`) hands the raw query string to the action, and PHP's coercive bool
/// cast makes every non-empty string but `"0"` true. So only `total=0` skips the count;
/// `total=false` still counts (appwrite-notes: Query limits).
fn total_param(params: &[(String, String)]) -> Result<bool, Answer> {
    match params.iter().find(|(k, _)| k == "total") {
        None => Ok(true),
        Some((_, v)) if v == "0" => Ok(false),
        Some((_, v)) if v == "1" || v == "true" || v == "false" => Ok(true),
        Some(_) => Err(Answer::error(
            400,
            "general_argument_invalid",
            "Invalid `total` param: Value must be a valid boolean",
        )),
    }
}

fn params_queries(params: &[(String, String)]) -> Result<Vec<Value>, Answer> {
    let queries: Vec<&String> = params
        .iter()
        .filter(|(k, _)| k == "queries[]" || k.starts_with("queries["))
        .map(|(_, v)| v)
        .collect();
    if queries.len() > 100 {
        return Err(invalid_query("at most 100 queries are allowed"));
    }
    queries
        .into_iter()
        .map(|q| parse_query(&Value::String(q.clone())))
        .collect()
}

fn values(q: &Value) -> &[Value] {
    q.get("values")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn attribute(q: &Value) -> &str {
    q.get("attribute").and_then(Value::as_str).unwrap_or("")
}

/// Compares two column values: numbers numerically (`$sequence` is a numeric string),
/// datetimes as instants, other strings as text. `None` when incomparable or null.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => match (parse_time(x), parse_time(y)) {
            (Some(tx), Some(ty)) => Some(tx.cmp(&ty)),
            _ => match (x.parse::<u64>(), y.parse::<u64>()) {
                (Ok(nx), Ok(ny)) => Some(nx.cmp(&ny)),
                _ => Some(collate(x, y)),
            },
        },
        (Value::String(x), Value::Number(y)) | (Value::Number(y), Value::String(x)) => {
            let order = x.parse::<f64>().ok()?.partial_cmp(&y.as_f64()?)?;
            Some(if matches!(a, Value::String(_)) {
                order
            } else {
                order.reverse()
            })
        }
        _ => None,
    }
}

/// Text order as production compares it: MariaDB's `utf8mb4` default collation,
/// `utf8mb4_general_ci`, is case-insensitive (utopia-php/database 6.0.0
/// `Adapter/MariaDB.php` creates the database `DEFAULT CHARACTER SET utf8mb4`), for `equal`,
/// `startsWith` and ordering alike.
fn collate(x: &str, y: &str) -> Ordering {
    x.to_lowercase().cmp(&y.to_lowercase())
}

fn matches(row: &Map<String, Value>, q: &Value) -> Result<bool, Answer> {
    let method = q.get("method").and_then(Value::as_str).unwrap_or("");
    let vals = values(q);
    let cell = row.get(attribute(q)).unwrap_or(&Value::Null);
    let first = vals.first().unwrap_or(&Value::Null);
    let cmp = |want: &[Ordering]| compare(cell, first).is_some_and(|o| want.contains(&o));
    Ok(match method {
        // SQL semantics: a comparison with NULL is never true.
        "equal" => vals
            .iter()
            .any(|v| compare(cell, v) == Some(Ordering::Equal)),
        "notEqual" => {
            !cell.is_null()
                && vals
                    .iter()
                    .all(|v| compare(cell, v) != Some(Ordering::Equal))
        }
        "lessThan" => cmp(&[Ordering::Less]),
        "lessThanEqual" => cmp(&[Ordering::Less, Ordering::Equal]),
        "greaterThan" => cmp(&[Ordering::Greater]),
        "greaterThanEqual" => cmp(&[Ordering::Greater, Ordering::Equal]),
        "between" => {
            let hi = vals.get(1).unwrap_or(&Value::Null);
            compare(cell, first).is_some_and(|o| o != Ordering::Less)
                && compare(cell, hi).is_some_and(|o| o != Ordering::Greater)
        }
        "isNull" => cell.is_null(),
        "isNotNull" => !cell.is_null(),
        "startsWith" => match (cell, first) {
            (Value::String(c), Value::String(p)) => c.to_lowercase().starts_with(&p.to_lowercase()),
            _ => false,
        },
        "and" | "or" => {
            let mut results = Vec::new();
            for nested in vals {
                results.push(matches(row, &parse_query(nested)?)?);
            }
            if method == "and" {
                results.iter().all(|r| *r)
            } else {
                results.iter().any(|r| *r)
            }
        }
        _ => true,
    })
}

fn filter_only(rows: &[&Map<String, Value>], queries: &[Value]) -> Result<usize, Answer> {
    let mut n = 0;
    for row in rows {
        let mut ok = true;
        for q in queries
            .iter()
            .filter(|q| FILTERS.contains(&q["method"].as_str().unwrap_or("")))
        {
            ok &= matches(row, q)?;
        }
        n += usize::from(ok);
    }
    Ok(n)
}

/// Filters, orders (user orders, then `$sequence` as Appwrite's tie-breaker), applies the
/// cursor, offset and limit (default 25, appwrite-notes: Query limits) and the selection.
fn select(
    rows: Vec<&Map<String, Value>>,
    queries: Result<Vec<Value>, Answer>,
    table: Option<&BTreeMap<String, Map<String, Value>>>,
) -> Result<Vec<Map<String, Value>>, Answer> {
    let queries = queries?;
    let method = |q: &Value| q["method"].as_str().unwrap_or("").to_owned();
    let mut found = Vec::new();
    for row in rows {
        let mut ok = true;
        for q in queries
            .iter()
            .filter(|q| FILTERS.contains(&method(q).as_str()))
        {
            ok &= matches(row, q)?;
        }
        if ok {
            found.push(row);
        }
    }
    let mut orders: Vec<(String, bool)> = queries
        .iter()
        .filter(|q| method(q) == "orderAsc" || method(q) == "orderDesc")
        .map(|q| (attribute(q).to_owned(), method(q) == "orderAsc"))
        .collect();
    orders.push(("$sequence".into(), true));
    let order = |a: &Map<String, Value>, b: &Map<String, Value>| {
        for (column, asc) in &orders {
            let x = a.get(column).unwrap_or(&Value::Null);
            let y = b.get(column).unwrap_or(&Value::Null);
            // MariaDB puts NULL first in ascending order.
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                _ => compare(x, y).unwrap_or(Ordering::Equal),
            };
            let o = if *asc { o } else { o.reverse() };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    };
    found.sort_by(|a, b| order(a, b));

    for q in queries.iter().filter(|q| method(q) == "cursorAfter") {
        let id = values(q).first().and_then(Value::as_str).unwrap_or("");
        // The cursor row is looked up in the table, matching or not [I: Appwrite reports a
        // missing one as 400; the type name is our best reading of its errors].
        let cursor = table.and_then(|t| t.get(id)).ok_or_else(|| {
            Answer::error(
                400,
                "general_cursor_not_found",
                format!("Row '{id}' for the 'cursor' value not found."),
            )
        })?;
        if orders
            .iter()
            .any(|(c, _)| cursor.get(c).is_none_or(Value::is_null))
        {
            return Err(Answer::error(
                400,
                "database_query_order_null",
                "The order column contains a null value for the cursor row.",
            ));
        }
        found.retain(|row| order(row, cursor) == Ordering::Greater);
    }
    let number_of = |name: &str, default: usize| {
        queries
            .iter()
            .filter(|q| method(q) == name)
            .filter_map(|q| values(q).first().and_then(Value::as_u64))
            .next_back()
            .map_or(default, |n| n as usize)
    };
    let offset = number_of("offset", 0);
    let limit = number_of("limit", 25);
    let selected: Option<Vec<String>> = queries
        .iter()
        .filter(|q| method(q) == "select")
        .map(|q| {
            values(q)
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .reduce(|mut a: Vec<String>, b| {
            a.extend(b);
            a
        });
    Ok(found
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|row| match &selected {
            None => row.clone(),
            Some(columns) => row
                .iter()
                .filter(|(k, _)| k.starts_with('$') || columns.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
        .collect())
}
