//! The retention sweeper through its real handler on the in-memory store, with a fixed clock: the
//! newest N finished jobs remain, active jobs survive any backlog, overlapping runs, stalled
//! RUNNING and QUEUED jobs, heartbeats just in time, time budgets and invalid configuration.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use openruntimes::{Context, Logger};
use serde_json::Value;
use shared::job::{EventKind, Job, JobStatus, JobType, Timestamp};
use shared::platform::Platform;
use shared::store::memory::MemoryStore;
use shared::store::{JobQuery, JobStore, Scope, MAX_PAGE};

struct App {
    store: Arc<MemoryStore>,
    platform: Platform,
}

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn spawn_app(vars: &[(&str, &str)]) -> App {
    spawn_app_with_clock(vars, Arc::new(t0))
}

fn spawn_app_with_clock(
    vars: &[(&str, &str)],
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
) -> App {
    let store = Arc::new(MemoryStore::new());
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut platform = Platform::new(store.clone(), Arc::new(move |k| vars.get(k).cloned()));
    platform.clock = clock;
    App { store, platform }
}

fn job(id: String, job_type: JobType, status: JobStatus, at: Timestamp) -> Job {
    let mut job = Job::queued(id, job_type, "ref".into(), at);
    job.status = status;
    job.started_at = Some(at);
    job.completed_at = status.is_final().then_some(at);
    job.run = 1;
    job
}

/// `n` finished jobs, one completed per minute before t0, the newest first in id order.
fn finished(n: usize) -> Vec<Job> {
    (0..n)
        .map(|i| {
            let status = JobStatus::FINAL[i % 3];
            let at = t0() - Duration::minutes(i as i64 + 1);
            job(format!("f{i:06}"), JobType::CampaignRun, status, at)
        })
        .collect()
}

fn context(trigger: &str, user: Option<&str>) -> Context {
    let mut context = Context::new(Logger::new("disabled", Some("t".into())).unwrap());
    context.req.method = "POST".into();
    let headers = &mut context.req.headers;
    headers.insert("x-appwrite-trigger".into(), trigger.into());
    headers.insert("x-appwrite-user-id".into(), user.unwrap_or("").into());
    context
}

impl App {
    fn seed(&self, jobs: &[Job]) {
        self.store
            .bulk_load(jobs.iter().cloned().map(|j| (j, Vec::new())))
            .unwrap();
    }

    fn run(&self) -> (u16, Value) {
        self.run_as(context("schedule", None))
    }

    fn run_as(&self, context: Context) -> (u16, Value) {
        let response = job_retention::handle(context, &self.platform);
        (
            response.status_code,
            serde_json::from_slice(&response.body).unwrap(),
        )
    }

    fn ids(&self, scope: Scope) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .list(&JobQuery {
                    scope,
                    limit: MAX_PAGE,
                    cursor: cursor.clone(),
                    ..JobQuery::default()
                })
                .unwrap();
            ids.extend(page.jobs.into_iter().map(|j| j.id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        ids.sort();
        ids
    }
}

#[test]
fn exactly_the_newest_100_finished_jobs_remain() {
    let app = spawn_app(&[]);
    app.seed(&finished(350));
    let (status, report) = app.run();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["deleted"], 250);
    assert_eq!(report["remainingBacklog"], 0);
    let newest: Vec<String> = (0..100).map(|i| format!("f{i:06}")).collect();
    assert_eq!(app.ids(Scope::Finished), newest);
}

#[test]
fn keep_is_configurable_and_a_max_age_deletes_inside_the_window() {
    let app = spawn_app(&[("JOBS_RETENTION_KEEP", "10")]);
    app.seed(&finished(30));
    app.run();
    assert_eq!(app.ids(Scope::Finished).len(), 10);

    let app = spawn_app(&[("JOBS_RETENTION_MAX_AGE_DAYS", "1")]);
    let mut jobs = finished(5);
    jobs.push(job(
        "old".into(),
        JobType::BulkVerify,
        JobStatus::Completed,
        t0() - Duration::days(2),
    ));
    app.seed(&jobs);
    app.run();
    assert!(!app.ids(Scope::Finished).contains(&"old".to_owned()));
    assert_eq!(app.ids(Scope::Finished).len(), 5);
}

