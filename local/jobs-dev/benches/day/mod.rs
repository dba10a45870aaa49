//! A day at Pivotr Mailer as the docs deploy Job Manager, driven through `jobs-dev` (Appwrite's
//! executions endpoint, the runtime shim, the deployed handlers) on the fake Appwrite, with a
//! store per execution as deployed and a simulated clock. Every execution is counted where it is
//! sent, every Appwrite request by the fake's counters; the few parts no local stand-in serves
//! yet are counted from their stated rule (`ledger`). Shared by `benches/cost.rs` (the full
//! day, for BENCHMARKS.md) and the `cost` test (a reduced day). `docs/cost.md` explains it.
//!
//! This file drives the parts and measures them ([`measure`]); `ledger` prices a scenario (the
//! day as deployed, with levers, the fair baseline, growth) from those measurements.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use fake_appwrite::FakeAppwrite;
use serde_json::{json, Value};
use shared::hooks::{ProgressRequest, StartRequest};
use shared::job::{Control, Timestamp};
use shared::observer::{Execution, Observed};
use shared::store::appwrite::AppwriteStore;
use shared::store::JobStore;
use shared::tracker::{AppwriteTransport, Coalescing, JobTracker};
use shared::usecase::Act;

pub mod ledger;

/// The day's workload. [`Day::full`] is Pivotr's day; tests shrink it.
#[derive(Debug, Clone, Copy)]
pub struct Day {
    pub campaigns: u64,
    pub emails: u64,
    /// SES's default production rate is 14 emails a second.
    pub emails_per_second: u64,
    pub verifications: u64,
    pub leads: u64,
    /// The verifier reports after this many leads.
    pub leads_per_report: u64,
    pub leads_per_second: u64,
    /// Campaigns paused once half-way and resumed.
    pub pauses: u64,
    /// Verifications whose execution dies (a timeout) just past 60 % and which are retried.
    pub retries: u64,
    /// SQS poller runs (one a minute).
    pub sqs_runs: u64,
    /// Metrics fetches (one an hour).
    pub metrics_runs: u64,
    pub tabs: u64,
    /// Hours each tab is open and visible.
    pub tab_hours: u64,
    /// Minutes a day someone has the Schedules view open.
    pub schedules_minutes: u64,
    /// Minutes of the day the retention sweeper covers (a day: 1,440).
    pub day_minutes: u64,
}

impl Day {
    pub fn full() -> Day {
        Day {
            campaigns: 10,
            emails: 10_000,
            emails_per_second: 14,
            verifications: 2,
            leads: 50_000,
            leads_per_report: 100,
            leads_per_second: 100,
            pauses: 3,
            retries: 1,
            sqs_runs: 24 * 60,
            metrics_runs: 24,
            tabs: 3,
            tab_hours: 8,
            schedules_minutes: 20,
            day_minutes: 24 * 60,
        }
    }
}

/// Executions and Appwrite requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    pub executions: u64,
    pub requests: u64,
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            executions: self.executions + o.executions,
            requests: self.requests + o.requests,
        }
    }
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        *self = *self + o;
    }
}

impl std::ops::Mul<u64> for Cost {
    type Output = Cost;
    fn mul(self, n: u64) -> Cost {
        Cost {
            executions: self.executions * n,
            requests: self.requests * n,
        }
    }
}

impl Cost {
    pub fn new(executions: u64, requests: u64) -> Cost {
        Cost {
            executions,
            requests,
        }
    }

    /// `self` (measured over `of` units) scaled to `n` units, rounded.
    pub fn scaled(self, of: u64, n: u64) -> Cost {
        let s = |v: u64| (v as f64 * n as f64 / of.max(1) as f64).round() as u64;
        Cost::new(s(self.executions), s(self.requests))
    }
}

/// How a worker is triggered, which decides the events Appwrite emits for its execution: one
/// created through the executions API (the Mailer's trigger, a re-trigger) emits `create` and
/// `update`; a scheduled run only `update` (docs/appwrite-notes.md § Webhooks and execution
/// events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Api,
    Schedule,
}

