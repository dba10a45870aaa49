//! A world for the matrices: every function's handler on one SQLite store with a fixed clock,
//! fake Appwrite services for job-actions (labels, executions, rows), requests built the way the
//! runtime builds them, and a snapshot of everything stored so a test can prove a request
//! wrote nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use job_actions::auth::RoleCache;
use job_actions::upstream::{Directory, Executions, Rows, UpstreamError};
use job_actions::Services;
use openruntimes::{Context, Logger};
use serde_json::{json, Map, Value};
use shared::job::{Event, Job, JobStatus, JobType, Timestamp};
use shared::platform::Platform;
use shared::store::{JobQuery, JobStore, Scope};
use shared::usecase::{self, Act, Progress, Start};
use sqlite_store::SqliteStore;

pub const OPERATOR: &str = "alice";
pub const VIEWER: &str = "victor";

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Hook(JobType),
    Actions,
    Retention,
    /// The execution observer, reached by Appwrite's webhook.
    Observer,
}

impl Endpoint {
    pub const HOOKS: [Endpoint; 4] = [
        Endpoint::Hook(JobType::CampaignRun),
        Endpoint::Hook(JobType::BulkVerify),
        Endpoint::Hook(JobType::SqsPoll),
        Endpoint::Hook(JobType::MetricsFetch),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Hook(t) => t.hook_function(),
            Endpoint::Actions => "job-actions",
            Endpoint::Retention => "job-retention",
            Endpoint::Observer => "job-observer",
        }
    }
}

/// Appwrite as job-actions sees it: `alice` is an operator and `victor` a viewer by label;
/// executions and row updates are recorded (a bad request must trigger none).
#[derive(Default)]
pub struct Upstream {
    pub executions: Mutex<Vec<String>>,
    pub row_updates: Mutex<Vec<String>>,
}

impl Directory for Upstream {
    fn user_labels(&self, user_id: &str) -> Result<Vec<String>, UpstreamError> {
        Ok(match user_id {
            OPERATOR => vec!["jobsoperator".into()],
            VIEWER => vec!["jobsviewer".into()],
            _ => Vec::new(),
        })
    }
    fn is_team_member(&self, _team: &str, _user: &str) -> Result<bool, UpstreamError> {
        Ok(false)
    }
}

impl Executions for Upstream {
    fn create_execution(&self, function_id: &str, _body: &str) -> Result<String, UpstreamError> {
        let mut e = self.executions.lock().unwrap();
        e.push(function_id.to_owned());
        Ok(format!("exec{}", e.len()))
    }
}

impl Rows for Upstream {
    fn update_row(&self, _d: &str, _t: &str, row: &str, _v: &Value) -> Result<(), UpstreamError> {
        self.row_updates.lock().unwrap().push(row.to_owned());
        Ok(())
    }
}

pub struct World {
    pub store: Arc<SqliteStore>,
    pub platform: Platform,
    pub upstream: Upstream,
    pub roles: RoleCache,
    pub now: Timestamp,
}

/// One request, as the runtime hands it to a handler.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    /// A server call of a hook or the sweeper: trigger `http`, empty user id (what Appwrite
    /// sends for API keys and functions).
    pub fn server(method: &str, path: &str, body: impl Into<Vec<u8>>) -> Req {
        Req {
            method: method.into(),
            path: path.into(),
            headers: vec![
                ("x-appwrite-trigger".into(), "http".into()),
                ("x-appwrite-user-id".into(), String::new()),
                ("content-type".into(), "application/json".into()),
            ],
            body: body.into(),
        }
    }

    /// A dashboard call of job-actions by `user`.
    pub fn user(user: &str, method: &str, path: &str, body: impl Into<Vec<u8>>) -> Req {
        Req::server(method, path, body).header("x-appwrite-user-id", user)
    }

    /// Sets (or replaces) a header; an empty name removes nothing and adds nothing.
    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn without(mut self, name: &str) -> Req {
        self.headers.retain(|(n, _)| n != name);
        self
    }
}

#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub body: String,
    pub json: Value,
}

impl Res {
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
    pub fn field(&self) -> Option<&str> {
        self.json["error"]["field"].as_str()
    }
}

/// Everything stored: each job as JSON (with its `rev`) and each job's full log.
pub type Snapshot = Vec<(Value, Vec<Value>)>;

/// The observer's webhook: its URL and signature key.
pub const WEBHOOK_URL: &str = "https://observer.example.test/";
pub const WEBHOOK_SECRET: &str = "matrix-webhook-secret-0123456789";

/// The variables every function sees: label roles for job-actions, the observer's webhook and
/// one un-adopted function (`sqs-poller`) for it to mirror.
const VARS: &[(&str, &str)] = &[
    ("JOBS_OPERATOR_LABELS", "jobsoperator"),
    ("JOBS_VIEWER_LABELS", "jobsviewer"),
    ("JOBS_WORKER_CAMPAIGN_RUN", "orchestrator"),
    ("JOBS_OBSERVER_URL", WEBHOOK_URL),
    ("JOBS_OBSERVER_SECRET", WEBHOOK_SECRET),
    ("JOBS_OBSERVE_SQS_POLLER", "SQS_POLL"),
];

