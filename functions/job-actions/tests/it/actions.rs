//! Pause, resume, cancel and retry: state machine, audit trail, worker re-trigger, campaign mirror.

use serde_json::{json, Value};
use shared::job::{JobStatus, JobType};
use shared::store::JobStore;

use crate::support::{spawn_app, OPERATOR};

const WORKERS: &[(&str, &str)] = &[("JOBS_WORKER_CAMPAIGN_RUN", "orchestrator")];

#[test]
fn pause_records_actor_role_source_reason_and_time_and_tells_the_worker_through_control() {
    let app = spawn_app(&[]);
    let job = app.seed(JobType::CampaignRun, JobStatus::Running, "c1");
    app.advance(5);
    let res = app
        .post(&format!("/v1/jobs/{}/pause", job.id))
        .user(OPERATOR)
        .json(json!({"reason": "SES quota nearly used"}))
        .send();
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json["job"]["status"], "PAUSED");
    assert_eq!(res.json["job"]["control"], "pause");
    assert_eq!(res.json["job"]["lastActor"], "user:alice");
    assert_eq!(res.json["job"]["lastReason"], "SES quota nearly used");
    assert_eq!(res.json["trigger"], Value::Null);
    let events = app.store.inner.events(&job.id, 100).unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.actor, "user:alice");
    assert_eq!(last.message.as_deref(), Some("SES quota nearly used"));
    assert_eq!(last.at, app.now());
    assert_eq!(last.details["roleSource"], "label:jobsoperator");
    assert_eq!(last.from_status, Some(JobStatus::Running));
    assert_eq!(last.to_status, Some(JobStatus::Paused));
    assert!(app.fake.executions.lock().unwrap().is_empty());
}

#[test]
fn resume_queues_the_job_and_triggers_its_worker_with_the_checkpoint() {
    let app = spawn_app(WORKERS);
    let job = app.seed(JobType::CampaignRun, JobStatus::Paused, "c1");
    let res = app
        .post(&format!("/v1/jobs/{}/resume", job.id))
        .user(OPERATOR)
        .send();
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json["job"]["status"], "QUEUED");
    assert_eq!(
        res.json["trigger"],
        json!({"status": "triggered", "functionId": "orchestrator", "executionId": "exec1"})
    );
    let executions = app.fake.executions.lock().unwrap();
    assert_eq!(
        *executions,
        vec![(
            "orchestrator".to_owned(),
            // A valid `start` request: the run the resume began (docs/hooks.md § Runs).
            json!({"event": "start", "jobId": job.id, "run": job.run + 1, "referenceId": "c1",
                   "checkpoint": {"offset": 50}})
        )]
    );
}

/// Issue 26: the re-triggered worker's execution is stored with the resumed run, so if it dies
/// before its first `start` the observer knows the job is its own (docs/observer.md).
#[test]
fn resume_links_the_retriggered_execution_to_the_new_run_in_one_more_write() {
    let app = spawn_app(WORKERS);
    let job = app.seed(JobType::CampaignRun, JobStatus::Paused, "c1");
    let calls = app.store_calls();
    let res = app
        .post(&format!("/v1/jobs/{}/resume", job.id))
        .user(OPERATOR)
        .send();
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json["job"]["executionId"], "exec1");
    assert_eq!(res.json["job"]["run"], job.run + 1);
    let stored = app.store.inner.get(&job.id).unwrap();
    assert_eq!(
        (stored.status, stored.run, stored.execution_id.as_deref()),
        (JobStatus::Queued, job.run + 1, Some("exec1"))
    );
    // The resume's read and write, then the link's write based on the row just written.
    assert_eq!(app.store_calls() - calls, 3);
    // The link writes no log entry of its own: the resume's entry is the last.
    let last = app.store.inner.events(&job.id, 100).unwrap().pop().unwrap();
    assert_eq!(last.to_status, Some(JobStatus::Queued));
}

