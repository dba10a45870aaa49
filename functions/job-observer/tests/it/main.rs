//! The observer through its real handler on the in-memory store with a fixed clock: the signature
//! gate, the replay window, bad bodies, and un-adopted functions' executions mirrored as jobs
//! whatever the order or repetition of their events, and workers whose execution died failing their
//! job (fenced by the run's execution).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use openruntimes::{Context, Logger};
use serde_json::{json, Value};
use shared::job::{format_timestamp, JobStatus, JobType, Timestamp};
use shared::platform::Platform;
use shared::store::memory::MemoryStore;
use shared::store::{JobQuery, JobStore};

const URL: &str = "https://observer.example.test/";
const SECRET: &str = "webhook-signature-key-0123456789";

struct App {
    store: Arc<MemoryStore>,
    platform: Platform,
}

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn spawn_app() -> App {
    spawn_app_with(&[])
}

fn spawn_app_with(extra: &[(&str, &str)]) -> App {
    let store = Arc::new(MemoryStore::new());
    let mut vars: HashMap<String, String> = [
        ("JOBS_OBSERVER_SECRET", SECRET),
        ("JOBS_OBSERVER_URL", URL),
        ("JOBS_OBSERVE_SQS_POLLER", "SQS_POLL"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let mut platform = Platform::new(store.clone(), Arc::new(move |k| vars.get(k).cloned()));
    platform.clock = Arc::new(t0);
    App { store, platform }
}

/// An execution document as Appwrite's webhook sends it.
fn execution(id: &str, function: &str, status: &str, duration: f64) -> Value {
    let created = t0() - Duration::seconds(30);
    json!({
        "$id": id, "$createdAt": format_timestamp(&created), "$updatedAt": format_timestamp(&created),
        "$permissions": [], "functionId": function, "deploymentId": "d1", "trigger": "schedule",
        "status": status, "requestMethod": "POST", "requestPath": "/", "requestHeaders": [],
        "responseStatusCode": if status == "failed" { 500 } else if status == "completed" { 200 } else { 0 },
        "responseBody": "", "responseHeaders": [], "logs": "",
        "errors": if status == "failed" { "Operation timed out" } else { "" },
        "duration": duration, "scheduledAt": null,
    })
}

fn delivery(body: &[u8], signature: Option<&str>) -> Context {
    let mut context = Context::new(Logger::new("disabled", Some("t".into())).unwrap());
    context.req.method = "POST".into();
    let headers = &mut context.req.headers;
    headers.insert("x-appwrite-trigger".into(), "http".into());
    headers.insert("x-appwrite-user-id".into(), "".into());
    headers.insert(
        "x-appwrite-webhook-events".into(),
        "functions.*.executions.*.update".into(),
    );
    if let Some(signature) = signature {
        headers.insert("x-appwrite-webhook-signature".into(), signature.into());
    }
    context.req.set_body_binary(body.to_vec());
    context
}

impl App {
    fn deliver_raw(&self, context: Context) -> (u16, Value) {
        let response = job_observer::handle(context, &self.platform);
        (
            response.status_code,
            serde_json::from_slice(&response.body).unwrap(),
        )
    }

    /// Delivers `doc` signed as Appwrite signs it.
    fn deliver(&self, doc: &Value) -> (u16, Value) {
        let body = doc.to_string();
        let signature = job_observer::signature::sign(URL, body.as_bytes(), SECRET);
        self.deliver_raw(delivery(body.as_bytes(), Some(&signature)))
    }

    fn jobs(&self) -> Vec<shared::job::Job> {
        self.store.list(&JobQuery::default()).unwrap().jobs
    }
}

#[test]
fn a_forged_signature_is_refused_with_401_and_writes_nothing() {
    let app = spawn_app();
    let body = execution("e1", "sqs-poller", "completed", 2.0).to_string();
    let forged = job_observer::signature::sign(URL, body.as_bytes(), "guessed-secret-key");
    let (status, answer) = app.deliver_raw(delivery(body.as_bytes(), Some(&forged)));
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("invalid_signature"))
    );
    assert_eq!(answer["error"]["field"], "x-appwrite-webhook-signature");
    let (status, _) = app.deliver_raw(delivery(body.as_bytes(), None));
    assert_eq!(status, 401);
    assert!(app.jobs().is_empty());
}