/// One worker execution of the day and what each delivery of its events cost the observer.
#[derive(Debug, Clone)]
pub struct WorkerExecution {
    pub function: &'static str,
    pub trigger: Trigger,
    /// The `create` delivery (API-created executions only).
    pub create: Option<Cost>,
    pub update: Cost,
}

/// How a verification's tracker sends its checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// A new checkpoint sent once the last call is 1 s old (the window before issue 30).
    OneSecond,
    /// A new checkpoint rides on the next call the 2 s interval sends (the default now).
    Interval,
    /// No client: a hook call on every report (the fair baseline).
    EveryReport,
}

/// How the SQS poller reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poller {
    /// `start` then `heartbeat` after polling, as `clients/node/workers/sqs-poller.js`.
    StartAndHeartbeat,
    /// `start` only: it refreshes the polling job's heartbeat and answers `control`.
    StartOnly,
}

/// What the day's driven parts cost, per variant.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub day: Option<Day>,
    /// Campaigns of `day.emails`, claims per 1 % batch, none paused.
    pub campaigns: Cost,
    /// One campaign of each size of the growth table: (emails, cost).
    pub campaign_sizes: Vec<(u64, Cost)>,
    /// Verifications per window (the retried one's redone reports included).
    pub verifications: Vec<(Window, Cost, u64)>,
    /// Pauses and resumes of campaigns: the actions, the worker's `paused`, the claim answered
    /// `pause`, the resumed run's `start`.
    pub pauses: Cost,
    /// The retried verification: the retry action and the re-triggered run's `start`.
    pub retry: Cost,
    pub poller: Vec<(Poller, Cost)>,
    pub metrics: Cost,
    /// One tab over `day.tab_hours`: Realtime up, socket down, the baseline's poll.
    pub tab_realtime: Cost,
    pub tab_polling: Cost,
    pub tab_baseline: Cost,
    /// Role lookups (`GET user` + `GET memberships`) of those tabs' executions.
    pub lookups_realtime: u64,
    pub lookups_polling: u64,
    pub lookups_baseline: u64,
    pub lookups_actions: u64,
    /// Sweeps every 5 and every 15 minutes over the day.
    pub sweeps_5: Cost,
    pub sweeps_15: Cost,
    pub executions: Vec<WorkerExecution>,
    /// Functions of `appwrite.json` the run executed.
    pub exercised: BTreeSet<String>,
}

/// What job-actions' role lookup costs with `deploy.json`'s roles for a user in the
/// `jobs-operators` team: `GET /v1/users/{id}` (labels are checked first) and `GET
/// /v1/teams/jobs-operators/memberships` (`functions/job-actions/src/auth.rs`, `resolve`).
pub const LOOKUP_REQUESTS: u64 = 2;
/// How long a warm job-actions keeps a role (`JOBS_ROLE_CACHE_SECONDS`, default 30).
const ROLE_CACHE_MS: i64 = 30_000;
/// The dashboard's timers (`dashboard/assets/api.js`): poll while the socket is down, resync
/// while it is up; the counts reloaded once a minute of polling (`dashboard/assets/list.js`).
const POLL_MS: i64 = 5_000;
const RESYNC_MS: i64 = 600_000;

struct World {
    fake: FakeAppwrite,
    vars: std::collections::HashMap<String, String>,
    url: String,
    key: String,
    now: Arc<AtomicI64>,
    http: reqwest::blocking::Client,
    next_execution: AtomicU64,
    exercised: Mutex<BTreeSet<String>>,
}

impl World {
    fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    fn now(&self) -> Timestamp {
        Utc.timestamp_millis_opt(self.now.load(Ordering::SeqCst))
            .single()
            .unwrap_or_else(Utc::now)
    }

    fn clock(&self) -> Arc<dyn Fn() -> Timestamp + Send + Sync> {
        let now = self.now.clone();
        Arc::new(move || {
            Utc.timestamp_millis_opt(now.load(Ordering::SeqCst))
                .single()
                .unwrap_or_else(Utc::now)
        })
    }

