//! `POST /v1/jobs/batch`: one action on many jobs, each done, audited and answered as its single
//! action would be, at a bounded store cost, with per-job results and a whole-call refusal only
//! for the caller or the input.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use shared::job::{Job, JobStatus, JobType};
use shared::store::JobStore;
use shared::usecase;

use crate::support::{spawn_app, TestApp, TestResponse, OPERATOR, VIEWER};

const WORKERS: &[(&str, &str)] = &[("JOBS_WORKER_CAMPAIGN_RUN", "orchestrator")];

fn batch(app: &TestApp, user: &str, body: Value) -> TestResponse {
    app.post("/v1/jobs/batch").user(user).json(body).send()
}

fn ids(jobs: &[Job]) -> Vec<String> {
    jobs.iter().map(|j| j.id.clone()).collect()
}

/// The ids of a batch answer's results, in their order, with each one's `ok` and `status`.
fn outcomes(res: &TestResponse) -> Vec<(String, bool, u64)> {
    res.json["results"]
        .as_array()
        .expect("a results array")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["ok"].as_bool().unwrap(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_retry_of_ten_failed_jobs_creates_ten_linked_jobs_audits_each_and_costs_one_read_and_two_writes_a_job(
) {
    let app = spawn_app(WORKERS);
    let failed: Vec<Job> = (0..10)
        .map(|i| app.seed(JobType::CampaignRun, JobStatus::Failed, &format!("c{i}")))
        .collect();
    let calls = app.store_calls();
    let res = batch(
        &app,
        OPERATOR,
        json!({"action": "retry", "ids": ids(&failed), "reason": "quota raised"}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        (
            &res.json["action"],
            &res.json["requested"],
            &res.json["succeeded"],
            &res.json["failed"]
        ),
        (&json!("retry"), &json!(10), &json!(10), &json!(0))
    );
    let want: Vec<(String, bool, u64)> = failed.iter().map(|j| (j.id.clone(), true, 201)).collect();
    assert_eq!(outcomes(&res), want, "in the order of the request");
    // One read of the ten jobs and their possible earlier retries, then per job the retry's
    // create and the link of its re-triggered execution.
    assert_eq!(app.store_calls() - calls, 1 + 10 * 2);
    let executions = app.fake.executions.lock().unwrap().clone();
    assert_eq!(executions.len(), 10, "one re-trigger per new job");
    for (i, (old, result)) in failed
        .iter()
        .zip(res.json["results"].as_array().unwrap())
        .enumerate()
    {
        let new_id = result["job"]["$id"].as_str().unwrap();
        assert_eq!(result["job"]["retryOf"], old.id.as_str());
        assert_eq!(result["trigger"]["status"], "triggered");
        assert_eq!(result["warning"], Value::Null);
        assert_eq!(executions[i].1["jobId"], new_id);
        let stored = app.store.inner.get(new_id).unwrap();
        let exec = format!("exec{}", i + 1);
        assert_eq!(
            (stored.status, stored.execution_id.as_deref()),
            (JobStatus::Queued, Some(exec.as_str())),
            "linked to its execution as a single retry is"
        );
        let log = app.store.inner.events(new_id, 10).unwrap();
        assert_eq!(log.len(), 1, "its own log, one entry");
        assert_eq!(log[0].actor, "user:alice");
        assert_eq!(log[0].message.as_deref(), Some("quota raised"));
        assert_eq!(log[0].details["roleSource"], "label:jobsoperator");
        assert_eq!(log[0].details["via"], "job-actions");
        assert_eq!(log[0].details["retryOf"], old.id.as_str());
        assert_eq!(log[0].details["batch"], true);
    }

    // The same batch again finds every earlier retry in its one read and writes nothing.
    let before = app.snapshot();
    let calls = app.store_calls();
    let again = batch(
        &app,
        OPERATOR,
        json!({"action": "retry", "ids": ids(&failed)}),
    );
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(app.store_calls() - calls, 1);
    assert_eq!(app.snapshot(), before);
    for (first, second) in res.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(again.json["results"].as_array().unwrap())
    {
        assert_eq!(second["status"], 200);
        assert_eq!(second["trigger"]["status"], "skipped");
        assert_eq!(second["job"]["$id"], first["job"]["$id"]);
    }
    assert_eq!(app.fake.executions.lock().unwrap().len(), 10);
}

#[test]
fn a_retry_batch_refuses_a_running_job_with_its_own_409_and_retries_the_others() {
    let app = spawn_app(WORKERS);
    let failed = app.seed(JobType::CampaignRun, JobStatus::Failed, "c1");
    let running = app.seed(JobType::CampaignRun, JobStatus::Running, "c2");
    let cancelled = app.seed(JobType::CampaignRun, JobStatus::Cancelled, "c3");
    let running_rev = app.store.inner.get(&running.id).unwrap().rev;
    let res = batch(
        &app,
        OPERATOR,
        json!({"action": "retry", "ids": [failed.id, running.id, cancelled.id]}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        outcomes(&res),
        vec![
            (failed.id.clone(), true, 201),
            (running.id.clone(), false, 409),
            (cancelled.id.clone(), true, 201),
        ]
    );
    assert_eq!(
        (&res.json["succeeded"], &res.json["failed"]),
        (&json!(2), &json!(1))
    );
    let refused = &res.json["results"][1];
    assert_eq!(refused["error"]["code"], "not_retryable");
    assert_eq!(
        refused["error"]["status"], "RUNNING",
        "the job's status, as a single 409 says"
    );
    assert!(refused.get("job").is_none(), "{refused}");
    assert_eq!(app.store.inner.get(&running.id).unwrap().rev, running_rev);
    assert_eq!(app.fake.executions.lock().unwrap().len(), 2);
}

#[test]
fn a_pause_batch_audits_each_job_in_its_own_log_as_a_single_pause_does() {
    let app = spawn_app(&[]);
    let jobs: Vec<Job> = (0..3)
        .map(|i| app.seed(JobType::BulkVerify, JobStatus::Running, &format!("l{i}")))
        .collect();
    app.advance(5);
    let calls = app.store_calls();
    let res = batch(
        &app,
        OPERATOR,
        json!({"action": "pause", "ids": ids(&jobs), "reason": "  SES quota  "}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        app.store_calls() - calls,
        1 + 3,
        "one read, one write a job"
    );
    for (job, result) in jobs.iter().zip(res.json["results"].as_array().unwrap()) {
        assert_eq!(result["status"], 200);
        assert_eq!(result["job"]["status"], "PAUSED");
        assert_eq!(result["job"]["lastReason"], "SES quota");
        assert_eq!(result["trigger"], Value::Null);
        let last = app.store.inner.events(&job.id, 100).unwrap().pop().unwrap();
        assert_eq!(last.actor, "user:alice");
        assert_eq!(last.at, app.now());
        assert_eq!(last.message.as_deref(), Some("SES quota"));
        assert_eq!(last.details["roleSource"], "label:jobsoperator");
        assert_eq!(
            (last.from_status, last.to_status),
            (Some(JobStatus::Running), Some(JobStatus::Paused))
        );
    }
}

#[test]
fn a_resume_batch_begins_a_new_run_for_each_job_and_links_its_retriggered_execution() {
    let app = spawn_app(WORKERS);
    let paused: Vec<Job> = (0..3)
        .map(|i| app.seed(JobType::CampaignRun, JobStatus::Paused, &format!("c{i}")))
        .collect();
    let calls = app.store_calls();
    let res = batch(
        &app,
        OPERATOR,
        json!({"action": "resume", "ids": ids(&paused)}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    // One read; per job the resume's write and the link's.
    assert_eq!(app.store_calls() - calls, 1 + 3 * 2);
    let executions = app.fake.executions.lock().unwrap().clone();
    for (i, job) in paused.iter().enumerate() {
        let exec = format!("exec{}", i + 1);
        assert_eq!(
            executions[i].1,
            json!({"event": "start", "jobId": job.id, "run": job.run + 1, "referenceId": job.reference_id,
                   "checkpoint": {"offset": 50}})
        );
        let stored = app.store.inner.get(&job.id).unwrap();
        assert_eq!(
            (stored.status, stored.run, stored.execution_id.as_deref()),
            (JobStatus::Queued, job.run + 1, Some(exec.as_str()))
        );
        assert_eq!(res.json["results"][i]["job"]["executionId"], exec.as_str());
    }
}

#[test]
fn a_store_failure_on_one_write_fails_that_job_with_a_5xx_and_the_others_are_done() {
    let app = spawn_app(&[]);
    let jobs: Vec<Job> = (0..3)
        .map(|i| app.seed(JobType::CampaignRun, JobStatus::Running, &format!("c{i}")))
        .collect();
    app.store
        .hook
        .refuse_writes_to
        .lock()
        .unwrap()
        .push(jobs[1].id.clone());
    let res = app
        .post("/v1/jobs/batch")
        .user(OPERATOR)
        .header("x-appwrite-execution-id", "exec-batch")
        .json(json!({"action": "cancel", "ids": ids(&jobs)}))
        .send();
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        outcomes(&res),
        vec![
            (jobs[0].id.clone(), true, 200),
            (jobs[1].id.clone(), false, 503),
            (jobs[2].id.clone(), true, 200),
        ]
    );
    let error = &res.json["results"][1]["error"];
    assert_eq!(error["code"], "store_unavailable");
    assert_eq!(error["retryable"], true);
    assert_eq!(error["requestId"], "exec-batch");
    assert!(
        !res.body.contains("injected outage"),
        "the cause stays in the log"
    );
    let status = |job: &Job| app.store.inner.get(&job.id).unwrap().status;
    assert_eq!(
        jobs.iter().map(status).collect::<Vec<_>>(),
        [
            JobStatus::Cancelled,
            JobStatus::Running,
            JobStatus::Cancelled
        ]
    );
}

#[test]
fn a_failed_retry_create_fails_that_job_and_the_others_are_retried() {
    let app = spawn_app(WORKERS);
    let failed: Vec<Job> = (0..2)
        .map(|i| app.seed(JobType::CampaignRun, JobStatus::Failed, &format!("c{i}")))
        .collect();
    app.store
        .hook
        .refuse_writes_to
        .lock()
        .unwrap()
        .push(usecase::retry_id(&failed[0].id));
    let res = batch(
        &app,
        OPERATOR,
        json!({"action": "retry", "ids": ids(&failed)}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        outcomes(&res),
        vec![
            (failed[0].id.clone(), false, 503),
            (failed[1].id.clone(), true, 201)
        ]
    );
    assert_eq!(
        app.fake.executions.lock().unwrap().len(),
        1,
        "only the created job's worker"
    );
}

/// A bug that panics while acting on one job must not hide what was done before it.
#[test]
fn a_panic_on_one_job_is_that_jobs_500_and_the_jobs_before_it_are_reported_done() {
    let app = spawn_app(WORKERS);
    let paused: Vec<Job> = (0..3)
        .map(|i| app.seed(JobType::CampaignRun, JobStatus::Paused, &format!("c{i}")))
        .collect();
    let last = paused[2].id.clone();
    *app.fake.on_execution.lock().unwrap() = Some(Box::new(move |_, body, _| {
        assert_ne!(body["jobId"], last.as_str(), "injected panic");
    }));
    let res = batch(
        &app,
        OPERATOR,
        json!({"action": "resume", "ids": ids(&paused)}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        outcomes(&res),
        vec![
            (paused[0].id.clone(), true, 200),
            (paused[1].id.clone(), true, 200),
            (paused[2].id.clone(), false, 500),
        ]
    );
    let error = &res.json["results"][2]["error"];
    assert_eq!(error["code"], "internal");
    assert!(!res.body.contains("injected panic"), "{}", res.body);
}

#[test]
fn a_failed_first_read_is_a_503_for_the_whole_call_and_writes_nothing() {
    let app = spawn_app(&[]);
    let job = app.seed(JobType::CampaignRun, JobStatus::Running, "c1");
    let before = app.snapshot();
    app.store.hook.refuse_reads.store(true, Ordering::SeqCst);
    let res = batch(&app, OPERATOR, json!({"action": "cancel", "ids": [job.id]}));
    assert_eq!(res.status, 503, "{}", res.body);
    assert_eq!(res.code(), "store_unavailable");
    app.store.hook.refuse_reads.store(false, Ordering::SeqCst);
    assert_eq!(app.snapshot(), before);
}

#[test]
fn unknown_and_impossible_ids_are_per_job_404s_and_duplicates_are_acted_on_once() {
    let app = spawn_app(&[]);
    let job = app.seed(JobType::CampaignRun, JobStatus::Running, "c1");
    let res = batch(
        &app,
        OPERATOR,
        json!({"action": "cancel", "ids": ["j-missing", job.id, "../x", job.id]}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        outcomes(&res),
        vec![
            ("j-missing".to_owned(), false, 404),
            (job.id.clone(), true, 200),
            ("../x".to_owned(), false, 404),
        ]
    );
    assert_eq!(res.json["requested"], 3);
    for i in [0, 2] {
        assert_eq!(res.json["results"][i]["error"]["code"], "job_not_found");
        assert_eq!(res.json["results"][i]["error"]["field"], "jobId");
    }
    let cancels = app
        .store
        .inner
        .events(&job.id, 100)
        .unwrap()
        .iter()
        .filter(|e| e.to_status == Some(JobStatus::Cancelled))
        .count();
    assert_eq!(cancels, 1);
}

#[test]
fn viewers_get_403_for_the_whole_call_and_nothing_changes() {
    let app = spawn_app(WORKERS);
    let failed = app.seed(JobType::CampaignRun, JobStatus::Failed, "c1");
    let running = app.seed(JobType::CampaignRun, JobStatus::Running, "c2");
    let before = app.snapshot();
    for action in ["retry", "cancel", "pause", "resume"] {
        let body = json!({"action": action, "ids": [failed.id, running.id]});
        let res = batch(&app, VIEWER, body.clone());
        assert_eq!(res.status, 403, "{action}: {}", res.body);
        assert_eq!(res.code(), "forbidden");
        let res = app.post("/v1/jobs/batch").json(body).send();
        assert_eq!(res.status, 401, "{action}: {}", res.body);
    }
    assert_eq!(app.snapshot(), before);
    assert!(app.fake.executions.lock().unwrap().is_empty());
}

#[test]
fn more_than_a_hundred_distinct_ids_is_a_400_naming_ids_while_repeats_do_not_count() {
    let app = spawn_app(&[]);
    let before = app.snapshot();
    let distinct: Vec<String> = (0..101).map(|i| format!("j-{i}")).collect();
    let res = batch(&app, OPERATOR, json!({"action": "cancel", "ids": distinct}));
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!((res.code(), res.field()), ("invalid_input", "ids"));
    // A hundred distinct ids, each sent twice, is a batch of a hundred.
    let twice: Vec<String> = (0..200).map(|i| format!("j-{}", i % 100)).collect();
    let calls = app.store_calls();
    let res = batch(&app, OPERATOR, json!({"action": "cancel", "ids": twice}));
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        (&res.json["requested"], &res.json["failed"]),
        (&json!(100), &json!(100))
    );
    assert_eq!(app.store_calls() - calls, 1, "none exists: the one read");
    assert_eq!(app.snapshot(), before);
}

#[test]
fn bad_batch_bodies_are_400s_naming_the_field_and_write_nothing() {
    let app = spawn_app(&[]);
    let job = app.seed(JobType::CampaignRun, JobStatus::Running, "c1");
    let before = app.snapshot();
    let calls = app.store_calls();
    for (body, field) in [
        (json!({"ids": [job.id]}), "action"),
        (json!({"action": "delete", "ids": [job.id]}), "action"),
        (json!({"action": 1, "ids": [job.id]}), "action"),
        (json!({"action": "cancel"}), "ids"),
        (json!({"action": "cancel", "ids": []}), "ids"),
        (json!({"action": "cancel", "ids": job.id}), "ids"),
        (json!({"action": "cancel", "ids": [job.id, 7]}), "ids"),
        // The reason is checked as a single action checks it.
        (
            json!({"action": "cancel", "ids": [job.id], "reason": 5}),
            "reason",
        ),
        (
            json!({"action": "cancel", "ids": [job.id], "force": true}),
            "force",
        ),
        (json!([job.id]), "body"),
    ] {
        let res = batch(&app, OPERATOR, body.clone());
        assert_eq!(res.status, 400, "{body}: {}", res.body);
        assert_eq!(
            (res.code(), res.field()),
            ("invalid_input", field),
            "{body}"
        );
    }
    for raw in ["", "{", "\"cancel\""] {
        let res = app.post("/v1/jobs/batch").user(OPERATOR).body(raw).send();
        assert_eq!(res.status, 400, "{raw:?}: {}", res.body);
    }
    let res = app
        .post("/v1/jobs/batch?dryRun=1")
        .user(OPERATOR)
        .json(json!({}))
        .send();
    assert_eq!((res.status, res.field()), (400, "dryRun"));
    assert_eq!(app.store_calls(), calls, "nothing was even read");
    assert_eq!(app.snapshot(), before);
}

#[test]
fn the_batch_path_is_post_only_and_is_not_taken_for_a_job_id() {
    let app = spawn_app(&[]);
    let res = app.get("/v1/jobs/batch").user(OPERATOR).send();
    assert_eq!(res.status, 405, "{}", res.body);
    assert_eq!(res.headers["allow"], "POST, OPTIONS");
}
