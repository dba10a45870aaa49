//! A day at Pivotr Mailer, driven through `jobs-dev` (Appwrite's executions endpoint, the
//! runtime shim, the deployed handlers) on the fake Appwrite, with a store per execution as
//! deployed and a simulated clock: every execution is counted where it is sent, every Appwrite
//! request by the fake's counters. Shared by `benches/cost.rs` (the full day, for
//! BENCHMARKS.md) and the `cost` test (a reduced day). `docs/cost.md` explains the model.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use fake_appwrite::FakeAppwrite;
use serde_json::{json, Value};
use shared::hooks::{HookAnswer, HookRequest, ProgressRequest, StartRequest};
use shared::job::{JobType, Timestamp};
use shared::store::appwrite::AppwriteStore;
use shared::store::JobStore;
use shared::tracker::{AppwriteTransport, JobTracker, TrackerError, Transport};

/// The day's workload. [`Day::full`] is the day; tests shrink it.
#[derive(Debug, Clone, Copy)]
pub struct Day {
    pub campaigns: u64,
    pub emails: u64,
    /// The orchestrator reports after this many emails.
    pub emails_per_report: u64,
    /// Simulated sending rate (SES's default production rate is 14 a second).
    pub emails_per_second: u64,
    pub verifications: u64,
    pub leads: u64,
    pub leads_per_report: u64,
    pub leads_per_second: u64,
    /// SQS poller runs (one a minute).
    pub sqs_runs: u64,
    /// Metrics fetches (one an hour).
    pub metrics_runs: u64,
    pub tabs: u64,
    /// Dashboard polls per tab (8 hours at one every 5 s: 5760).
    pub polls_per_tab: u64,
    pub poll_seconds: i64,
    /// Retention runs (one every 5 minutes).
    pub retention_runs: u64,
}

impl Day {
    pub fn full() -> Day {
        Day {
            campaigns: 10,
            emails: 10_000,
            emails_per_report: 100,
            emails_per_second: 14,
            verifications: 2,
            leads: 50_000,
            leads_per_report: 100,
            leads_per_second: 100,
            sqs_runs: 24 * 60,
            metrics_runs: 24,
            tabs: 3,
            polls_per_tab: 8 * 3600 / 5,
            poll_seconds: 5,
            retention_runs: 24 * 12,
        }
    }
}

/// One part of the day: what ours cost, measured, and what the naive integration would.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub executions: u64,
    pub requests: u64,
    pub naive_executions: u64,
    pub naive_requests: u64,
}

/// Counts the executions a tracker sends.
struct Counted {
    inner: AppwriteTransport,
    sent: std::sync::atomic::AtomicU64,
}

impl Transport for Counted {
    fn send(&self, request: &HookRequest, wait: bool) -> Result<Option<HookAnswer>, TrackerError> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request, wait)
    }
}

struct World {
    fake: FakeAppwrite,
    url: String,
    key: String,
    now: Arc<AtomicI64>,
    http: reqwest::blocking::Client,
}

impl World {
    fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    fn clock(&self) -> Arc<dyn Fn() -> Timestamp + Send + Sync> {
        let now = self.now.clone();
        Arc::new(move || {
            Utc.timestamp_millis_opt(now.load(Ordering::SeqCst))
                .single()
                .unwrap_or_else(Utc::now)
        })
    }

    fn tracker(&self, hook: &str) -> (JobTracker, Arc<Counted>) {
        let transport = Arc::new(Counted {
            inner: AppwriteTransport::new(
                &format!("{}/v1", self.url),
                "jobmanager",
                &self.key,
                hook,
                Some(format!("cost-{hook}")),
            )
            .expect("transport"),
            sent: Default::default(),
        });
        (
            JobTracker::with_clock(transport.clone(), self.clock()),
            transport,
        )
    }

