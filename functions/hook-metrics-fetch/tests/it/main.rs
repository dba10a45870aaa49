//! The METRICS_FETCH hook through its real handler on the in-memory store: a short job per run,
//! keyed by the run's execution id so a retried start within the run finds the same job.

#[path = "../../../hook-campaign-run/tests/it/support.rs"]
mod support;

use serde_json::json;
use shared::job::JobStatus;
use support::spawn_app;

fn start(app: &support::App, execution: &str) -> (u16, serde_json::Value) {
    app.call(json!({
        "event": "start", "referenceId": "aws-metrics",
        "idempotencyKey": format!("metrics-fetch:{execution}")
    }))
}

#[test]
fn each_run_is_its_own_job_completed_with_quota_and_sending_statistics() {
    let app = spawn_app(hook_metrics_fetch::handle);
    let (status, first) = start(&app, "exec-1");
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["job"]["type"], "METRICS_FETCH");
    let id = first["job"]["$id"].as_str().unwrap().to_owned();
    let (status, body) = app.call(json!({
        "event": "complete", "jobId": id,
        "result": {"max24HourSend": 50000, "sentLast24Hours": 1200, "bounces": 3, "complaints": 0}
    }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.job(&id).status, JobStatus::Completed);

    let (status, second) = start(&app, "exec-2");
    assert_eq!(status, 201);
    assert_ne!(second["job"]["$id"], first["job"]["$id"]);
}

#[test]
fn a_retried_start_within_a_run_finds_the_runs_job() {
    let app = spawn_app(hook_metrics_fetch::handle);
    let (_, a) = start(&app, "exec-1");
    let (status, b) = start(&app, "exec-1");
    assert_eq!(status, 200);
    assert_eq!(a["job"]["$id"], b["job"]["$id"]);
}

#[test]
fn a_failed_fetch_records_the_error() {
    let app = spawn_app(hook_metrics_fetch::handle);
    let (_, body) = start(&app, "exec-1");
    let id = body["job"]["$id"].as_str().unwrap();
    let (status, body) =
        app.call(json!({"event": "fail", "jobId": id, "error": "AccessDenied: ses:GetSendQuota"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"]["status"], "FAILED");
}