#[test]
fn retry_links_the_retriggered_execution_to_the_new_job() {
    let app = spawn_app(WORKERS);
    let failed = app.seed(JobType::CampaignRun, JobStatus::Failed, "c1");
    let calls = app.store_calls();
    let res = app
        .post(&format!("/v1/jobs/{}/retry", failed.id))
        .user(OPERATOR)
        .send();
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.json["job"]["executionId"], "exec1");
    let new_id = res.json["job"]["$id"].as_str().unwrap();
    let stored = app.store.inner.get(new_id).unwrap();
    assert_eq!(
        (stored.status, stored.run, stored.execution_id.as_deref()),
        (JobStatus::Queued, 0, Some("exec1"))
    );
    // One read of the retried job and any earlier retry of it, the create, the link.
    assert_eq!(app.store_calls() - calls, 3);
}

/// The started worker's `start` can reach its hook before the action links the execution: the
/// worker's own link (and its new run) stands, whichever execution it named.
#[test]
fn a_worker_start_that_linked_first_is_not_overwritten_by_the_action() {
    let app = spawn_app(WORKERS);
    let job = app.seed(JobType::CampaignRun, JobStatus::Paused, "c1");
    let store = app.store.clone();
    let now = app.now();
    *app.fake.on_execution.lock().unwrap() = Some(Box::new(move |_, body, _| {
        // A worker started by hand, with an execution id of its own, wins the race.
        let worker = shared::usecase::Act::new(store.as_ref(), "function:orchestrator", now)
            .in_run(body["run"].as_u64(), Some("w-own".into()));
        let start = shared::usecase::Start {
            reference_id: body["referenceId"].as_str().unwrap().into(),
            job_id: Some(body["jobId"].as_str().unwrap().into()),
            ..Default::default()
        };
        shared::usecase::start(&worker, JobType::CampaignRun, start).unwrap();
    }));
    let res = app
        .post(&format!("/v1/jobs/{}/resume", job.id))
        .user(OPERATOR)
        .send();
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json["trigger"]["status"], "triggered");
    let stored = app.store.inner.get(&job.id).unwrap();
    assert_eq!(
        (stored.status, stored.run, stored.execution_id.as_deref()),
        (JobStatus::Running, job.run + 2, Some("w-own"))
    );
    let before = app.snapshot();
    // Linking again from the job as the resume wrote it (a retried link) re-reads on the
    // conflict, still leaves the job alone, and writes nothing.
    let act = shared::usecase::Act::new(app.store.as_ref(), "user:alice", app.now());
    let resumed: shared::job::Job = serde_json::from_value(res.json["job"].clone()).unwrap();
    assert_eq!(
        (resumed.status, resumed.run),
        (JobStatus::Queued, job.run + 1)
    );
    assert!(shared::usecase::link_execution(&act, &resumed, "exec1")
        .unwrap()
        .is_none());
    assert_eq!(app.snapshot(), before);
}

/// The link is a side effect like the trigger: its failure is logged, the action stands, and
/// the stall sweeper stays the fallback.
#[test]
fn a_failed_link_still_resumes_and_triggers() {
    let app = spawn_app(WORKERS);
    let job = app.seed(JobType::CampaignRun, JobStatus::Paused, "c1");
    let store = app.store.clone();
    *app.fake.on_execution.lock().unwrap() = Some(Box::new(move |_, _, _| {
        store
            .hook
            .refuse_writes
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }));
    let res = app
        .post(&format!("/v1/jobs/{}/resume", job.id))
        .user(OPERATOR)
        .send();
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json["trigger"]["status"], "triggered");
    assert_eq!(res.json["job"]["status"], "QUEUED");
    assert_eq!(res.json["job"]["executionId"], Value::Null);
    let stored = app.store.inner.get(&job.id).unwrap();
    assert_eq!(
        (stored.status, stored.execution_id),
        (JobStatus::Queued, None)
    );
}

#[test]
fn resume_without_a_configured_worker_still_resumes_and_says_it_did_not_trigger() {
    let app = spawn_app(WORKERS);
    let job = app.seed(JobType::BulkVerify, JobStatus::Paused, "l1");
    let res = app
        .post(&format!("/v1/jobs/{}/resume", job.id))
        .user(OPERATOR)
        .send();
    assert_eq!(res.status, 200);
    assert_eq!(res.json["job"]["status"], "QUEUED");
    assert_eq!(res.json["trigger"]["status"], "not_configured");
    assert!(app.fake.executions.lock().unwrap().is_empty());
}

