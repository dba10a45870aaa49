//! The whole observer path on the real binary: executions the dev server runs are delivered by
//! its local webhook, signed like Appwrite's, to `job-observer` through the function's domain,
//! and show up as jobs. Every wait is on a condition with a generous timeout.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{spawn_app_with, App, KEY};

const OBSERVE_RETENTION: [(&str, &str); 3] = [
    (
        "JOBS_DEV_WEBHOOK_EVENTS",
        "functions.job-retention.executions.*",
    ),
    ("JOBS_DEV_WEBHOOK_SECRET", "e2e-webhook-secret-0123456789"),
    // job-retention never calls a hook: here it stands for an un-adopted function.
    ("JOBS_OBSERVE_JOB_RETENTION", "METRICS_FETCH"),
];

impl App {
    fn jobs(&self) -> Vec<Value> {
        let (code, list) = self.action("GET", "/v1/jobs?limit=50", Value::Null);
        assert_eq!(code, 200, "{list}");
        list["jobs"].as_array().cloned().unwrap_or_default()
    }

    /// Polls the job list until `done` holds for it (60 s at most).
    fn wait_for_jobs(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let jobs = self.jobs();
            if done(&jobs) {
                return jobs;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {jobs:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn run_async(&self, function: &str) -> String {
        self.run_async_with(function, Value::Null)
    }

    /// Starts an async execution with `body` (as JSON text) and the server key; its id.
    fn run_async_with(&self, function: &str, body: Value) -> String {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let res = self
            .http
            .post(format!("{}/v1/functions/{function}/executions", self.url))
            .header("x-appwrite-key", KEY)
            .json(&json!({"async": true, "body": body}))
            .send()
            .unwrap();
        assert_eq!(res.status().as_u16(), 202);
        res.json::<Value>().unwrap()["$id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

#[test]
fn an_unadopted_function_execution_appears_as_a_job_and_completes() {
    let (app, _) = spawn_app_with("operator", &OBSERVE_RETENTION);
    let execution = app.run_async("job-retention");
    let jobs = app.wait_for_jobs("a completed mirror job", |jobs| {
        jobs.iter().any(|j| j["status"] == "COMPLETED")
    });
    let job = &jobs[0];
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(job["type"], "METRICS_FETCH");
    assert_eq!(job["metadata"]["executionId"], execution.as_str());
    assert_eq!(job["metadata"]["observed"], true);
    let id = job["$id"].as_str().unwrap();
    let (_, detail) = app.action("GET", &format!("/v1/jobs/{id}"), Value::Null);
    let linked = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["details"]["executionId"] == execution.as_str());
    assert!(linked, "{detail:#}");
}

#[test]
fn an_unadopted_function_execution_that_fails_fails_its_job_with_the_execution_named() {
    let mut vars = OBSERVE_RETENTION.to_vec();
    // An invalid setting makes every retention run answer 500: a failed execution.
    vars.push(("JOBS_RETENTION_KEEP", "many"));
    let (app, _) = spawn_app_with("operator", &vars);
    let execution = app.run_async("job-retention");
    let jobs = app.wait_for_jobs("a failed mirror job", |jobs| {
        jobs.iter().any(|j| j["status"] == "FAILED")
    });
    let error = jobs[0]["errorMessage"].as_str().unwrap();
    assert!(
        error.contains(&execution) && error.contains("status code 500"),
        "{error}"
    );
}

#[test]
fn a_delivery_with_a_forged_signature_is_refused_and_writes_nothing() {
    let (app, _) = spawn_app_with("operator", &OBSERVE_RETENTION);
    let body = json!({"$id": "forged1", "functionId": "job-retention", "status": "completed",
        "duration": 1.0, "responseStatusCode": 200});
    let res = app
        .http
        .post(format!("{}/domains/job-observer/", app.url))
        .header("x-appwrite-webhook-signature", "c2lnbmVkIGJ5IG5vYm9keQ==")
        .body(body.to_string())
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let answer: Value = res.json().unwrap();
    assert_eq!(answer["error"]["code"], "invalid_signature");
    assert!(app.jobs().is_empty());
}

#[test]
fn a_function_whose_execute_does_not_allow_anyone_has_no_domain() {
    let (app, _) = spawn_app_with("operator", &OBSERVE_RETENTION);
    let res = app
        .http
        .post(format!("{}/domains/job-retention/", app.url))
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let answer: Value = res.json().unwrap();
    assert_eq!(answer["type"], "function_execute_permission_missing");
}

/// The dev server hosting the repository's functions plus the stuck worker with a `timeout` of
/// this many seconds, its execution events delivered to the observer.
fn with_stuck_worker(timeout: u64) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../appwrite.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(repo).unwrap()).unwrap();
    manifest["functions"].as_array_mut().unwrap().push(json!({
        "$id": jobs_dev::stuck::FUNCTION_ID, "execute": [], "schedule": "", "timeout": timeout,
        // Its execution key needs this to call the hooks, as a deployed worker's would.
        "scopes": ["executions.write"],
    }));
    let path = dir.path().join("appwrite.json");
    std::fs::write(&path, manifest.to_string()).unwrap();
    let (app, _) = spawn_app_with(
        "operator",
        &[
            ("JOBS_DEV_MANIFEST", path.to_str().unwrap()),
            (
                "JOBS_DEV_WEBHOOK_EVENTS",
                "functions.demo-stuck-worker.executions.*",
            ),
        ],
    );
    (app, dir)
}

#[test]
fn a_worker_that_ends_without_its_final_report_has_its_job_failed_as_outcome_unknown() {
    // The stuck worker reports, then returns well within its timeout without `complete`: its
    // execution ends `completed` while its run is RUNNING (a final call lost to an outage).
    let (app, _dir) = with_stuck_worker(30);
    let execution = app.run_async_with(
        jobs_dev::stuck::FUNCTION_ID,
        json!({"referenceId": "campaign-unreported", "hangMs": 100}),
    );
    let jobs = app.wait_for_jobs("the unreported worker's job to fail", |jobs| {
        jobs.iter()
            .any(|j| j["referenceId"] == "campaign-unreported" && j["status"] == "FAILED")
    });
    let job = jobs
        .iter()
        .find(|j| j["referenceId"] == "campaign-unreported")
        .unwrap();
    let doc = app.execution("demo-stuck-worker", &execution);
    assert_eq!(doc["status"], "completed", "{doc}");
    let error = job["errorMessage"].as_str().unwrap();
    assert!(
        error.starts_with("outcome unknown: ") && error.contains(&execution),
        "{error}"
    );
    let id = job["$id"].as_str().unwrap();
    let (_, detail) = app.action("GET", &format!("/v1/jobs/{id}"), Value::Null);
    let last = detail["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last["kind"].as_str(),
            last["actor"].as_str(),
            last["details"]["executionId"].as_str(),
            last["details"]["outcome"].as_str(),
        ),
        (
            Some("failed"),
            Some("function:job-observer"),
            Some(execution.as_str()),
            Some("unknown")
        ),
        "{last}"
    );
}

#[test]
fn a_worker_whose_execution_times_out_mid_run_has_its_job_failed_by_the_event_not_the_sweeper() {
    // The repository's functions plus the stuck worker, with a 1 s timeout.
    let (app, _dir) = with_stuck_worker(1);
    let execution = app.run_async_with(
        jobs_dev::stuck::FUNCTION_ID,
        json!({"referenceId": "campaign-stuck", "hangMs": 4000}),
    );
    // The worker reports, so the job runs; then its execution is cut at its timeout.
    let jobs = app.wait_for_jobs("the stuck worker's job to fail", |jobs| {
        jobs.iter()
            .any(|j| j["referenceId"] == "campaign-stuck" && j["status"] == "FAILED")
    });
    let job = jobs
        .iter()
        .find(|j| j["referenceId"] == "campaign-stuck")
        .unwrap();
    let error = job["errorMessage"].as_str().unwrap();
    assert!(
        error.contains(&execution) && error.contains("timed out"),
        "{error}"
    );
    // Failed by the execution's event: after the execution ended (as Appwrite records it,
    // `$updatedAt`), by the observer, long before any stall threshold. How soon is a figure,
    // printed here and measured in benchmarks, never asserted: it depends on the machine.
    let doc = app.execution("demo-stuck-worker", &execution);
    assert_eq!(doc["status"], "failed", "{doc}");
    let ended = chrono::DateTime::parse_from_rfc3339(doc["$updatedAt"].as_str().unwrap()).unwrap();
    let failed =
        chrono::DateTime::parse_from_rfc3339(job["completedAt"].as_str().unwrap()).unwrap();
    let lag = (failed - ended).num_milliseconds();
    println!("observer: job failed {lag} ms after its worker's execution ended");
    assert!(lag >= 0, "failed {lag} ms before the execution ended");
    let id = job["$id"].as_str().unwrap();
    let (_, detail) = app.action("GET", &format!("/v1/jobs/{id}"), Value::Null);
    let last = detail["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last["kind"].as_str(),
            last["details"]["executionId"].as_str()
        ),
        (Some("failed"), Some(execution.as_str())),
        "{last}"
    );
    assert_eq!(last["actor"], "function:job-observer", "{last}");
}