#[test]
fn a_signature_over_another_body_is_refused() {
    let app = spawn_app();
    let signed = execution("e1", "sqs-poller", "completed", 2.0).to_string();
    let signature = job_observer::signature::sign(URL, signed.as_bytes(), SECRET);
    let tampered = execution("e1", "sqs-poller", "failed", 2.0).to_string();
    let (status, _) = app.deliver_raw(delivery(tampered.as_bytes(), Some(&signature)));
    assert_eq!(status, 401);
    assert!(app.jobs().is_empty());
}

#[test]
fn a_stale_event_is_refused_with_401_and_writes_nothing() {
    let app = spawn_app_with(&[("JOBS_OBSERVER_MAX_AGE_SECONDS", "600")]);
    let mut doc = execution("e1", "sqs-poller", "completed", 2.0);
    let old = format_timestamp(&(t0() - Duration::hours(2)));
    doc["$createdAt"] = json!(old);
    doc["$updatedAt"] = json!(old);
    let (status, answer) = app.deliver(&doc);
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("stale_event"))
    );
    assert!(app.jobs().is_empty());
}

#[test]
fn an_unadopted_function_execution_becomes_a_job_that_reaches_its_final_state() {
    let app = spawn_app();
    let (status, answer) = app.deliver(&execution("e1", "sqs-poller", "waiting", 0.0));
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("created")));
    assert_eq!(app.jobs()[0].status, JobStatus::Queued);
    let (_, answer) = app.deliver(&execution("e1", "sqs-poller", "completed", 12.5));
    assert_eq!(answer["outcome"], "updated");
    let jobs = app.jobs();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(
        (job.job_type, job.status, job.progress),
        (JobType::SqsPoll, JobStatus::Completed, 100)
    );
    assert_eq!(job.duration_ms(t0()), Some(12_500));
    assert_eq!(job.metadata["observed"], true);
    assert_eq!(job.metadata["executionId"], "e1");
    let log = app.store.events(&job.id, 10).unwrap();
    assert_eq!(log.last().unwrap().details["executionId"], "e1");
}

#[test]
fn a_failed_execution_fails_its_job_with_what_happened() {
    let app = spawn_app();
    app.deliver(&execution("e2", "sqs-poller", "failed", 900.0));
    let job = &app.jobs()[0];
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.error_message.as_deref().unwrap();
    for part in ["e2", "900.0 s", "status code 500", "Operation timed out"] {
        assert!(error.contains(part), "{error}");
    }
}

#[test]
fn duplicated_and_out_of_order_events_converge_on_the_same_final_state() {
    let events = [
        execution("e3", "sqs-poller", "waiting", 0.0),
        execution("e3", "sqs-poller", "processing", 0.0),
        execution("e3", "sqs-poller", "completed", 3.0),
    ];
    let orders: [&[usize]; 4] = [&[0, 1, 2], &[2, 1, 0], &[1, 2, 2, 0, 1], &[2, 0, 2]];
    for order in orders {
        let app = spawn_app();
        for &i in order {
            assert_eq!(app.deliver(&events[i]).0, 200);
        }
        let jobs = app.jobs();
        assert_eq!(jobs.len(), 1, "order {order:?}");
        assert_eq!(jobs[0].status, JobStatus::Completed, "order {order:?}");
        assert_eq!(jobs[0].duration_ms(t0()), Some(3_000), "order {order:?}");
    }
}

#[test]
fn a_repeated_final_event_changes_nothing() {
    let app = spawn_app();
    app.deliver(&execution("e4", "sqs-poller", "completed", 1.0));
    let before = app.jobs()[0].clone();
    let (status, answer) = app.deliver(&execution("e4", "sqs-poller", "failed", 1.0));
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("unchanged"))
    );
    assert_eq!(app.jobs()[0], before);
}

