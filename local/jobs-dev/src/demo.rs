//! Demo workers: they make the dashboard come alive on a laptop. Each one is a plain Rust worker
//! using `shared::tracker::JobTracker` over `AppwriteTransport`, so it calls the hooks through
//! the dev server's executions endpoint with the server key, exactly like a deployed worker,
//! and obeys the `control` answer: on `pause` it saves a checkpoint and stops, on `cancel` it
//! stops. Resume and retry re-trigger it through `JOBS_WORKER_<TYPE>` (the `demo-worker-*`
//! functions registered with the gateway), and it picks up from its checkpoint.
//!
//! The scenarios: a campaign sending 200 emails, a bulk verification of 5,000 leads, an SQS
//! poller heartbeating every few seconds, a metrics fetch every minute, and an import that fails.
//! For the Schedules view, two scheduled functions that never report through a hook, as
//! Pivotr's own `sqs-poller` and `fetch-aws-metrics` do: only Appwrite's record of their
//! executions (kept by the gateway) shows them; the poller fails every other run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use shared::hooks::{ProgressRequest, StartRequest};
use shared::job::{Control, JobType};
use shared::tracker::{AppwriteTransport, Coalescing, JobTracker, TrackerError};

use crate::functions::DEMO_WORKERS;
use crate::gateway::{Gateway, Internal};

/// The demo's scheduled functions: id, CRON, whether every other run fails.
pub const DEMO_SCHEDULES: &[(&str, &str, bool)] = &[
    ("sqs-poller", "* * * * *", true),
    ("fetch-aws-metrics", "*/5 * * * *", false),
];

/// What every demo worker needs: where the executions endpoint is and the server key.
#[derive(Clone)]
pub struct Demo {
    endpoint: String,
    project: String,
    key: String,
    stopping: Arc<AtomicBool>,
}

