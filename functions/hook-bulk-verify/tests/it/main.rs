//! The BULK_VERIFY hook through its real handler on the in-memory store: the same protocol as every
//! hook (tested in full in hook-campaign-run), with this hook's type and result summary.

#[path = "../../../hook-campaign-run/tests/it/support.rs"]
mod support;

use serde_json::json;
use shared::job::JobStatus;
use support::spawn_app;

#[test]
fn a_verification_batch_runs_start_progress_heartbeat_and_complete_as_bulk_verify() {
    let app = spawn_app(hook_bulk_verify::handle);
    let (status, body) = app.call(json!({
        "event": "start", "referenceId": "list-7", "total": 1000,
        "idempotencyKey": "bulk-verify:list-7:1"
    }));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["job"]["type"], "BULK_VERIFY");
    let id = body["job"]["$id"].as_str().unwrap().to_owned();
    let (status, body) = app.call(json!({"event": "progress", "jobId": id, "done": 500}));
    assert_eq!((status, body["job"]["progress"].as_u64()), (200, Some(50)));
    let (status, _) = app.call(json!({"event": "heartbeat", "jobId": id}));
    assert_eq!(status, 200);
    let (status, body) = app.call(json!({
        "event": "complete", "jobId": id,
        "result": {"valid": 700, "invalid": 200, "risky": 60, "unknown": 40}
    }));
    assert_eq!(status, 200, "{body}");
    let job = app.job(&id);
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.result.unwrap()["risky"], 60);
    assert_eq!(app.events(&id)[0].actor, "function:hook-bulk-verify");
}

#[test]
fn a_cancelled_verification_answers_cancel_to_its_next_report() {
    let app = spawn_app(hook_bulk_verify::handle);
    let id = app.start("list-7");
    app.user(&id, shared::job::Event::Cancel);
    let (status, body) = app.call(json!({"event": "progress", "jobId": id, "percent": 10}));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["control"], "cancel");
    assert_eq!(body["job"]["status"], "CANCELLED");
}

#[test]
fn a_failed_verification_records_its_error_and_partial_counts() {
    let app = spawn_app(hook_bulk_verify::handle);
    let id = app.start("list-7");
    let (status, body) = app.call(json!({
        "event": "fail", "jobId": id, "error": "verifier API down",
        "result": {"valid": 10}
    }));
    assert_eq!(status, 200, "{body}");
    let job = app.job(&id);
    assert_eq!(job.error_message.as_deref(), Some("verifier API down"));
    assert_eq!(job.result.unwrap()["valid"], 10);
}