#[test]
fn a_failed_trigger_leaves_the_job_queued_and_says_so() {
    let app = spawn_app(WORKERS);
    *app.fake.executions_down.lock().unwrap() = true;
    let job = app.seed(JobType::CampaignRun, JobStatus::Paused, "c1");
    let res = app
        .post(&format!("/v1/jobs/{}/resume", job.id))
        .user(OPERATOR)
        .send();
    assert_eq!(res.status, 200);
    assert_eq!(res.json["trigger"]["status"], "failed");
    assert_eq!(
        app.store.inner.get(&job.id).unwrap().status,
        JobStatus::Queued
    );
}

#[test]
fn illegal_transitions_are_409_with_the_current_status_and_write_nothing() {
    let app = spawn_app(WORKERS);
    let done = app.seed(JobType::CampaignRun, JobStatus::Completed, "c1");
    let running = app.seed(JobType::CampaignRun, JobStatus::Running, "c2");
    let paused = app.seed(JobType::CampaignRun, JobStatus::Paused, "c3");
    let before = app.snapshot();
    for (job, action, status) in [
        (&done, "pause", "COMPLETED"),
        (&done, "resume", "COMPLETED"),
        (&done, "cancel", "COMPLETED"),
        (&running, "resume", "RUNNING"),
        (&paused, "pause", "PAUSED"),
    ] {
        let res = app
            .post(&format!("/v1/jobs/{}/{action}", job.id))
            .user(OPERATOR)
            .send();
        assert_eq!(res.status, 409, "{action} {status}");
        assert_eq!(res.code(), "invalid_transition");
        assert_eq!(res.json["status"], status);
        assert_eq!(res.json["error"]["field"], Value::Null);
    }
    assert_eq!(app.snapshot(), before);
    assert!(app.fake.executions.lock().unwrap().is_empty());
}

#[test]
fn retry_of_a_failed_job_creates_a_linked_queued_job_and_triggers_its_worker() {
    let app = spawn_app(WORKERS);
    let failed = app.seed(JobType::CampaignRun, JobStatus::Failed, "c1");
    let res = app
        .post(&format!("/v1/jobs/{}/retry", failed.id))
        .user(OPERATOR)
        .json(json!({"reason": "quota raised"}))
        .send();
    assert_eq!(res.status, 201, "{}", res.body);
    let new_id = res.json["job"]["$id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, failed.id);
    assert_eq!(res.json["job"]["status"], "QUEUED");
    assert_eq!(res.json["job"]["retryOf"], failed.id.as_str());
    assert_eq!(res.json["job"]["referenceId"], "c1");
    assert_eq!(res.json["trigger"]["status"], "triggered");
    let executions = app.fake.executions.lock().unwrap().clone();
    assert_eq!(
        executions[0].1,
        json!({"event": "start", "jobId": new_id, "run": 0, "referenceId": "c1",
               "checkpoint": {"offset": 50}})
    );
    // A worker that failed with its own report leaves nothing unconfirmed.
    assert_eq!(res.json["warning"], Value::Null);
    let events = app.store.inner.events(&new_id, 10).unwrap();
    assert_eq!(events[0].actor, "user:alice");
    assert_eq!(events[0].message.as_deref(), Some("quota raised"));
    assert_eq!(events[0].details["roleSource"], "label:jobsoperator");
    assert_eq!(events[0].details["retryOf"], failed.id.as_str());
}

/// A CAMPAIGN_RUN job whose worker (execution `exec`, run 1) reported 50 of 200 done and, when
/// `claim` is set, claimed units 50–100, then ended without its final report: the observer
/// failed it as "outcome unknown".
fn outcome_unknown_job(app: &crate::support::TestApp, exec: &str, claim: bool) -> String {
    use shared::usecase::{self, Act, Progress, Start};
    let now = app.now();
    let act = Act::new(app.store.as_ref(), "function:orchestrator", now)
        .in_run(None, Some(exec.to_owned()));
    let id = usecase::start(
        &act,
        JobType::CampaignRun,
        Start {
            reference_id: "c9".into(),
            total: Some(200),
            ..Start::default()
        },
    )
    .unwrap()
    .job
    .id;
    let act = act.in_run(Some(1), Some(exec.to_owned()));
    let progress = if claim {
        Progress {
            done: Some(50),
            claimed: Some(100),
            checkpoint: Some(json!({"offset": 100})),
            ..Progress::default()
        }
    } else {
        Progress {
            done: Some(50),
            ..Progress::default()
        }
    };
    usecase::progress(&act, &id, progress).unwrap();
    let doc = json!({"$id": exec, "functionId": "orchestrator", "status": "completed",
                     "responseStatusCode": 200, "duration": 2.0});
    let execution = shared::observer::Execution::parse(doc.to_string().as_bytes()).unwrap();
    let observer = Act::new(app.store.as_ref(), "function:job-observer", now);
    shared::observer::observe(&observer, shared::observer::Observed::Worker, &execution).unwrap();
    let job = app.store.inner.get(&id).unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.error_message.unwrap().starts_with("outcome unknown: "));
    id
}