#[test]
fn active_jobs_survive_any_backlog() {
    let app = spawn_app(&[("JOBS_RETENTION_KEEP", "1")]);
    let mut jobs = finished(600);
    // Active jobs older than every finished one, heartbeating now so none is stalled.
    for (i, status) in [JobStatus::Queued, JobStatus::Running, JobStatus::Paused]
        .into_iter()
        .cycle()
        .take(30)
        .enumerate()
    {
        let mut active = job(
            format!("a{i:03}"),
            JobType::BulkVerify,
            status,
            t0() - Duration::days(30),
        );
        active.heartbeat_at = t0();
        jobs.push(active);
    }
    app.seed(&jobs);
    let (status, report) = app.run();
    assert_eq!(status, 200, "{report}");
    assert_eq!(app.ids(Scope::Active).len(), 30);
    assert_eq!(app.ids(Scope::Finished), ["f000000"]);
    assert_eq!(report["markedStalled"], 0);
}

#[test]
fn overlapping_runs_leave_exactly_the_kept_jobs_and_stall_each_job_once() {
    let app = Arc::new(spawn_app(&[("JOBS_RETENTION_BATCH", "50")]));
    let mut jobs = finished(1000);
    for i in 0..20 {
        jobs.push(job(
            format!("s{i:03}"),
            JobType::CampaignRun,
            JobStatus::Running,
            t0() - Duration::hours(2),
        ));
    }
    app.seed(&jobs);
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let app = app.clone();
            std::thread::spawn(move || app.run())
        })
        .collect();
    let reports: Vec<Value> = runs
        .into_iter()
        .map(|r| {
            let (status, report) = r.join().unwrap();
            assert_eq!(status, 200, "{report}");
            report
        })
        .collect();
    let stalled: u64 = reports
        .iter()
        .map(|r| r["markedStalled"].as_u64().unwrap())
        .sum();
    assert_eq!(stalled, 20, "each stalled job is marked by exactly one run");
    let finished = app.ids(Scope::Finished);
    assert_eq!(finished.len(), 100);
    for i in 0..20 {
        let id = format!("s{i:03}");
        let marks = app
            .store
            .events(&id, 100)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == EventKind::Stalled)
            .count();
        assert_eq!(marks, 1, "{id}");
    }
}

#[test]
fn a_running_job_without_heartbeat_past_its_threshold_fails_as_stalled_by_the_system() {
    let app = spawn_app(&[]);
    let since = t0() - Duration::seconds(961);
    app.seed(&[job(
        "r1".into(),
        JobType::CampaignRun,
        JobStatus::Running,
        since,
    )]);
    let (_, report) = app.run();
    assert_eq!(report["markedStalled"], 1);
    let stalled = app.store.get("r1").unwrap();
    assert_eq!(stalled.status, JobStatus::Failed);
    let message = stalled.error_message.unwrap();
    assert!(
        message.contains("stalled") && message.contains("2026-03-01T11:43:59.000"),
        "{message}"
    );
    let event = app.store.events("r1", 10).unwrap().pop().unwrap();
    assert_eq!(
        (event.kind, event.actor.as_str()),
        (EventKind::Stalled, "system")
    );
}

#[test]
fn a_queued_job_never_picked_up_past_its_threshold_fails_as_stalled() {
    let app = spawn_app(&[("JOBS_QUEUED_BULK_VERIFY_SECONDS", "120")]);
    app.seed(&[job(
        "q1".into(),
        JobType::BulkVerify,
        JobStatus::Queued,
        t0() - Duration::seconds(121),
    )]);
    app.run();
    let job = app.store.get("q1").unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.error_message.unwrap().contains("never picked up"));
}

#[test]
fn a_job_heartbeating_just_in_time_is_untouched() {
    let app = spawn_app(&[("JOBS_STALL_SQS_POLL_SECONDS", "240")]);
    let at_threshold = job(
        "p1".into(),
        JobType::SqsPoll,
        JobStatus::Running,
        t0() - Duration::seconds(240),
    );
    let one_ms_late = job(
        "p2".into(),
        JobType::SqsPoll,
        JobStatus::Running,
        t0() - Duration::seconds(240) - Duration::milliseconds(1),
    );
    app.seed(&[at_threshold.clone(), one_ms_late]);
    let (_, report) = app.run();
    assert_eq!(report["markedStalled"], 1);
    assert_eq!(app.store.get("p1").unwrap(), at_threshold);
    assert_eq!(app.store.get("p2").unwrap().status, JobStatus::Failed);
}

#[test]
fn a_paused_job_is_never_stalled() {
    let app = spawn_app(&[]);
    let paused = job(
        "z1".into(),
        JobType::CampaignRun,
        JobStatus::Paused,
        t0() - Duration::days(3),
    );
    app.seed(std::slice::from_ref(&paused));
    app.run();
    assert_eq!(app.store.get("z1").unwrap(), paused);
}

