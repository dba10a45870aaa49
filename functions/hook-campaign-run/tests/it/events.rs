//! Every event of the protocol, answered with the job and its control value.

use serde_json::json;
use shared::job::{EventKind, JobStatus};

use crate::support::spawn_app;

fn app() -> crate::support::App {
    spawn_app(hook_campaign_run::handle)
}

#[test]
fn start_creates_a_running_campaign_run_job_and_answers_continue() {
    let app = app();
    let (status, body) = app.call(json!({
        "event": "start", "referenceId": "campaign-42", "total": 200,
        "message": "sending", "metadata": {"campaignName": "Spring"}
    }));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["created"], true);
    assert_eq!(body["control"], "continue");
    assert_eq!(body["job"]["type"], "CAMPAIGN_RUN");
    assert_eq!(body["job"]["status"], "RUNNING");
    assert_eq!(body["job"]["referenceId"], "campaign-42");
    assert_eq!(body["job"]["metadata"]["campaignName"], "Spring");
    let id = body["job"]["$id"].as_str().unwrap();
    let events = app.events(id);
    assert_eq!(events[0].kind, EventKind::Created);
    assert_eq!(events[0].actor, "function:hook-campaign-run");
}

#[test]
fn a_retried_start_with_the_same_idempotency_key_returns_the_same_job() {
    let app = app();
    let start = json!({"event": "start", "referenceId": "c1", "idempotencyKey": "c1:run-1"});
    let (first, a) = app.call(start.clone());
    let (second, b) = app.call(start);
    assert_eq!((first, second), (201, 200));
    assert_eq!(a["job"]["$id"], b["job"]["$id"]);
    assert_eq!(b["created"], false);
}

#[test]
fn a_keyless_start_for_a_campaign_with_an_active_job_returns_that_job() {
    let app = app();
    let id = app.start("c1");
    let (status, body) = app.call(json!({"event": "start", "referenceId": "c1"}));
    assert_eq!(status, 200);
    assert_eq!(body["job"]["$id"], id.as_str());
}

#[test]
fn progress_with_done_of_total_sets_percent_message_and_checkpoint() {
    let app = app();
    let (_, body) = app.call(json!({"event": "start", "referenceId": "c1", "total": 200}));
    let id = body["job"]["$id"].as_str().unwrap();
    let (status, body) = app.call(json!({
        "event": "progress", "jobId": id, "done": 50,
        "message": "50/200 emails sent", "checkpoint": {"cursor": "lead-50"}
    }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["control"], "continue");
    assert_eq!(body["job"]["progress"], 25);
    assert_eq!(body["job"]["progressMessage"], "50/200 emails sent");
    assert_eq!(app.job(id).checkpoint, Some(json!({"cursor": "lead-50"})));
}

#[test]
fn progress_with_a_percent_rounds_fractions_down() {
    let app = app();
    let id = app.start("c1");
    let (status, body) = app.call(json!({"event": "progress", "jobId": id, "percent": 33.9}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"]["progress"], 33);
}

#[test]
fn heartbeat_keeps_the_job_alive_and_records_its_details() {
    let app = app();
    let id = app.start("c1");
    app.advance(chrono::Duration::seconds(30));
    let (status, body) = app.call(json!({
        "event": "heartbeat", "jobId": id, "message": "still sending",
        "details": {"batch": 3}
    }));
    assert_eq!(status, 200, "{body}");
    let job = app.job(&id);
    assert_eq!(job.heartbeat_at, app.now());
    assert_eq!(job.metadata["lastHeartbeat"], json!({"batch": 3}));
}

#[test]
fn paused_confirms_the_stop_and_keeps_the_checkpoint() {
    let app = app();
    let id = app.start("c1");
    let (status, body) = app.call(json!({
        "event": "paused", "jobId": id, "checkpoint": {"cursor": "lead-7"}
    }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["control"], "pause");
    assert_eq!(app.job(&id).status, JobStatus::Paused);
    assert_eq!(app.job(&id).checkpoint, Some(json!({"cursor": "lead-7"})));
}

#[test]
fn complete_stores_the_result_summary_and_tells_the_worker_to_stop() {
    let app = app();
    let id = app.start("c1");
    let (status, body) = app.call(json!({
        "event": "complete", "jobId": id, "message": "done",
        "result": {"sent": 190, "failed": 4, "bounced": 6}
    }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"]["status"], "COMPLETED");
    assert_eq!(body["job"]["progress"], 100);
    assert_eq!(body["job"]["result"]["bounced"], 6);
    assert_eq!(body["control"], "cancel");
}

#[test]
fn fail_records_the_error_message() {
    let app = app();
    let id = app.start("c1");
    let (status, body) =
        app.call(json!({"event": "fail", "jobId": id, "error": "SES quota exceeded"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"]["status"], "FAILED");
    assert_eq!(body["job"]["errorMessage"], "SES quota exceeded");
}

#[test]
fn the_caller_header_names_the_acting_function_on_events() {
    let app = app();
    let body = json!({"event": "start", "referenceId": "c1"}).to_string();
    let context = shared::tracker::server_context(body.as_bytes(), Some("orchestrator")).unwrap();
    let (status, body) = app.send(context);
    assert_eq!(status, 201);
    let id = body["job"]["$id"].as_str().unwrap();
    assert_eq!(app.events(id)[0].actor, "function:orchestrator");
}