    fn execution_id(&self) -> String {
        format!("exec{}", self.next_execution.fetch_add(1, Ordering::SeqCst))
    }

    fn exercised(&self, function: &str) {
        self.exercised
            .lock()
            .expect("exercised")
            .insert(function.to_owned());
    }

    /// A worker execution's tracker on `hook`, coalescing as `window` says.
    fn tracker(&self, hook: &str, execution: &str, window: Window) -> JobTracker {
        self.exercised(hook);
        let transport = AppwriteTransport::new(
            &format!("{}/v1", self.url),
            "jobmanager",
            &self.key,
            hook,
            Some(format!("cost-{hook}")),
        )
        .expect("transport");
        let tracker = JobTracker::with_clock(Arc::new(transport), self.clock())
            .execution_id(Some(execution.to_owned()));
        match window {
            Window::Interval => tracker,
            Window::OneSecond => tracker.checkpoint_window(Duration::seconds(1)),
            Window::EveryReport => tracker
                .coalescing(Coalescing {
                    interval: Duration::zero(),
                    fire_and_forget: false,
                })
                .checkpoint_window(Duration::zero()),
        }
    }

    /// One execution of `function`: the dashboard's user (`key: false`) or a server; answers
    /// the function's status and JSON body.
    fn execute(&self, function: &str, key: bool, method: &str, path: &str, body: Value) -> Value {
        self.exercised(function);
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let mut req = self
            .http
            .post(format!("{}/v1/functions/{function}/executions", self.url))
            .header("x-appwrite-project", "jobmanager")
            .json(&json!({"body": body, "async": false, "path": path, "method": method}));
        if key {
            req = req.header("x-appwrite-key", &self.key);
        }
        let execution: Value = req.send().expect("execution").json().expect("JSON");
        let code = execution["responseStatusCode"].as_u64().unwrap_or(0);
        assert!(code < 300, "{function} {path} answered {code}: {execution}");
        serde_json::from_str(execution["responseBody"].as_str().unwrap_or("null"))
            .unwrap_or(Value::Null)
    }

    /// Runs `f` and answers the Appwrite requests it caused.
    fn requests<T>(&self, f: impl FnOnce() -> T) -> (T, u64) {
        let before = self.fake.total_requests();
        let out = f();
        (out, self.fake.total_requests() - before)
    }

    /// Delivers one execution event to the observer's rules (`shared::observer::observe`, what
    /// `job-observer` runs once the signature passed) on a new store, as an execution would.
    fn deliver(&self, function: &str, execution: &str, trigger: Trigger, status: &str) -> Cost {
        self.exercised("job-observer");
        let doc = json!({
            "$id": execution,
            "functionId": function,
            "trigger": if trigger == Trigger::Api { "http" } else { "schedule" },
            "status": status,
            "responseStatusCode": if status == "failed" { 500 } else if status == "completed" { 200 } else { 0 },
            "errors": if status == "failed" { "Operation timed out" } else { "" },
            "duration": if status == "waiting" { 0.0 } else { 1.0 },
        });
        let exec = Execution::parse(doc.to_string().as_bytes()).expect("execution document");
        let store = self.store();
        let (_, requests) = self.requests(|| {
            let act = Act::new(&store, "function:job-observer", self.now());
            shared::observer::observe(&act, Observed::Worker, &exec).expect("observe")
        });
        Cost::new(1, requests)
    }

    fn store(&self) -> AppwriteStore {
        AppwriteStore::from_lookup(|k| self.vars.get(k).cloned()).expect("store")
    }

    /// A worker execution's end: both deliveries measured (the observer's subscription decides
    /// later which are made).
    fn ended(
        &self,
        function: &'static str,
        id: &str,
        trigger: Trigger,
        status: &str,
    ) -> WorkerExecution {
        let create =
            (trigger == Trigger::Api).then(|| self.deliver(function, id, trigger, "waiting"));
        let update = self.deliver(function, id, trigger, status);
        WorkerExecution {
            function,
            trigger,
            create,
            update,
        }
    }
}