#[test]
fn a_body_that_is_not_an_execution_is_a_400_naming_the_field_and_writes_nothing() {
    let app = spawn_app();
    let cases = [
        (
            json!({"functionId": "sqs-poller", "status": "waiting"}),
            "$id",
        ),
        (
            json!({"$id": "e1", "functionId": "sqs-poller", "status": "asleep"}),
            "status",
        ),
        (
            json!({"$id": "e1", "functionId": "sqs poller", "status": "waiting"}),
            "functionId",
        ),
        (
            json!({"$id": "e1", "functionId": "f", "status": "waiting", "duration": -1}),
            "duration",
        ),
        (
            json!({"$id": "e1", "functionId": "f", "status": "waiting", "$createdAt": "yesterday"}),
            "$createdAt",
        ),
        (json!([1, 2]), "$id"),
    ];
    for (doc, field) in cases {
        let (status, answer) = app.deliver(&doc);
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (400, Some(field)),
            "{doc}"
        );
    }
    let body = b"not json";
    let signature = job_observer::signature::sign(URL, body, SECRET);
    assert_eq!(app.deliver_raw(delivery(body, Some(&signature))).0, 400);
    assert!(app.jobs().is_empty());
}

#[test]
fn executions_of_functions_that_are_not_mapped_create_no_job() {
    let app = spawn_app();
    for status in ["waiting", "failed", "completed"] {
        let (code, answer) = app.deliver(&execution("e5", "orchestrator", status, 0.0));
        assert_eq!((code, answer["outcome"].as_str()), (200, Some("ignored")));
    }
    assert!(app.jobs().is_empty());
}

#[test]
fn a_missing_secret_or_a_bad_mapping_is_a_500_naming_the_variable() {
    let app = spawn_app_with(&[("JOBS_OBSERVER_SECRET", "")]);
    let (status, answer) = app.deliver(&execution("e1", "sqs-poller", "waiting", 0.0));
    assert_eq!(status, 500);
    assert_eq!(answer["error"]["code"], "invalid_config");
    let app = spawn_app_with(&[("JOBS_OBSERVE_SQS_POLLER", "POLLING")]);
    let (status, answer) = app.deliver(&execution("e1", "sqs-poller", "waiting", 0.0));
    assert_eq!(status, 500);
    assert!(app.jobs().is_empty());
    // 5xx bodies stay neutral; the variable's name is in the function's error log.
    assert_eq!(answer["error"]["code"], "invalid_config");
}

#[test]
fn only_post_is_accepted() {
    let app = spawn_app();
    let mut context = delivery(b"", None);
    context.req.method = "GET".into();
    assert_eq!(app.deliver_raw(context).0, 405);
}

/// A CAMPAIGN_RUN job started by a worker whose execution is `execution`, as the hook does.
fn worker_job(app: &App, reference: &str, execution: &str) -> String {
    let act = shared::usecase::Act::new(&*app.store, "function:orchestrator", t0())
        .in_run(None, Some(execution.to_owned()));
    shared::usecase::start(
        &act,
        JobType::CampaignRun,
        shared::usecase::Start {
            reference_id: reference.into(),
            ..Default::default()
        },
    )
    .unwrap()
    .job
    .id
}

fn job(app: &App, id: &str) -> shared::job::Job {
    app.store.get(id).unwrap()
}

#[test]
fn a_worker_execution_that_fails_fails_its_running_job_at_once_with_the_execution_linked() {
    let app = spawn_app();
    let id = worker_job(&app, "campaign-1", "w1");
    let (status, answer) = app.deliver(&execution("w1", "orchestrator", "failed", 900.0));
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("failed")),
        "{answer}"
    );
    let job = job(&app, &id);
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.error_message.unwrap();
    for part in [
        "w1",
        "orchestrator",
        "900.0 s",
        "status code 500",
        "Operation timed out",
    ] {
        assert!(error.contains(part), "{error}");
    }
    let log = app.store.events(&id, 10).unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.details["executionId"], "w1");
    assert_eq!(last.actor, "function:job-observer");
}