#[test]
fn a_run_stops_at_its_time_budget_and_the_next_run_continues() {
    // Every clock reading is a second later: a 3 s budget allows a few batches only.
    let ticks = Arc::new(Mutex::new(0i64));
    let clock_ticks = ticks.clone();
    let clock = Arc::new(move || {
        let mut t = clock_ticks.lock().unwrap();
        *t += 1;
        t0() + Duration::seconds(*t)
    });
    let app = spawn_app_with_clock(
        &[
            ("JOBS_RETENTION_BATCH", "10"),
            ("JOBS_RETENTION_BUDGET_SECONDS", "3"),
        ],
        clock,
    );
    app.seed(&finished(300));
    let (_, first) = app.run();
    let deleted = first["deleted"].as_u64().unwrap();
    assert!(deleted > 0 && deleted < 200, "{first}");
    assert_eq!(first["remainingBacklog"].as_u64().unwrap(), 200 - deleted);
    let mut runs = 1;
    while app.ids(Scope::Finished).len() > 100 {
        app.run();
        runs += 1;
        assert!(runs < 100);
    }
    assert_eq!(app.ids(Scope::Finished).len(), 100);
}

#[test]
fn invalid_configuration_names_the_variables_and_deletes_nothing() {
    let app = spawn_app(&[
        ("JOBS_RETENTION_KEEP", "0"),
        ("JOBS_STALL_CAMPAIGN_RUN_SECONDS", "ten minutes"),
    ]);
    app.seed(&finished(150));
    app.seed(&[job(
        "r1".into(),
        JobType::CampaignRun,
        JobStatus::Running,
        t0() - Duration::days(1),
    )]);
    let (status, body) = app.run();
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "invalid_config");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("JOBS_RETENTION_KEEP"), "{message}");
    assert!(
        message.contains("JOBS_STALL_CAMPAIGN_RUN_SECONDS"),
        "{message}"
    );
    assert_eq!(app.ids(Scope::Finished).len(), 150);
    assert_eq!(app.store.get("r1").unwrap().status, JobStatus::Running);
}

#[test]
fn a_user_caller_is_forbidden_and_a_manual_server_run_is_allowed() {
    let app = spawn_app(&[]);
    app.seed(&finished(101));
    let (status, _) = app.run_as(context("http", Some("u1")));
    assert_eq!(status, 403);
    let (status, _) = app.run_as(context("event", None));
    assert_eq!(status, 403);
    assert_eq!(app.ids(Scope::Finished).len(), 101);
    let (status, report) = app.run_as(context("http", None));
    assert_eq!((status, report["deleted"].as_u64()), (200, Some(1)));
}

#[test]
fn an_unusable_alert_variable_is_named_with_the_sweeps_own_and_nothing_is_deleted() {
    let app = spawn_app(&[
        ("JOBS_RETENTION_KEEP", "0"),
        (
            "JOBS_ALERT_WEBHOOK_URL",
            "https://hooks.example.test/T0/secret-path",
        ),
    ]);
    app.seed(&finished(150));
    let (status, body) = app.run();
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        body["variables"],
        serde_json::json!(["JOBS_RETENTION_KEEP", "JOBS_ALERT_WEBHOOK_SECRET"])
    );
    assert!(!body.to_string().contains("secret-path"), "{body}");
    assert_eq!(app.ids(Scope::Finished).len(), 150);
}

#[test]
fn without_an_alert_channel_the_answer_is_the_sweep_report_alone() {
    let app = spawn_app(&[]);
    app.seed(&finished(3));
    let (status, report) = app.run();
    assert_eq!(status, 200);
    assert!(report.get("alerts").is_none(), "{report}");
}

#[test]
fn a_job_the_sweep_marks_stalled_is_alerted_in_the_same_run() {
    // The webhook points at a closed port: the delivery fails and is reported, the sweep
    // still succeeds, and the failure is there for the next run to retry.
    let app = spawn_app(&[
        ("JOBS_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/alerts"),
        ("JOBS_ALERT_WEBHOOK_SECRET", "a-secret-of-enough-length"),
        ("JOBS_ALERT_SCHEDULES", "0"),
    ]);
    app.seed(&[job(
        "r1".into(),
        JobType::CampaignRun,
        JobStatus::Running,
        t0() - Duration::days(1),
    )]);
    let (status, report) = app.run();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["markedStalled"], 1);
    assert_eq!(report["alerts"]["failed"], 1, "{report}");
    let errors = report["alerts"]["errors"].to_string();
    assert!(errors.contains("webhook not reached"), "{errors}");
    assert!(
        !errors.contains("127.0.0.1:9"),
        "the URL is never answered: {errors}"
    );
}