impl Demo {
    pub fn new(endpoint: &str, project: &str, key: &str) -> Demo {
        Demo {
            endpoint: endpoint.to_owned(),
            project: project.to_owned(),
            key: key.to_owned(),
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Asks every demo worker to stop at its next step (jobs stay as they are, like a worker
    /// killed by a deploy; the next start picks them up).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn stopped(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps in small steps so Ctrl-C is honoured quickly; false when stopping.
    fn sleep(&self, d: Duration) -> bool {
        let mut left = d;
        while !left.is_zero() {
            if self.stopped() {
                return false;
            }
            let step = left.min(Duration::from_millis(100));
            std::thread::sleep(step);
            left -= step;
        }
        !self.stopped()
    }

    fn tracker(&self, job_type: JobType) -> Result<JobTracker, TrackerError> {
        let transport = AppwriteTransport::new(
            &self.endpoint,
            &self.project,
            &self.key,
            JobType::hook_function(job_type),
            Some(format!(
                "demo-worker-{}",
                job_type.as_str().to_lowercase().replace('_', "-")
            )),
        )?;
        Ok(JobTracker::new(Arc::new(transport)).coalescing(Coalescing {
            interval: chrono::Duration::seconds(1),
            fire_and_forget: false,
        }))
    }

    /// Registers the re-trigger functions and starts the scenarios, each on its own thread.
    pub fn start(&self, gateway: &Gateway) {
        for (job_type, function_id) in DEMO_WORKERS {
            let job_type: JobType = job_type.parse().expect("constant job types parse");
            let demo = self.clone();
            let retrigger: Internal = Arc::new(move |body: String| {
                let demo = demo.clone();
                std::thread::spawn(move || demo.resume(job_type, &body));
            });
            gateway.register_internal(function_id, retrigger);
        }
        let scenarios: Vec<(JobType, StartRequest)> = vec![
            (
                JobType::CampaignRun,
                start(
                    "campaign-spring-sale",
                    Some(200),
                    json!({"campaign": "Spring sale", "audience": "newsletter", "unit": "emails sent"}),
                ),
            ),
            (
                JobType::BulkVerify,
                start(
                    "leads-november",
                    Some(5000),
                    json!({"list": "November leads", "unit": "leads verified"}),
                ),
            ),
            (
                JobType::SqsPoll,
                start("ses-events-queue", None, json!({"queue": "ses-events"})),
            ),
            (
                JobType::BulkVerify,
                start(
                    "leads-import-broken",
                    Some(800),
                    json!({"list": "Broken import", "unit": "leads verified", "demoFailAt": 240}),
                ),
            ),
        ];
        for (job_type, req) in scenarios {
            let demo = self.clone();
            std::thread::spawn(move || demo.run(job_type, req));
        }
        let demo = self.clone();
        std::thread::spawn(move || demo.metrics_every_minute());
    }

    /// Registers [`DEMO_SCHEDULES`] with the gateway, records their runs of the last hour (so the
    /// Schedules view has a history at once), then one run at each time of their schedule until
    /// stopped. Needs a Tokio runtime (the webhook delivers from it).
    pub fn start_schedules(&self, gateway: Arc<Gateway>) {
        let now = chrono::Utc::now();
        let since = now - chrono::Duration::hours(1);
        for &(id, expr, flaky) in DEMO_SCHEDULES {
            let Ok(cron) = crate::manifest::schedule(expr) else {
                continue;
            };
            let run_now: Internal = Arc::new(|_body: String| {});
            gateway.register_scheduled(id, expr, &shared::appwrite::datetime(&since), run_now);
            let mut at = since;
            while let Ok(next) = cron.find_next_occurrence(&at, false) {
                if next > now {
                    break;
                }
                record(&gateway, id, next, flaky, false);
                at = next;
            }
            let (gateway, demo) = (gateway.clone(), self.clone());
            tokio::spawn(async move {
                loop {
                    let Ok(next) = cron.find_next_occurrence(&chrono::Utc::now(), false) else {
                        return;
                    };
                    while chrono::Utc::now() < next {
                        if demo.stopped() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    record(&gateway, id, next, flaky, true);
                }
            });
        }
    }

    /// A resumed or retried job: the re-trigger body is a `start` request, sent back as is
    /// (docs/hooks.md § Runs), so this worker's run supersedes the paused one.
    fn resume(&self, job_type: JobType, body: &str) {
        let mut body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        if let Some(object) = body.as_object_mut() {
            object.remove("event");
        }
        match serde_json::from_value::<StartRequest>(body) {
            Ok(req) if req.job_id.is_some() => self.run(job_type, req),
            _ => eprintln!("jobs-dev demo: re-trigger that is not a start with jobId ignored"),
        }
    }

    fn run(&self, job_type: JobType, req: StartRequest) {
        let outcome = self.tracker(job_type).and_then(|mut t| {
            let control = with_retry(self, || t.start(req.clone()))?;
            match job_type {
                JobType::SqsPoll => self.poll(&mut t, control),
                JobType::MetricsFetch => self.fetch(&mut t, control),
                JobType::CampaignRun | JobType::BulkVerify => self.count(&mut t, control),
            }
        });
        if let Err(e) = outcome {
            if !self.stopped() {
                eprintln!("jobs-dev demo: {job_type} {}: {e}", req.reference_id);
            }
        }
    }

    /// Campaigns and verifications: count `done` up to `total`, a batch at a time.
    fn count(&self, t: &mut JobTracker, mut control: Control) -> Result<(), TrackerError> {
        let job = t.job().cloned().ok_or(TrackerError::NotStarted)?;
        let total = job.total.unwrap_or(100);
        let unit = job
            .metadata
            .get("unit")
            .and_then(Value::as_str)
            .unwrap_or("items")
            .to_owned();
        let fail_at = job.metadata.get("demoFailAt").and_then(Value::as_u64);
        let mut done = t
            .checkpoint()
            .and_then(|c| c.get("done"))
            .and_then(Value::as_u64)
            .or(job.done)
            .unwrap_or(0);
        // About 40 s for a whole run, whatever the total.
        let batch = (total / 80).max(1);
        loop {
            match control {
                Control::Cancel => return Ok(()),
                Control::Pause => {
                    t.paused(
                        Some(json!({"done": done})),
                        Some(format!("Paused at {done}/{total} {unit}")),
                    )?;
                    return Ok(());
                }
                Control::Continue => {}
            }
            if done >= total {
                let result = if job.job_type == JobType::CampaignRun {
                    json!({"sent": total - 2, "failed": 2, "bounced": 1})
                } else {
                    json!({"valid": total * 9 / 10, "invalid": total / 20, "risky": total - total * 9 / 10 - total / 20})
                };
                t.complete(as_map(result), Some(format!("{total}/{total} {unit}")))?;
                return Ok(());
            }
            if !self.sleep(Duration::from_millis(500)) {
                return Ok(());
            }
            done = (done + batch).min(total);
            if let Some(at) = fail_at.filter(|at| done >= *at) {
                t.fail(format!("SMTP probe failed: connection refused by mx.leads-import.invalid while verifying lead {} of {total}", at + 1))?;
                return Ok(());
            }
            control = ask(self, || {
                t.progress(ProgressRequest {
                    done: Some(done),
                    total: Some(total),
                    message: Some(format!("{done}/{total} {unit}")),
                    checkpoint: Some(json!({"done": done})),
                    ..ProgressRequest::default()
                })
            })?;
        }
    }

    /// The SQS poller: no known end, a heartbeat every few seconds with what it processed.
    fn poll(&self, t: &mut JobTracker, mut control: Control) -> Result<(), TrackerError> {
        let mut processed = t
            .checkpoint()
            .and_then(|c| c.get("processed"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        loop {
            match control {
                Control::Cancel => return Ok(()),
                Control::Pause => {
                    t.paused(
                        Some(json!({"processed": processed})),
                        Some(format!("Paused after {processed} messages")),
                    )?;
                    return Ok(());
                }
                Control::Continue => {}
            }
            if !self.sleep(Duration::from_secs(3)) {
                return Ok(());
            }
            processed += 7 + processed % 5;
            control = ask(self, || {
                t.heartbeat(
                    Some(format!("{processed} SES events processed")),
                    Some(as_map(
                        json!({"messagesProcessed": processed, "queue": "ses-events"}),
                    )),
                )
            })?;
        }
    }

    /// A metrics fetch: a few seconds, two steps, a result.
    fn fetch(&self, t: &mut JobTracker, control: Control) -> Result<(), TrackerError> {
        if control != Control::Continue {
            return Ok(());
        }
        if !self.sleep(Duration::from_secs(1)) {
            return Ok(());
        }
        let control = t.progress(ProgressRequest {
            percent: Some(50.0),
            message: Some("Fetched SES send quota".to_owned()),
            ..ProgressRequest::default()
        })?;
        if control != Control::Continue || !self.sleep(Duration::from_secs(1)) {
            return Ok(());
        }
        t.complete(
            as_map(json!({"max24HourSend": 50000, "sentLast24Hours": 1234, "maxSendRate": 14})),
            Some("SES quota and statistics synced".to_owned()),
        )?;
        Ok(())
    }

    fn metrics_every_minute(&self) {
        loop {
            let minute = chrono::Utc::now().format("%Y%m%d%H%M").to_string();
            let mut req = start(
                &format!("aws-metrics-{minute}"),
                None,
                json!({"region": "eu-west-1"}),
            );
            req.idempotency_key = Some(format!("demo-metrics-{minute}"));
            self.run(JobType::MetricsFetch, req);
            if !self.sleep(Duration::from_secs(60)) {
                return;
            }
        }
    }
}

/// One scheduled run of a demo function, due at `due`: a flaky one fails on odd minutes.
fn record(
    gateway: &Gateway,
    id: &str,
    due: chrono::DateTime<chrono::Utc>,
    flaky: bool,
    live: bool,
) {
    use chrono::Timelike;
    let ok = !flaky || due.minute() % 2 == 0;
    let duration = 0.4 + f64::from(due.minute() % 7) * 0.3;
    let at = due + chrono::Duration::milliseconds(150);
    gateway.record_scheduled_run(id, &shared::appwrite::datetime(&at), ok, duration, live);
}

/// A hook answer's control value, also when the hook refused the report (a cancelled job
/// refuses progress but still says `cancel`).
fn ask(
    demo: &Demo,
    f: impl FnMut() -> Result<Control, TrackerError>,
) -> Result<Control, TrackerError> {
    match with_retry(demo, f) {
        Err(TrackerError::Rejected {
            control: Some(c), ..
        }) => Ok(c),
        other => other,
    }
}

fn start(reference: &str, total: Option<u64>, metadata: Value) -> StartRequest {
    StartRequest {
        reference_id: reference.to_owned(),
        total,
        metadata: Some(as_map(metadata)),
        message: Some("Starting".to_owned()),
        ..StartRequest::default()
    }
}

fn as_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Retries retryable failures (the dev server starting, a busy store) a few times.
fn with_retry<T>(
    demo: &Demo,
    mut f: impl FnMut() -> Result<T, TrackerError>,
) -> Result<T, TrackerError> {
    let mut attempt = 0;
    loop {
        match f() {
            Err(e) if e.is_retryable() && attempt < 5 && !demo.stopped() => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(200 * attempt));
            }
            other => return other,
        }
    }
}