#[test]
fn retry_after_an_unknown_outcome_hands_the_unconfirmed_claim_to_the_worker_and_warns() {
    let app = spawn_app(WORKERS);
    let failed = outcome_unknown_job(&app, "w1", true);
    let path = format!("/v1/jobs/{failed}/retry");
    let res = app.post(&path).user(OPERATOR).send();
    assert_eq!(res.status, 201, "{}", res.body);
    let new_id = res.json["job"]["$id"].as_str().unwrap().to_owned();
    let executions = app.fake.executions.lock().unwrap().clone();
    assert_eq!(
        executions[0].1,
        json!({"event": "start", "jobId": new_id, "run": 0, "referenceId": "c9",
               "checkpoint": {"offset": 100},
               "unconfirmed": [{"from": 50, "to": 100, "run": 1}]})
    );
    // Still a valid `start` a worker can send back to its hook unchanged.
    let sent_back = shared::hooks::HookRequest::parse(executions[0].1.to_string().as_bytes());
    assert!(sent_back.is_ok(), "{:?}", sent_back.err());
    let warning = res.json["warning"].as_str().unwrap();
    assert!(warning.starts_with("work may repeat: "), "{warning}");
    for part in [
        "outcome unknown",
        "units 50–100 of run 1",
        "never confirmed",
        "unconfirmed",
    ] {
        assert!(warning.contains(part), "{warning}");
    }
    // The second retry triggers nothing but still says what the first one's worker faces.
    let again = app.post(&path).user(OPERATOR).send();
    assert_eq!(again.status, 200);
    assert_eq!(again.json["trigger"]["status"], "skipped");
    assert_eq!(again.json["warning"], res.json["warning"]);
    assert_eq!(app.fake.executions.lock().unwrap().len(), 1);
}

#[test]
fn retry_after_an_unknown_outcome_without_a_claim_warns_without_ranges() {
    let app = spawn_app(WORKERS);
    let failed = outcome_unknown_job(&app, "w2", false);
    let res = app
        .post(&format!("/v1/jobs/{failed}/retry"))
        .user(OPERATOR)
        .send();
    assert_eq!(res.status, 201, "{}", res.body);
    let body = &app.fake.executions.lock().unwrap()[0].1;
    assert!(body.get("unconfirmed").is_none(), "{body}");
    let warning = res.json["warning"].as_str().unwrap();
    assert!(
        warning.starts_with("work may repeat: ") && warning.contains("outcome unknown"),
        "{warning}"
    );
    assert!(
        warning.contains("resumes from the stored checkpoint"),
        "{warning}"
    );
}

#[test]
fn retry_of_a_job_cancelled_mid_claim_lists_the_claim_as_unconfirmed() {
    use shared::usecase::{self, Act, Progress};
    let app = spawn_app(WORKERS);
    let running = app.seed(JobType::CampaignRun, JobStatus::Running, "c1");
    let worker = Act::new(app.store.as_ref(), "function:orchestrator", app.now())
        .in_run(Some(running.run), None);
    usecase::progress(
        &worker,
        &running.id,
        Progress {
            done: Some(60),
            claimed: Some(80),
            checkpoint: Some(json!({"offset": 80})),
            ..Progress::default()
        },
    )
    .unwrap();
    // The operator cancels before the worker's next call confirms the claim.
    app.post(&format!("/v1/jobs/{}/cancel", running.id))
        .user(OPERATOR)
        .send();
    let res = app
        .post(&format!("/v1/jobs/{}/retry", running.id))
        .user(OPERATOR)
        .send();
    assert_eq!(res.status, 201, "{}", res.body);
    let body = &app.fake.executions.lock().unwrap()[0].1;
    assert_eq!(
        body["unconfirmed"],
        json!([{"from": 60, "to": 80, "run": running.run}])
    );
    let warning = res.json["warning"].as_str().unwrap();
    assert!(warning.starts_with("work may repeat: "), "{warning}");
    assert!(!warning.contains("outcome unknown"), "{warning}");
}