/// Adds a tracker call's execution and requests to `cost`.
macro_rules! call {
    ($w:expr, $cost:expr, $t:expr, $call:expr) => {{
        let calls = $t.calls();
        let (out, requests) = $w.requests(|| $call);
        $cost.executions += ($t.calls() - calls) as u64;
        $cost.requests += requests;
        out
    }};
}

/// An action of the dashboard's user on `job-actions`; its cost to `cost`.
fn act(w: &World, cost: &mut Cost, path: &str) -> Value {
    let (answer, requests) =
        w.requests(|| w.execute("job-actions", false, "POST", path, json!({})));
    *cost += Cost::new(1, requests);
    answer
}

/// A campaign as docs/adopting.md § 3 writes the orchestrator: `start` with its key, a claim
/// before every batch of 1 % (at least 10 emails), `complete`. Paused before the claim of
/// `pause_at` when given, confirmed with `paused`, resumed from the dashboard; the resumed run
/// `start`s from the job's checkpoint. Answers (campaign cost, pause cost, executions).
fn campaign(
    w: &World,
    reference: &str,
    emails: u64,
    rate: u64,
    pause_at: Option<u64>,
) -> (Cost, Cost, Vec<WorkerExecution>) {
    let (mut main, mut pause) = (Cost::default(), Cost::default());
    let mut executions = Vec::new();
    let batch = (emails.div_ceil(100)).max(10);
    let mut exec = w.execution_id();
    let mut t = w.tracker("hook-campaign-run", &exec, Window::Interval);
    call!(
        w,
        main,
        t,
        t.start(StartRequest {
            reference_id: reference.into(),
            total: Some(emails),
            idempotency_key: Some(format!("campaign:{reference}")),
            ..StartRequest::default()
        })
    )
    .expect("start");
    let id = t.job().expect("job").id.clone();
    let mut cursor = 0;
    let mut pause_at = pause_at;
    while cursor < emails {
        let next = (cursor + batch).min(emails);
        if pause_at.is_some_and(|at| cursor >= at) {
            pause_at = None;
            act(w, &mut pause, &format!("/v1/jobs/{id}/pause"));
            let answer = call!(
                w,
                pause,
                t,
                t.claim(cursor, next, json!({"cursor": next, "sent": next}), None)
            )
            .expect("claim");
            assert_eq!(answer, Control::Pause);
            call!(
                w,
                pause,
                t,
                t.paused(Some(json!({"cursor": cursor, "sent": cursor})), None)
            )
            .expect("paused");
            executions.push(w.ended("orchestrator", &exec, Trigger::Api, "completed"));
            let resumed = act(w, &mut pause, &format!("/v1/jobs/{id}/resume"));
            // The re-trigger: one execution of the orchestrator (job-actions' createExecution
            // and the link of its id are counted by the ledger: jobs-dev hosts no orchestrator).
            exec = w.execution_id();
            t = w.tracker("hook-campaign-run", &exec, Window::Interval);
            call!(
                w,
                pause,
                t,
                t.start(StartRequest {
                    reference_id: reference.into(),
                    job_id: Some(id.clone()),
                    run: resumed["job"]["run"].as_u64(),
                    ..StartRequest::default()
                })
            )
            .expect("resumed start");
            cursor = t
                .checkpoint()
                .and_then(|c| c["cursor"].as_u64())
                .unwrap_or(cursor);
            continue;
        }
        let answer = call!(
            w,
            main,
            t,
            t.claim(cursor, next, json!({"cursor": next, "sent": next}), None)
        )
        .expect("claim");
        assert_eq!(answer, Control::Continue);
        w.advance(((next - cursor) * 1000 / rate) as i64);
        cursor = next;
    }
    call!(w, main, t, t.complete(serde_json::Map::new(), None)).expect("complete");
    executions.push(w.ended("orchestrator", &exec, Trigger::Api, "completed"));
    (main, pause, executions)
}

