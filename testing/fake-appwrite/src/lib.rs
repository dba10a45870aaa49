//! An in-process fake of the Appwrite REST endpoints Job Manager uses, for tests: TablesDB rows
//! with JSON queries, function executions, Messaging emails, users and team memberships, with
//! Appwrite's headers, row shapes and error bodies, plus fault injection and per-route request
//! counters.
//!
//! Every shape follows `docs/appwrite-notes.md` (the note cited at each place), which names
//! the upstream file each fact comes from. It is a faithful subset, not a database: rows are
//! checked against their table's columns, but permissions are checked for form only and
//! indexes are recorded, never used.
//!
//! This root owns the fake's state and its start and stop; each resource module owns its
//! routes and its test-side methods on [`FakeAppwrite`]. Modules use only those below them:
//! `server` uses `faults`, `scopes`, `functions` and `route`; `route` uses `rows`, `tables`,
//! `executions`, `messaging` and `users`; those use `query`, `schema` and `wire` (and `rows` uses
//! `tables`' not-found answers, `functions` `scopes`' refusal).
//!
//! ```no_run
//! let fake = fake_appwrite::FakeAppwrite::start();
//! let endpoint = fake.endpoint(); // http://127.0.0.1:<port>/v1
//! ```

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value};

mod executions;
mod faults;
pub mod functions;
mod messaging;
mod query;
mod route;
mod rows;
pub mod schema;
mod scopes;
mod server;
mod tables;
mod users;
mod wire;

pub use executions::{RecordedExecution, SeededExecution};
pub use faults::Fault;
pub use messaging::RecordedMessage;

/// The server version the fake claims in error bodies (appwrite-notes: Error body).
pub const VERSION: &str = "1.9.6";

/// Rows of one table by id, each a full row object with its `$` attributes.
type Rows = BTreeMap<String, Map<String, Value>>;

/// Everything the fake holds, behind one lock.
#[derive(Default)]
struct State {
    /// `db` → `table` → rows by id (each a full row object with its `$` attributes).
    databases: HashMap<String, HashMap<String, Rows>>,
    /// The last number handed out for ids and `$sequence`.
    sequence: u64,
    faults: Vec<faults::Armed>,
    schedule: Option<faults::Schedule>,
    /// Requests per route label.
    requests: BTreeMap<String, u64>,
    executions: Vec<RecordedExecution>,
    /// Execution documents per function (`executions`), oldest first, as Appwrite lists them.
    execution_documents: Vec<Value>,
    /// Messages created through Messaging (`messaging`), oldest first, in Appwrite's model.
    messages: Vec<Value>,
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
    /// Functions, rules and webhooks (`functions`).
    functions: functions::Functions,
    /// The key's scopes (`scopes`); `None`: the key holds every scope.
    key_scopes: Option<Vec<String>>,
}

/// What the server and the test share.
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
            rt.block_on(server::serve(listener, server, stopped));
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