#[test]
fn retrying_the_same_job_twice_returns_the_first_retry_and_triggers_once() {
    let app = spawn_app(WORKERS);
    let cancelled = app.seed(JobType::CampaignRun, JobStatus::Cancelled, "c1");
    let path = format!("/v1/jobs/{}/retry", cancelled.id);
    let first = app.post(&path).user(OPERATOR).send();
    let second = app.post(&path).user(OPERATOR).send();
    assert_eq!(first.status, 201);
    assert_eq!(second.status, 200);
    assert_eq!(first.json["job"]["$id"], second.json["job"]["$id"]);
    assert_eq!(second.json["trigger"]["status"], "skipped");
    assert_eq!(app.fake.executions.lock().unwrap().len(), 1);
    // Its one unconfirmed claim is an empty range (done 50, nothing claimed beyond): nothing to
    // re-check, no warning.
    assert_eq!(first.json["warning"], Value::Null);
    assert!(app.fake.executions.lock().unwrap()[0]
        .1
        .get("unconfirmed")
        .is_none());
}

#[test]
fn retry_of_a_job_that_did_not_fail_is_409_not_retryable_and_writes_nothing() {
    let app = spawn_app(WORKERS);
    let running = app.seed(JobType::CampaignRun, JobStatus::Running, "c1");
    let before = app.snapshot();
    let res = app
        .post(&format!("/v1/jobs/{}/retry", running.id))
        .user(OPERATOR)
        .send();
    assert_eq!(res.status, 409);
    assert_eq!(res.code(), "not_retryable");
    assert_eq!(res.json["status"], "RUNNING");
    assert_eq!(app.snapshot(), before);
}

#[test]
fn campaign_status_is_mirrored_only_when_configured_and_only_for_campaigns() {
    let app = spawn_app(&[
        ("JOBS_CAMPAIGN_DATABASE", "mailer"),
        ("JOBS_CAMPAIGN_TABLE", "campaigns"),
        ("JOBS_CAMPAIGN_STATUS_FIELD", "status"),
        ("JOBS_CAMPAIGN_STATUS_ON_PAUSE", "PAUSED"),
        ("JOBS_CAMPAIGN_STATUS_ON_RESUME", "SENDING"),
    ]);
    let campaign = app.seed(JobType::CampaignRun, JobStatus::Running, "camp-9");
    let verify = app.seed(JobType::BulkVerify, JobStatus::Running, "list-1");
    for (job, action) in [
        (&campaign, "pause"),
        (&campaign, "resume"),
        (&campaign, "cancel"),
        (&verify, "pause"),
    ] {
        let res = app
            .post(&format!("/v1/jobs/{}/{action}", job.id))
            .user(OPERATOR)
            .send();
        assert_eq!(res.status, 200, "{}", res.body);
    }
    let updates = app.fake.row_updates.lock().unwrap().clone();
    assert_eq!(
        updates,
        vec![
            (
                "mailer".into(),
                "campaigns".into(),
                "camp-9".into(),
                json!({"status": "PAUSED"})
            ),
            (
                "mailer".into(),
                "campaigns".into(),
                "camp-9".into(),
                json!({"status": "SENDING"})
            ),
        ],
        "no value configured for cancel, and bulk-verify jobs have no campaign"
    );
    let app = spawn_app(&[]);
    let campaign = app.seed(JobType::CampaignRun, JobStatus::Running, "camp-9");
    let res = app
        .post(&format!("/v1/jobs/{}/pause", campaign.id))
        .user(OPERATOR)
        .send();
    assert_eq!(res.json["campaign"], Value::Null);
    assert!(
        app.fake.row_updates.lock().unwrap().is_empty(),
        "off by default"
    );
}