/// A verification through the Rust client's coalesced progress: a report with the cursor and
/// counts every `per_report` leads. With `crash_at`, its execution dies there (a timeout; the
/// observer fails the job), it is retried from the dashboard, and the retry starts from the
/// stored checkpoint: the leads between it and the crash are verified again. Answers (its cost,
/// the retry's cost, leads redone, executions).
fn verification(
    w: &World,
    reference: &str,
    day: &Day,
    window: Window,
    crash_at: Option<u64>,
) -> (Cost, Cost, u64, Vec<WorkerExecution>) {
    let (mut main, mut retry) = (Cost::default(), Cost::default());
    let mut executions = Vec::new();
    let leads = day.leads;
    let mut exec = w.execution_id();
    let mut t = w.tracker("hook-bulk-verify", &exec, window);
    call!(
        w,
        main,
        t,
        t.start(StartRequest {
            reference_id: reference.into(),
            total: Some(leads),
            idempotency_key: Some(format!("bulk-verify:{reference}:1")),
            ..StartRequest::default()
        })
    )
    .expect("start");
    let mut done = 0;
    let mut redone = 0;
    let mut crash_at = crash_at;
    while done < leads {
        done = (done + day.leads_per_report).min(leads);
        w.advance((day.leads_per_report * 1000 / day.leads_per_second) as i64);
        if crash_at.is_some_and(|at| done >= at) {
            crash_at = None;
            let id = t.job().expect("job").id.clone();
            executions.push(w.ended("bulk-verify-leads", &exec, Trigger::Api, "failed"));
            let retried = act(w, &mut retry, &format!("/v1/jobs/{id}/retry"));
            exec = w.execution_id();
            t = w.tracker("hook-bulk-verify", &exec, window);
            call!(
                w,
                retry,
                t,
                t.start(StartRequest {
                    reference_id: reference.into(),
                    job_id: retried["job"]["$id"].as_str().map(str::to_owned),
                    run: retried["job"]["run"].as_u64(),
                    ..StartRequest::default()
                })
            )
            .expect("retried start");
            let from = t
                .checkpoint()
                .and_then(|c| c["cursor"].as_u64())
                .unwrap_or(0);
            redone += done - day.leads_per_report - from;
            done = from;
            continue;
        }
        call!(
            w,
            main,
            t,
            t.progress(ProgressRequest {
                done: Some(done),
                message: Some(format!("{done}/{leads} leads verified")),
                checkpoint: Some(json!({"cursor": done, "counts": {"valid": done}})),
                ..ProgressRequest::default()
            })
        )
        .expect("progress");
    }
    let mut result = serde_json::Map::new();
    result.insert("valid".into(), json!(leads));
    call!(w, main, t, t.complete(result, None)).expect("complete");
    executions.push(w.ended("bulk-verify-leads", &exec, Trigger::Api, "completed"));
    (main, retry, redone, executions)
}

/// The SQS poller's scheduled runs, a minute apart, each picking the long-lived job up.
fn poller(w: &World, runs: u64, mode: Poller) -> (Cost, Vec<WorkerExecution>) {
    let mut cost = Cost::default();
    let mut executions = Vec::new();
    for _ in 0..runs {
        let exec = w.execution_id();
        let mut t = w.tracker("hook-sqs-poll", &exec, Window::Interval);
        call!(
            w,
            cost,
            t,
            t.start(StartRequest {
                reference_id: "sqs-poller".into(),
                ..StartRequest::default()
            })
        )
        .expect("start");
        w.advance(20_000);
        if mode == Poller::StartAndHeartbeat {
            let mut details = serde_json::Map::new();
            details.insert("messagesProcessed".into(), json!(12));
            call!(w, cost, t, t.heartbeat(None, Some(details))).expect("heartbeat");
        }
        executions.push(w.ended("sqs-poller", &exec, Trigger::Schedule, "completed"));
        w.advance(40_000);
    }
    (cost, executions)
}

