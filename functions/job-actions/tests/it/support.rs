//! The test harness: an app on a private in-memory store (`MemoryStore`) with a fixed, movable
//! clock, fake Appwrite services that record what they were asked, and a request builder that calls
//! the handler directly (no socket), the way the runtime would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use job_actions::auth::RoleCache;
use job_actions::upstream::{Directory, Executions, Rows, UpstreamError};
use job_actions::{handle_with, Services};
use openruntimes::{Context, Logger};
use serde_json::{json, Map, Value};
use shared::job::{Event, Job, JobStatus, JobType, Timestamp};
use shared::platform::Platform;
use shared::store::layer::{Call, Hook, Layered};
use shared::store::memory::MemoryStore;
use shared::store::{JobQuery, JobStore, StoreError, StoreResult, MAX_PAGE};
use shared::usecase::{self, Act, Progress, Start};

pub const OPERATOR: &str = "alice";
pub const VIEWER: &str = "victor";
pub const NOBODY: &str = "nora";

/// The variables every test app starts with: label-based roles, nothing else.
pub const BASE_VARS: &[(&str, &str)] = &[
    ("JOBS_OPERATOR_LABELS", "jobsoperator"),
    ("JOBS_VIEWER_LABELS", "jobsviewer"),
];

/// The test store: every call counted, to hold the routes to their store budgets, and writes
/// refused while `refuse_writes` is set (an outage injected at a chosen point), writes of the
/// jobs in `refuse_writes_to` always (one job's outage), reads while `refuse_reads` is set.
pub type CountingStore = Layered<MemoryStore, Counter>;

/// The hook of [`CountingStore`].
#[derive(Default)]
pub struct Counter {
    pub calls: AtomicUsize,
    pub refuse_writes: AtomicBool,
    pub refuse_writes_to: Mutex<Vec<String>>,
    pub refuse_reads: AtomicBool,
}

impl Counter {
    fn refuses_writes_to(&self, id: &str) -> bool {
        self.refuse_writes_to
            .lock()
            .unwrap()
            .iter()
            .any(|r| r == id)
    }
}

impl Hook for Counter {
    fn before(&self, call: Call<'_>) -> StoreResult<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let refused = match call {
            Call::Write(id) => {
                self.refuse_writes.load(Ordering::SeqCst) || self.refuses_writes_to(id)
            }
            Call::Create(id) => self.refuses_writes_to(id),
            Call::Get(_) | Call::GetMany => self.refuse_reads.load(Ordering::SeqCst),
            _ => false,
        };
        if refused {
            return Err(StoreError::Unavailable("injected outage".into()));
        }
        Ok(())
    }
}

/// Appwrite as the action API sees it: users with labels, team members, and recorders for
/// executions and row updates, with switches to make each fail.
#[derive(Default)]
pub struct FakeAppwrite {
    pub labels: Mutex<HashMap<String, Vec<String>>>,
    pub members: Mutex<Vec<(String, String)>>,
    pub directory_calls: AtomicUsize,
    pub directory_down: Mutex<bool>,
    pub executions: Mutex<Vec<(String, Value)>>,
    pub executions_down: Mutex<bool>,
    /// Runs when an execution is created, before its id is answered (function, body, id): what
    /// the started worker does at once, e.g. its `start` winning the race with the action.
    #[allow(clippy::type_complexity)]
    pub on_execution: Mutex<Option<Box<dyn Fn(&str, &Value, &str) + Send>>>,
    pub row_updates: Mutex<Vec<(String, String, String, Value)>>,
}