#[test]
fn a_worker_execution_that_completes_while_its_job_runs_fails_the_job_as_outcome_unknown() {
    let app = spawn_app();
    let id = worker_job(&app, "campaign-2", "w2");
    let (_, answer) = app.deliver(&execution("w2", "orchestrator", "completed", 3.0));
    assert_eq!(answer["outcome"], "failed", "{answer}");
    let failed = job(&app, &id);
    assert_eq!(failed.status, JobStatus::Failed);
    let error = failed.error_message.unwrap();
    assert!(error.starts_with("outcome unknown: "), "{error}");
    for part in ["w2", "orchestrator", "without its final report", "3.0 s"] {
        assert!(error.contains(part), "{error}");
    }
    let log = app.store.events(&id, 10).unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.kind, shared::job::EventKind::Failed);
    assert_eq!(last.actor, "function:job-observer");
    assert_eq!(
        (last.from_status, last.to_status),
        (Some(JobStatus::Running), Some(JobStatus::Failed))
    );
    assert_eq!(last.details["executionId"], "w2");
    assert_eq!(last.details["executionStatus"], "completed");
    assert_eq!(last.details["outcome"], "unknown");
    // A repeat of the event changes nothing.
    let before = job(&app, &id);
    let (_, answer) = app.deliver(&execution("w2", "orchestrator", "completed", 3.0));
    assert_eq!(answer["outcome"], "ignored", "{answer}");
    assert_eq!(job(&app, &id), before);
}

#[test]
fn an_outcome_unknown_failure_names_the_runs_unconfirmed_claim_and_keeps_it() {
    let app = spawn_app();
    let id = worker_job(&app, "campaign-claim", "wc");
    let act = shared::usecase::Act::new(&*app.store, "function:orchestrator", t0())
        .in_run(Some(1), Some("wc".into()));
    shared::usecase::progress(
        &act,
        &id,
        shared::usecase::Progress {
            done: Some(50),
            claimed: Some(100),
            total: Some(200),
            checkpoint: Some(json!({"offset": 100})),
            ..Default::default()
        },
    )
    .unwrap();
    // The worker's next call (its confirmation, or its `complete`) never arrives.
    let (_, answer) = app.deliver(&execution("wc", "orchestrator", "completed", 3.0));
    assert_eq!(answer["outcome"], "failed", "{answer}");
    let failed = job(&app, &id);
    let error = failed.error_message.clone().unwrap();
    assert!(error.starts_with("outcome unknown: "), "{error}");
    assert!(
        error.contains("units 50–100") && error.contains("may or may not have been carried out"),
        "{error}"
    );
    assert_eq!(
        failed.claims.len(),
        1,
        "the claim stays unconfirmed for a retry"
    );
    let last = app.store.events(&id, 10).unwrap().pop().unwrap();
    assert_eq!(
        last.details["claim"],
        json!({"run": 1, "done": 50, "claimed": 100})
    );
}

#[test]
fn a_polling_jobs_scheduled_execution_that_completes_leaves_it_running() {
    // Each scheduled sqs-poller run picks the polling job up, heartbeats and ends without a
    // final call: by design, so its `completed` is no death. (The function here is not the
    // mapped `sqs-poller`: it is a worker that reports through the hooks.)
    let app = spawn_app();
    let act = shared::usecase::Act::new(&*app.store, "function:sqs-poller", t0())
        .in_run(None, Some("poll1".into()));
    let id = shared::usecase::start(
        &act,
        JobType::SqsPoll,
        shared::usecase::Start {
            reference_id: "sqs-poller".into(),
            ..Default::default()
        },
    )
    .unwrap()
    .job
    .id;
    let before = job(&app, &id);
    let (code, answer) = app.deliver(&execution("poll1", "sqs-worker", "completed", 20.0));
    assert_eq!((code, answer["outcome"].as_str()), (200, Some("unchanged")));
    assert_eq!(job(&app, &id), before);
    // A poller execution that dies still fails its job.
    let (_, answer) = app.deliver(&execution("poll1", "sqs-worker", "failed", 20.0));
    assert_eq!(answer["outcome"], "failed", "{answer}");
    let error = job(&app, &id).error_message.unwrap();
    assert!(!error.starts_with("outcome unknown"), "{error}");
}