/// The hourly metrics fetch: `start` keyed by its execution id, `complete`.
fn metrics(w: &World, runs: u64) -> (Cost, Vec<WorkerExecution>) {
    let mut cost = Cost::default();
    let mut executions = Vec::new();
    for _ in 0..runs {
        let exec = w.execution_id();
        let mut t = w.tracker("hook-metrics-fetch", &exec, Window::Interval);
        call!(
            w,
            cost,
            t,
            t.start(StartRequest {
                reference_id: "aws-metrics".into(),
                idempotency_key: Some(format!("metrics-fetch:{exec}")),
                ..StartRequest::default()
            })
        )
        .expect("start");
        w.advance(2_000);
        call!(w, cost, t, t.complete(serde_json::Map::new(), None)).expect("complete");
        executions.push(w.ended("fetch-aws-metrics", &exec, Trigger::Schedule, "completed"));
        w.advance(3_598_000);
    }
    (cost, executions)
}

/// How a tab keeps its list current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    /// Realtime up: the first page and the counts, then a resync (changes since the last
    /// answer, and the counts) every `resyncMs`, as `dashboard/assets/list.js`.
    Realtime,
    /// Socket down: changes since the last answer every `pollMs`, the counts every minute.
    Polling,
    /// The fair baseline's dashboard: the first page every 5 s.
    Baseline,
}

/// One tab open for `hours`; answers its cost and its role lookups (one per execution whose
/// user's cached role expired).
fn tab(w: &World, hours: u64, mode: Tab) -> (Cost, u64) {
    let mut cost = Cost::default();
    let mut lookups = 0;
    let mut looked_up: Option<i64> = None;
    let mut run = |path: &str| -> Value {
        let now = w.now.load(Ordering::SeqCst);
        if looked_up.is_none_or(|at| now - at >= ROLE_CACHE_MS) {
            lookups += 1;
            looked_up = Some(now);
        }
        let (answer, requests) =
            w.requests(|| w.execute("job-actions", false, "GET", path, Value::Null));
        cost += Cost::new(1, requests);
        answer
    };
    let first = run("/v1/jobs?limit=50");
    let mut since = first["serverTime"].as_str().unwrap_or_default().to_owned();
    if mode != Tab::Baseline {
        run("/v1/jobs/summary");
    }
    let step = if mode == Tab::Realtime {
        RESYNC_MS
    } else {
        POLL_MS
    };
    let steps = hours as i64 * 3_600_000 / step;
    for n in 1..=steps {
        w.advance(step);
        if mode == Tab::Baseline {
            run("/v1/jobs?limit=50");
            continue;
        }
        let page = run(&format!("/v1/jobs?updatedSince={since}&limit=500"));
        since = page["serverTime"].as_str().unwrap_or_default().to_owned();
        if mode == Tab::Realtime || n % (60_000 / POLL_MS) == 0 {
            run("/v1/jobs/summary");
        }
    }
    (cost, lookups)
}

/// Retention sweeps every `minutes` over `day_minutes`.
fn sweeps(w: &World, day_minutes: u64, minutes: u64) -> Cost {
    let mut cost = Cost::default();
    for _ in 0..day_minutes / minutes {
        let (_, requests) =
            w.requests(|| w.execute("job-retention", true, "POST", "/", Value::Null));
        cost += Cost::new(1, requests);
        w.advance(minutes as i64 * 60_000);
    }
    cost
}