    /// One execution of `function` (the dashboard as the development user, or a server with
    /// the key); answers the function's JSON body.
    fn execute(&self, function: &str, key: bool, method: &str, path: &str) -> Value {
        let mut req = self
            .http
            .post(format!("{}/v1/functions/{function}/executions", self.url))
            .header("x-appwrite-project", "jobmanager")
            .json(&json!({"body": "", "async": false, "path": path, "method": method}));
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
    fn requests(&self, f: impl FnOnce()) -> u64 {
        let before = self.fake.total_requests();
        f();
        self.fake.total_requests() - before
    }
}

/// A worker reporting `items` in batches of `per_report` at `per_second`: start, progress per
/// batch through the `JobTracker` (coalesced), complete. Answers executions and requests.
fn worker(
    w: &World,
    hook: &str,
    reference: &str,
    items: u64,
    per_report: u64,
    per_second: u64,
) -> (u64, u64) {
    let (mut tracker, sent) = w.tracker(hook);
    let requests = w.requests(|| {
        tracker
            .start(StartRequest {
                reference_id: reference.into(),
                total: Some(items),
                idempotency_key: Some(reference.into()),
                ..StartRequest::default()
            })
            .expect("start");
        let mut done = 0;
        while done < items {
            done = (done + per_report).min(items);
            w.advance((per_report * 1000 / per_second) as i64);
            tracker
                .progress(ProgressRequest {
                    done: Some(done),
                    message: Some(format!("{done}/{items}")),
                    checkpoint: Some(json!({"offset": done})),
                    ..ProgressRequest::default()
                })
                .expect("progress");
        }
        tracker
            .complete(serde_json::Map::new(), None)
            .expect("complete");
    });
    (sent.sent.load(Ordering::SeqCst), requests)
}

/// Runs the day; parts run one after another on one simulated timeline.
pub fn run(day: Day) -> Vec<Part> {
    let fake = FakeAppwrite::start();
    let vars = fake.variables();
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
            let store = AppwriteStore::from_lookup(|k| vars.get(k).cloned()).expect("store");
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
        url: dev.url(),
        key,
        now,
        http: reqwest::blocking::Client::new(),
    };

    let mut parts = Vec::new();
    // The naive integration's prices, measured in this run: a hook call per item that writes
    // (a progress call that moves the percent), plus a start and a complete per job.
    let (mut t, _) = w.tracker("hook-campaign-run");
    let start = w.requests(|| {
        t.start(StartRequest {
            reference_id: "calibration".into(),
            total: Some(100),
            idempotency_key: Some("calibration".into()),
            ..StartRequest::default()
        })
        .map(drop)
        .expect("start")
    });
    w.advance(1_000);
    let written = w.requests(|| {
        t.progress(ProgressRequest {
            done: Some(1),
            ..ProgressRequest::default()
        })
        .map(drop)
        .expect("progress")
    });
    let complete = w.requests(|| {
        t.complete(serde_json::Map::new(), None)
            .map(drop)
            .expect("complete")
    });
    let naive = |items: u64| (items + 2, items * written + start + complete);

    let (mut ex, mut rq) = (0, 0);
    for c in 0..day.campaigns {
        let (e, r) = worker(
            &w,
            "hook-campaign-run",
            &format!("campaign-{c}"),
            day.emails,
            day.emails_per_report,
            day.emails_per_second,
        );
        ex += e;
        rq += r;
    }
    let (ne, nr) = naive(day.emails);
    parts.push(Part {
        name: format!(
            "{} campaign runs of {} emails, a report every {}",
            day.campaigns, day.emails, day.emails_per_report
        ),
        executions: ex,
        requests: rq,
        naive_executions: ne * day.campaigns,
        naive_requests: nr * day.campaigns,
    });

    let (mut ex, mut rq) = (0, 0);
    for v in 0..day.verifications {
        let (e, r) = worker(
            &w,
            "hook-bulk-verify",
            &format!("leads-{v}"),
            day.leads,
            day.leads_per_report,
            day.leads_per_second,
        );
        ex += e;
        rq += r;
    }
    let (ne, nr) = naive(day.leads);
    parts.push(Part {
        name: format!(
            "{} bulk verifications of {} leads, a report every {}",
            day.verifications, day.leads, day.leads_per_report
        ),
        executions: ex,
        requests: rq,
        naive_executions: ne * day.verifications,
        naive_requests: nr * day.verifications,
    });

    // The poller: every run picks up its long-lived job and sends one heartbeat after polling.
    let (mut ex, mut rq) = (0, 0);
    for _ in 0..day.sqs_runs {
        let (mut t, sent) = w.tracker("hook-sqs-poll");
        rq += w.requests(|| {
            t.start(StartRequest {
                reference_id: "sqs-poller".into(),
                ..StartRequest::default()
            })
            .expect("start");
            w.advance(20_000);
            let mut details = serde_json::Map::new();
            details.insert("messagesProcessed".into(), json!(12));
            t.heartbeat(None, Some(details)).expect("heartbeat");
        });
        ex += sent.sent.load(Ordering::SeqCst);
        w.advance(40_000);
    }
    parts.push(Part {
        name: format!("SQS poller, {} runs (one a minute)", day.sqs_runs),
        executions: ex,
        requests: rq,
        // Per run: one start and one heartbeat either way; naive sends them uncoalesced too.
        naive_executions: ex,
        naive_requests: rq,
    });