#[test]
fn a_resumed_job_is_never_failed_by_the_paused_runs_execution() {
    let app = spawn_app();
    let id = worker_job(&app, "campaign-resumed", "paused-exec");
    let user = shared::usecase::Act::new(&*app.store, "user:alice", t0());
    shared::usecase::control(&user, &id, shared::job::Event::Pause, None).unwrap();
    shared::usecase::control(&user, &id, shared::job::Event::Resume, None).unwrap();
    let resumed = job(&app, &id);
    assert_eq!(
        (resumed.status, resumed.execution_id.as_deref()),
        (JobStatus::Queued, None)
    );
    // The paused run's execution ends (cut at its timeout, or returning) after the resume,
    // before or after the re-triggered worker picks the job up.
    for status in ["failed", "completed"] {
        let (code, answer) = app.deliver(&execution("paused-exec", "orchestrator", status, 1.0));
        assert_eq!(
            (code, answer["outcome"].as_str()),
            (200, Some("ignored")),
            "{answer}"
        );
        assert_eq!(job(&app, &id), resumed);
    }
    let act = shared::usecase::Act::new(&*app.store, "function:orchestrator", t0())
        .in_run(Some(resumed.run), Some("resumed-exec".into()));
    shared::usecase::start(
        &act,
        JobType::CampaignRun,
        shared::usecase::Start {
            reference_id: "campaign-resumed".into(),
            job_id: Some(id.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let running = job(&app, &id);
    assert_eq!(running.status, JobStatus::Running);
    for status in ["failed", "completed"] {
        app.deliver(&execution("paused-exec", "orchestrator", status, 1.0));
        assert_eq!(job(&app, &id), running);
    }
}

/// Issue 26: job-actions links the execution it re-triggered to the resumed run
/// (`usecase::link_execution`), so that execution dying before its first `start` fails the
/// job at once; before its `start` a `completed` end (the worker chose not to run) leaves the
/// job QUEUED for the sweeper, as for any queued job.
#[test]
fn a_resumed_jobs_linked_execution_that_dies_before_start_fails_the_queued_job_at_once() {
    let app = spawn_app();
    let id = worker_job(&app, "campaign-relinked", "paused-exec");
    let user = shared::usecase::Act::new(&*app.store, "user:alice", t0());
    shared::usecase::control(&user, &id, shared::job::Event::Pause, None).unwrap();
    let resumed = shared::usecase::control(&user, &id, shared::job::Event::Resume, None).unwrap();
    let linked = shared::usecase::link_execution(&user, &resumed, "retrigger-exec")
        .unwrap()
        .expect("a queued job waiting for its worker is linked");
    assert_eq!(
        (linked.status, linked.run, linked.execution_id.as_deref()),
        (JobStatus::Queued, resumed.run, Some("retrigger-exec"))
    );
    let (_, answer) = app.deliver(&execution(
        "retrigger-exec",
        "orchestrator",
        "completed",
        0.2,
    ));
    assert_eq!(answer["outcome"], "unchanged", "{answer}");
    assert_eq!(job(&app, &id), linked);

    let (code, answer) = app.deliver(&execution("retrigger-exec", "orchestrator", "failed", 0.2));
    assert_eq!(
        (code, answer["outcome"].as_str()),
        (200, Some("failed")),
        "{answer}"
    );
    let failed = job(&app, &id);
    assert_eq!(failed.status, JobStatus::Failed);
    let error = failed.error_message.unwrap();
    for part in ["retrigger-exec", "orchestrator", "while the job was QUEUED"] {
        assert!(error.contains(part), "{error}");
    }
    let last = app.store.events(&id, 100).unwrap().pop().unwrap();
    assert_eq!(last.details["executionId"], "retrigger-exec");
    assert_eq!(last.details["run"], resumed.run);
}

/// Issue 28: a PAUSED job still holding its worker's execution is "pausing" on the dashboard;
/// that execution's end, whichever way it ended, proves the worker stopped, so the observer
/// releases the execution (PAUSED stays PAUSED, through the state machine) and logs why.
#[test]
fn a_paused_jobs_execution_that_ends_releases_the_job_without_failing_it() {
    for (n, status) in ["completed", "failed"].into_iter().enumerate() {
        let app = spawn_app();
        let exec = format!("wp{n}");
        let paused = worker_job(&app, &format!("campaign-p{n}"), &exec);
        let user = shared::usecase::Act::new(&*app.store, "user:alice", t0());
        shared::usecase::control(&user, &paused, shared::job::Event::Pause, None).unwrap();
        let before = job(&app, &paused);
        assert_eq!(
            before.execution_id.as_deref(),
            Some(exec.as_str()),
            "pausing"
        );
        let (_, answer) = app.deliver(&execution(&exec, "orchestrator", status, 1.0));
        assert_eq!(answer["outcome"], "updated", "{answer}");
        let after = job(&app, &paused);
        assert_eq!(
            (after.status, after.run, after.execution_id.as_deref()),
            (JobStatus::Paused, before.run, None)
        );
        assert_eq!(
            after.last_actor, before.last_actor,
            "the pause stays the user's"
        );
        let last = app.store.events(&paused, 100).unwrap().pop().unwrap();
        assert_eq!(last.kind, shared::job::EventKind::Paused);
        assert!(last.message.unwrap().contains(&exec));
        // A second delivery of the same event finds nothing to do.
        let (_, answer) = app.deliver(&execution(&exec, "orchestrator", status, 1.0));
        assert_eq!(answer["outcome"], "ignored", "{answer}");
        assert_eq!(job(&app, &paused), after);
    }
}

#[test]
fn a_worker_execution_that_ends_after_its_job_finished_or_confirmed_its_pause_changes_nothing() {
    let app = spawn_app();
    let done = worker_job(&app, "campaign-3", "w3");
    let act = shared::usecase::Act::new(&*app.store, "function:orchestrator", t0());
    shared::usecase::complete(&act, &done, Default::default(), None, None).unwrap();
    let paused = worker_job(&app, "campaign-4", "w4");
    shared::usecase::control(&act, &paused, shared::job::Event::Pause, None).unwrap();
    let worker = shared::usecase::Act::new(&*app.store, "function:orchestrator", t0())
        .in_run(Some(1), Some("w4".into()));
    shared::usecase::worker_paused(&worker, &paused, None, None).unwrap();
    for (exec, id, status) in [
        ("w3", &done, JobStatus::Completed),
        ("w4", &paused, JobStatus::Paused),
    ] {
        let before = job(&app, id);
        let (code, _) = app.deliver(&execution(exec, "orchestrator", "failed", 1.0));
        assert_eq!(code, 200);
        assert_eq!(job(&app, id), before);
        assert_eq!(before.status, status);
    }
}

#[test]
fn a_newer_run_is_never_failed_by_an_old_executions_event() {
    let app = spawn_app();
    let id = worker_job(&app, "campaign-5", "old-exec");
    // The job is taken over by a new run from another execution (a resume's re-triggered worker).
    let act = shared::usecase::Act::new(&*app.store, "user:alice", t0());
    shared::usecase::control(&act, &id, shared::job::Event::Pause, None).unwrap();
    shared::usecase::control(&act, &id, shared::job::Event::Resume, None).unwrap();
    let act = shared::usecase::Act::new(&*app.store, "function:orchestrator", t0())
        .in_run(None, Some("new-exec".into()));
    shared::usecase::start(
        &act,
        JobType::CampaignRun,
        shared::usecase::Start {
            reference_id: "campaign-5".into(),
            job_id: Some(id.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let running = job(&app, &id);
    assert_eq!(
        (running.status, running.execution_id.as_deref()),
        (JobStatus::Running, Some("new-exec"))
    );
    for status in ["failed", "completed"] {
        let (code, answer) = app.deliver(&execution("old-exec", "orchestrator", status, 1.0));
        assert_eq!(
            (code, answer["outcome"].as_str()),
            (200, Some("ignored")),
            "{answer}"
        );
    }
    assert_eq!(job(&app, &id), running);
    // The current run's own execution still fails it.
    app.deliver(&execution("new-exec", "orchestrator", "failed", 1.0));
    assert_eq!(job(&app, &id).status, JobStatus::Failed);
}

#[test]
fn duplicated_and_reordered_worker_events_converge() {
    let app = spawn_app();
    let id = worker_job(&app, "campaign-6", "w6");
    let events = [
        execution("w6", "orchestrator", "waiting", 0.0),
        execution("w6", "orchestrator", "failed", 2.0),
    ];
    for i in [1, 0, 1, 1, 0] {
        assert_eq!(app.deliver(&events[i]).0, 200);
    }
    let job = job(&app, &id);
    assert_eq!(job.status, JobStatus::Failed);
    let failures = app
        .store
        .events(&id, 50)
        .unwrap()
        .iter()
        .filter(|e| e.kind == shared::job::EventKind::Failed)
        .count();
    assert_eq!(failures, 1);
}

#[test]
fn the_webhook_secret_never_appears_in_an_answer_or_the_configuration_debug_text() {
    let app = spawn_app();
    let body = execution("e7", "sqs-poller", "completed", 1.0).to_string();
    let forged = job_observer::signature::sign(URL, body.as_bytes(), "guessed-secret-key");
    let mut answers = vec![
        app.deliver_raw(delivery(body.as_bytes(), Some(&forged))).1,
        app.deliver_raw(delivery(body.as_bytes(), Some(SECRET))).1,
        app.deliver(&json!({"$id": "bad id"})).1,
        app.deliver(&execution("e7", "sqs-poller", "completed", 1.0))
            .1,
    ];
    // A secret too short for Appwrite: the 500 names the variable, not its value.
    let short = spawn_app_with(&[("JOBS_OBSERVER_SECRET", "short")]);
    answers.push(
        short
            .deliver(&execution("e8", "sqs-poller", "waiting", 0.0))
            .1,
    );
    for answer in &answers {
        assert!(!answer.to_string().contains(SECRET), "{answer}");
        assert!(!answer.to_string().contains("short\""), "{answer}");
    }
    let config = shared::observer::ObserverConfig::from_lookup(|k| match k {
        "JOBS_OBSERVER_SECRET" => Some(SECRET.into()),
        "JOBS_OBSERVER_URL" => Some(URL.into()),
        _ => None,
    })
    .unwrap();
    assert!(!format!("{config:?}").contains(SECRET));
}

#[test]
fn a_dead_execution_event_racing_the_workers_own_complete_leaves_one_final_state_and_one_entry() {
    // Whichever lands first wins through the compare-and-set; the other changes nothing.
    for round in 0..20 {
        let app = spawn_app();
        let reference = format!("campaign-race-{round}");
        let exec = format!("race{round}");
        let id = worker_job(&app, &reference, &exec);
        std::thread::scope(|s| {
            s.spawn(|| {
                let act = shared::usecase::Act::new(&*app.store, "function:orchestrator", t0())
                    .in_run(None, Some(exec.clone()));
                let _ = shared::usecase::complete(&act, &id, Default::default(), None, None);
            });
            s.spawn(|| {
                let (code, _) = app.deliver(&execution(&exec, "orchestrator", "failed", 1.0));
                assert_eq!(code, 200);
            });
        });
        let job = job(&app, &id);
        assert!(job.status.is_final(), "round {round}: {}", job.status);
        let finals = app
            .store
            .events(&id, 50)
            .unwrap()
            .iter()
            .filter(|e| e.to_status.is_some_and(JobStatus::is_final))
            .count();
        assert_eq!(finals, 1, "round {round}");
    }
}

#[test]
fn a_takeover_without_an_execution_id_is_never_failed_by_the_previous_runs_execution() {
    let app = spawn_app();
    let id = worker_job(&app, "campaign-take", "old-run-exec");
    // A second worker takes the running job over (run 2) without sending its execution id.
    let act = shared::usecase::Act::new(&*app.store, "function:orchestrator", t0());
    shared::usecase::start(
        &act,
        JobType::CampaignRun,
        shared::usecase::Start {
            reference_id: "campaign-take".into(),
            job_id: Some(id.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let running = job(&app, &id);
    assert_eq!((running.status, running.run), (JobStatus::Running, 2));
    for status in ["completed", "failed"] {
        app.deliver(&execution("old-run-exec", "orchestrator", status, 1.0));
        assert_eq!(job(&app, &id), running, "{status}");
    }
}