/// Drives every part of `day` in every variant the ledger prices, on one simulated timeline.
/// `sizes`: the campaign sizes of the growth table, one campaign each.
pub fn measure(day: Day, sizes: &[u64]) -> Measured {
    let fake = FakeAppwrite::start();
    let vars = fake.variables();
    let store_vars = vars.clone();
    let now = Arc::new(AtomicI64::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .expect("a valid start")
            .timestamp_millis(),
    ));
    let data = std::env::temp_dir().join(format!("jobs-dev-cost-{}", std::process::id()));
    let mut config = jobs_dev::DevConfig::from_lookup(|k| match k {
        "JOBS_DEV_PORT" => Some("0".into()),
        "JOBS_DEV_DEMO" => Some("0".into()),
        "JOBS_DEV_DATA_DIR" => Some(data.display().to_string()),
        _ => None,
    })
    .expect("dev config");
    config.demo = false;
    let key = config.key.clone();
    let clock_now = now.clone();
    let backend = jobs_dev::Backend {
        // A new store per execution, as `appwrite_platform` builds it on Appwrite: nothing
        // carries over between executions.
        store: Some(Arc::new(move || {
            let store = AppwriteStore::from_lookup(|k| store_vars.get(k).cloned()).expect("store");
            Arc::new(store) as Arc<dyn JobStore>
        })),
        clock: Some(Arc::new(move || {
            Utc.timestamp_millis_opt(clock_now.load(Ordering::SeqCst))
                .single()
                .unwrap_or_else(Utc::now)
        })),
        no_schedules: true,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dev = runtime
        .block_on(jobs_dev::start_on(config, backend))
        .expect("jobs-dev starts");
    let w = World {
        fake,
        vars,
        url: dev.url(),
        key,
        now,
        http: reqwest::blocking::Client::new(),
        next_execution: AtomicU64::new(1),
        exercised: Mutex::new(BTreeSet::new()),
    };

    let mut m = Measured {
        day: Some(day),
        ..Measured::default()
    };
    for c in 0..day.campaigns {
        // The paused campaigns' pauses are priced apart (`pauses`); their claims count here.
        let pause_at = (c < day.pauses).then_some(day.emails / 2);
        let (main, pause, execs) = campaign(
            &w,
            &format!("campaign-{c}"),
            day.emails,
            day.emails_per_second,
            pause_at,
        );
        m.campaigns += main;
        m.pauses += pause;
        m.executions.extend(execs);
    }
    for &size in sizes {
        let (cost, _, _) = campaign(
            &w,
            &format!("growth-{size}"),
            size,
            day.emails_per_second,
            None,
        );
        m.campaign_sizes.push((size, cost));
    }
    for (n, window) in [Window::OneSecond, Window::Interval, Window::EveryReport]
        .into_iter()
        .enumerate()
    {
        let (mut cost, mut redone) = (Cost::default(), 0);
        for v in 0..day.verifications {
            // Two reports past 60 %: one report after a percent step, so what a window
            // holds back shows.
            let crash = (v < day.retries).then_some(day.leads * 6 / 10 + 2 * day.leads_per_report);
            let (main, retry, r, execs) =
                verification(&w, &format!("leads-{n}-{v}"), &day, window, crash);
            cost += main;
            redone += r;
            // Executions, retries and the observer's deliveries are the same calls in every
            // window: kept once, from the window the docs deployed.
            if window == Window::OneSecond {
                m.retry += retry;
                m.executions.extend(execs);
            }
        }
        m.verifications.push((window, cost, redone));
    }
    for mode in [Poller::StartAndHeartbeat, Poller::StartOnly] {
        let (cost, execs) = poller(&w, day.sqs_runs, mode);
        m.poller.push((mode, cost));
        if mode == Poller::StartAndHeartbeat {
            m.executions.extend(execs);
        }
    }
    let (cost, execs) = metrics(&w, day.metrics_runs);
    m.metrics = cost;
    m.executions.extend(execs);
    (m.tab_realtime, m.lookups_realtime) = tab(&w, day.tab_hours, Tab::Realtime);
    (m.tab_polling, m.lookups_polling) = tab(&w, day.tab_hours, Tab::Polling);
    (m.tab_baseline, m.lookups_baseline) = tab(&w, day.tab_hours, Tab::Baseline);
    // Each action's user is looked up (the cache rarely holds between two actions).
    m.lookups_actions = day.pauses * 2 + day.retries;
    m.sweeps_5 = sweeps(&w, day.day_minutes, 5);
    m.sweeps_15 = sweeps(&w, day.day_minutes, 15);
    m.exercised = w.exercised.lock().expect("exercised").clone();

    runtime.block_on(dev.stop());
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let _ = std::fs::remove_dir_all(&data);
    m
}