    let (mut ex, mut rq) = (0, 0);
    for h in 0..day.metrics_runs {
        let (mut t, sent) = w.tracker("hook-metrics-fetch");
        rq += w.requests(|| {
            t.start(StartRequest {
                reference_id: "aws-metrics".into(),
                idempotency_key: Some(format!("metrics-fetch:{h}")),
                ..StartRequest::default()
            })
            .expect("start");
            w.advance(2_000);
            t.complete(serde_json::Map::new(), None).expect("complete");
        });
        ex += sent.sent.load(Ordering::SeqCst);
        w.advance(3_598_000);
    }
    parts.push(Part {
        name: format!("metrics fetch, {} runs (one an hour)", day.metrics_runs),
        executions: ex,
        requests: rq,
        naive_executions: ex,
        naive_requests: rq,
    });

    // Each tab: the first page, then every poll the jobs changed since the last answer and the
    // summary, as `dashboard/assets/list.js` does.
    let (mut ex, mut rq) = (0, 0);
    for _ in 0..day.tabs {
        rq += w.requests(|| {
            let first = w.execute("job-actions", false, "GET", "/v1/jobs?limit=50");
            w.execute("job-actions", false, "GET", "/v1/jobs/summary");
            ex += 2;
            let mut since = first["serverTime"].as_str().unwrap_or_default().to_owned();
            for _ in 0..day.polls_per_tab {
                w.advance(day.poll_seconds * 1000);
                let page = w.execute(
                    "job-actions",
                    false,
                    "GET",
                    &format!("/v1/jobs?updatedSince={since}&limit=500"),
                );
                since = page["serverTime"].as_str().unwrap_or_default().to_owned();
                w.execute("job-actions", false, "GET", "/v1/jobs/summary");
                ex += 2;
            }
        });
    }
    let polls = day.tabs * (day.polls_per_tab + 1);
    parts.push(Part {
        name: format!(
            "{} dashboard tabs, a poll every {} s ({} polls each)",
            day.tabs, day.poll_seconds, day.polls_per_tab
        ),
        executions: ex,
        requests: rq,
        // Naive: the same polls, a full first page and the summary as one counted list per
        // (type, status) pair.
        naive_executions: polls * 2,
        naive_requests: polls
            * (1 + (JobType::ALL.len() * shared::job::JobStatus::ALL.len()) as u64),
    });

    let (mut ex, mut rq) = (0, 0);
    for _ in 0..day.retention_runs {
        rq += w.requests(|| {
            w.execute("job-retention", true, "POST", "/");
        });
        ex += 1;
        w.advance(300_000);
    }
    parts.push(Part {
        name: format!(
            "retention, {} runs (one every 5 minutes)",
            day.retention_runs
        ),
        executions: ex,
        requests: rq,
        naive_executions: ex,
        naive_requests: rq,
    });

    runtime.block_on(dev.stop());
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let _ = std::fs::remove_dir_all(&data);
    parts
}

/// The Markdown table: per part, ours and naive per day, then the day's and a 30-day month's
/// totals.
pub fn table(parts: &[Part]) -> String {
    let mut out = String::from(
        "| part of the day | executions (ours) | Appwrite requests (ours) | executions (naive) | Appwrite requests (naive) |\n|---|---:|---:|---:|---:|\n",
    );
    let (mut e, mut r, mut ne, mut nr) = (0, 0, 0, 0);
    for p in parts {
        out += &format!(
            "| {} | {} | {} | {} | {} |\n",
            p.name, p.executions, p.requests, p.naive_executions, p.naive_requests
        );
        e += p.executions;
        r += p.requests;
        ne += p.naive_executions;
        nr += p.naive_requests;
    }
    out += &format!("| **a day** | **{e}** | **{r}** | **{ne}** | **{nr}** |\n");
    out += &format!(
        "| **a 30-day month** | **{}** | **{}** | **{}** | **{}** |\n",
        e * 30,
        r * 30,
        ne * 30,
        nr * 30
    );
    out
}