impl Directory for FakeAppwrite {
    fn user_labels(&self, user_id: &str) -> Result<Vec<String>, UpstreamError> {
        self.directory_calls.fetch_add(1, Ordering::SeqCst);
        if *self.directory_down.lock().unwrap() {
            return Err(UpstreamError::Unavailable("fake outage".into()));
        }
        Ok(self
            .labels
            .lock()
            .unwrap()
            .get(user_id)
            .cloned()
            .unwrap_or_default())
    }
    fn is_team_member(&self, team_id: &str, user_id: &str) -> Result<bool, UpstreamError> {
        self.directory_calls.fetch_add(1, Ordering::SeqCst);
        if *self.directory_down.lock().unwrap() {
            return Err(UpstreamError::Unavailable("fake outage".into()));
        }
        Ok(self
            .members
            .lock()
            .unwrap()
            .iter()
            .any(|(t, u)| t == team_id && u == user_id))
    }
}

impl Executions for FakeAppwrite {
    fn create_execution(&self, function_id: &str, body: &str) -> Result<String, UpstreamError> {
        if *self.executions_down.lock().unwrap() {
            return Err(UpstreamError::Refused {
                status: 404,
                message: "function not found".into(),
            });
        }
        let body: Value = serde_json::from_str(body).expect("execution body is JSON");
        let id = {
            let mut executions = self.executions.lock().unwrap();
            executions.push((function_id.to_owned(), body.clone()));
            format!("exec{}", executions.len())
        };
        if let Some(started) = self.on_execution.lock().unwrap().as_ref() {
            started(function_id, &body, &id);
        }
        Ok(id)
    }
}

impl Rows for FakeAppwrite {
    fn update_row(
        &self,
        database: &str,
        table: &str,
        row: &str,
        data: &Value,
    ) -> Result<(), UpstreamError> {
        self.row_updates.lock().unwrap().push((
            database.into(),
            table.into(),
            row.into(),
            data.clone(),
        ));
        Ok(())
    }
}

pub struct TestApp {
    pub store: Arc<CountingStore>,
    pub platform: Platform,
    pub fake: FakeAppwrite,
    pub roles: RoleCache,
    clock: Arc<Mutex<Timestamp>>,
}

/// A fresh app with [`BASE_VARS`] plus `vars`; `alice` is an operator and `victor` a viewer by
/// label, `nora` has no role.
pub fn spawn_app(vars: &[(&str, &str)]) -> TestApp {
    let mut env: HashMap<String, String> = BASE_VARS
        .iter()
        .chain(vars)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.retain(|_, v| !v.is_empty());
    let store = Arc::new(Layered {
        inner: MemoryStore::new(),
        hook: Counter::default(),
    });
    let start: Timestamp = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let clock = Arc::new(Mutex::new(start));
    let now = clock.clone();
    let mut platform = Platform::new(store.clone(), Arc::new(move |k| env.get(k).cloned()));
    platform.clock = Arc::new(move || *now.lock().unwrap());
    let fake = FakeAppwrite::default();
    fake.labels
        .lock()
        .unwrap()
        .insert(OPERATOR.into(), vec!["jobsoperator".into()]);
    fake.labels
        .lock()
        .unwrap()
        .insert(VIEWER.into(), vec!["jobsviewer".into()]);
    TestApp {
        store,
        platform,
        fake,
        roles: RoleCache::new(),
        clock,
    }
}

/// Every job's revision and log length: equal before and after a request means it wrote nothing.
pub type Snapshot = Vec<(String, u64, usize)>;

impl TestApp {
    pub fn now(&self) -> Timestamp {
        *self.clock.lock().unwrap()
    }

    pub fn advance(&self, seconds: i64) {
        *self.clock.lock().unwrap() += Duration::seconds(seconds);
    }