impl World {
    pub fn new() -> World {
        World::with_vars(&[])
    }

    pub fn with_vars(extra: &[(&str, &str)]) -> World {
        let env: HashMap<String, String> = VARS
            .iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let store = Arc::new(SqliteStore::in_memory().expect("sqlite store"));
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap();
        let mut platform = Platform::new(store.clone(), Arc::new(move |k| env.get(k).cloned()));
        // A fixed instant: the sweeper finds nothing stalled, so any write it made would be
        // one a request caused.
        platform.clock = Arc::new(move || now);
        World {
            store,
            platform,
            upstream: Upstream::default(),
            roles: RoleCache::new(),
            now,
        }
    }

    /// A job of `job_type` brought to `status` the way workers and users would.
    pub fn seed(&self, job_type: JobType, status: JobStatus, reference: &str) -> Job {
        let act = Act::new(self.store.as_ref(), "function:seed", self.now);
        let id = usecase::start(
            &act,
            job_type,
            Start {
                reference_id: reference.into(),
                total: Some(200),
                ..Start::default()
            },
        )
        .expect("start")
        .job
        .id;
        usecase::progress(
            &act,
            &id,
            Progress {
                done: Some(50),
                checkpoint: Some(json!({"offset": 50})),
                ..Progress::default()
            },
        )
        .expect("progress");
        let job = match status {
            JobStatus::Running => self.store.get(&id).unwrap(),
            JobStatus::Paused => usecase::control(&act, &id, Event::Pause, None).unwrap(),
            JobStatus::Queued => {
                usecase::control(&act, &id, Event::Pause, None).unwrap();
                usecase::control(&act, &id, Event::Resume, None).unwrap()
            }
            JobStatus::Completed => usecase::complete(&act, &id, Map::new(), None, None).unwrap(),
            JobStatus::Failed => usecase::fail(&act, &id, "SES throttled", None, None).unwrap(),
            JobStatus::Cancelled => usecase::control(&act, &id, Event::Cancel, None).unwrap(),
        };
        assert_eq!(job.status, status);
        job
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut out = Vec::new();
        let mut query = JobQuery {
            scope: Scope::All,
            limit: 500,
            ..JobQuery::default()
        };
        loop {
            let page = self.store.list(&query).expect("list");
            for job in page.jobs {
                let events = self
                    .store
                    .events(&job.id, 100_000)
                    .expect("events")
                    .iter()
                    .map(|e| serde_json::to_value(e).unwrap())
                    .collect();
                out.push((serde_json::to_value(&job).unwrap(), events));
            }
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
        out.sort_by(|a, b| a.0["$id"].as_str().cmp(&b.0["$id"].as_str()));
        out
    }

    /// Calls `endpoint`'s handler with `req`, no socket.
    pub fn call(&self, endpoint: Endpoint, req: &Req) -> Res {
        let mut ctx = Context::new(Logger::new("disabled", Some("matrix".into())).unwrap());
        let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
        ctx.req.method = req.method.clone();
        ctx.req.path = path.to_owned();
        ctx.req.query_string = query.to_owned();
        ctx.req.headers = req.headers.iter().cloned().collect();
        ctx.req.set_body_binary(req.body.clone());
        let p = &self.platform;
        let response = match endpoint {
            Endpoint::Hook(JobType::CampaignRun) => hook_campaign_run::handle(ctx, p),
            Endpoint::Hook(JobType::BulkVerify) => hook_bulk_verify::handle(ctx, p),
            Endpoint::Hook(JobType::SqsPoll) => hook_sqs_poll::handle(ctx, p),
            Endpoint::Hook(JobType::MetricsFetch) => hook_metrics_fetch::handle(ctx, p),
            Endpoint::Actions => {
                let services = Services {
                    directory: &self.upstream,
                    executions: &self.upstream,
                    rows: &self.upstream,
                    roles: &self.roles,
                };
                job_actions::handle_with(ctx, p, &services)
            }
            Endpoint::Retention => job_retention::handle(ctx, p),
            Endpoint::Observer => job_observer::handle(ctx, p),
        };
        let body = String::from_utf8_lossy(&response.body).into_owned();
        let json = serde_json::from_str(&body).unwrap_or(Value::Null);
        Res {
            status: response.status_code,
            body,
            json,
        }
    }

    /// Nothing reached Appwrite besides role lookups: no re-triggered worker, no campaign row.
    pub fn upstream_untouched(&self) -> bool {
        self.upstream.executions.lock().unwrap().is_empty()
            && self.upstream.row_updates.lock().unwrap().is_empty()
    }
}