    fn act(&self) -> Act<'_> {
        Act::new(self.store.as_ref(), "function:test-worker", self.now())
    }

    /// A job of `job_type` brought to `status` the way workers and users would, one second
    /// after the previous one so the newest-first order is known.
    pub fn seed(&self, job_type: JobType, status: JobStatus, reference: &str) -> Job {
        self.advance(1);
        let act = self.act();
        let job = usecase::start(
            &act,
            job_type,
            Start {
                reference_id: reference.into(),
                total: Some(200),
                ..Start::default()
            },
        )
        .expect("start")
        .job;
        self.advance(1);
        let act = self.act();
        usecase::progress(
            &act,
            &job.id,
            Progress {
                done: Some(50),
                checkpoint: Some(json!({"offset": 50})),
                ..Progress::default()
            },
        )
        .expect("progress");
        let id = job.id.as_str();
        let job = match status {
            JobStatus::Running => self.store.inner.get(id).unwrap(),
            JobStatus::Paused => usecase::control(&act, id, Event::Pause, None).unwrap(),
            JobStatus::Queued => {
                usecase::control(&act, id, Event::Pause, None).unwrap();
                usecase::control(&act, id, Event::Resume, None).unwrap()
            }
            JobStatus::Completed => {
                let mut result = Map::new();
                result.insert("sent".into(), json!(200));
                usecase::complete(&act, id, result, None, None).unwrap()
            }
            JobStatus::Failed => usecase::fail(&act, id, "SES throttled", None, None).unwrap(),
            JobStatus::Cancelled => usecase::control(&act, id, Event::Cancel, None).unwrap(),
        };
        assert_eq!(job.status, status);
        job
    }

    pub fn snapshot(&self) -> Snapshot {
        let page = self
            .store
            .inner
            .list(&JobQuery {
                limit: MAX_PAGE,
                ..JobQuery::default()
            })
            .unwrap();
        let mut snap: Snapshot = page
            .jobs
            .iter()
            .map(|j| {
                let events = self.store.inner.events(&j.id, 10_000).unwrap().len();
                (j.id.clone(), j.rev, events)
            })
            .collect();
        snap.sort();
        snap
    }

    pub fn store_calls(&self) -> usize {
        self.store.hook.calls.load(Ordering::SeqCst)
    }

    pub fn get(&self, path: &str) -> Request<'_> {
        self.request("GET", path)
    }

    pub fn post(&self, path: &str) -> Request<'_> {
        self.request("POST", path)
    }

    pub fn request(&self, method: &str, path: &str) -> Request<'_> {
        Request {
            app: self,
            method: method.into(),
            path: path.into(),
            headers: HashMap::from([
                ("x-appwrite-trigger".to_owned(), "http".to_owned()),
                ("content-type".to_owned(), "application/json".to_owned()),
            ]),
            body: Vec::new(),
        }
    }
}

pub struct Request<'a> {
    app: &'a TestApp,
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Request<'_> {
    pub fn user(self, user: &str) -> Self {
        self.header("x-appwrite-user-id", user)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self
    }

    pub fn json(self, body: Value) -> Self {
        let text = body.to_string();
        self.body(&text)
    }

    pub fn send(self) -> TestResponse {
        let mut ctx = Context::new(Logger::new("disabled", Some("test".into())).unwrap());
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        ctx.req.method = self.method;
        ctx.req.path = path.to_owned();
        ctx.req.query_string = query.to_owned();
        ctx.req.headers = self.headers;
        ctx.req.set_body_binary(self.body);
        let services = Services {
            directory: &self.app.fake,
            executions: &self.app.fake,
            rows: &self.app.fake,
            roles: &self.app.roles,
        };
        let response = handle_with(ctx, &self.app.platform, &services);
        let body = String::from_utf8(response.body).expect("UTF-8 body");
        let json = serde_json::from_str(&body).unwrap_or(Value::Null);
        TestResponse {
            status: response.status_code,
            headers: response.headers,
            body,
            json,
        }
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub json: Value,
}

impl TestResponse {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    /// The field an error body names.
    pub fn field(&self) -> &str {
        self.json["error"]["field"].as_str().unwrap_or("")
    }

    pub fn job_ids(&self) -> Vec<String> {
        self.json["jobs"]
            .as_array()
            .expect("a jobs array")
            .iter()
            .map(|j| j["$id"].as_str().unwrap().to_owned())
            .collect()
    }
}
