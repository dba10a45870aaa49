//! The SQS_POLL hook through its real handler on the in-memory store: the long-lived polling job of
//! `docs/hooks.md` — each scheduled run starts (finding the active job for the reference
//! `sqs-poller`) and heartbeats; pause makes runs skip polling; resume, cancel and replacement.

#[path = "../../../hook-campaign-run/tests/it/support.rs"]
mod support;

use chrono::Duration;
use serde_json::{json, Value};
use shared::job::{Event, JobStatus};
use support::{spawn_app, App};

/// One scheduled poller run: start, and when told to continue, poll and heartbeat.
/// Returns the job id, the control value, and whether it polled.
fn run(app: &App, processed: u64) -> (String, String, bool) {
    app.advance(Duration::seconds(60));
    let (status, body) = app.call(json!({"event": "start", "referenceId": "sqs-poller"}));
    assert!(status == 200 || status == 201, "{body}");
    let id = body["job"]["$id"].as_str().unwrap().to_owned();
    let control = body["control"].as_str().unwrap().to_owned();
    if control != "continue" {
        return (id, control, false);
    }
    // Polling takes a while (heartbeats within a second of a write are coalesced), and the
    // heartbeat carries the run this start began (docs/hooks.md § Runs).
    app.advance(Duration::seconds(5));
    let run = body["run"].clone();
    let (status, body) = app.call(json!({
        "event": "heartbeat", "jobId": id, "run": run,
        "message": format!("{processed} messages processed"),
        "details": {"messagesProcessed": processed, "lastPollAt": app.now().to_rfc3339()}
    }));
    assert_eq!(status, 200, "{body}");
    (id, body["control"].as_str().unwrap().to_owned(), true)
}

#[test]
fn every_run_heartbeats_the_same_long_lived_polling_job() {
    let app = spawn_app(hook_sqs_poll::handle);
    let (first, control, polled) = run(&app, 12);
    assert_eq!((control.as_str(), polled), ("continue", true));
    let (second, _, _) = run(&app, 30);
    assert_eq!(first, second);
    let job = app.job(&first);
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(job.heartbeat_at, app.now());
    assert_eq!(
        job.metadata["lastHeartbeat"]["messagesProcessed"],
        Value::from(30)
    );
    assert_eq!(job.progress, 0, "polling progress is indeterminate");
}

#[test]
fn a_paused_poller_skips_polling_without_writes_until_resumed() {
    let app = spawn_app(hook_sqs_poll::handle);
    let (id, _, _) = run(&app, 1);
    app.user(&id, Event::Pause);
    let writes = app.writes();
    let (same, control, polled) = run(&app, 0);
    assert_eq!(
        (same.as_str(), control.as_str(), polled),
        (id.as_str(), "pause", false)
    );
    assert_eq!(app.writes(), writes);

    app.user(&id, Event::Resume);
    let (same, control, polled) = run(&app, 5);
    assert_eq!(
        (same.as_str(), control.as_str(), polled),
        (id.as_str(), "continue", true)
    );
    assert_eq!(app.job(&id).status, JobStatus::Running);
}

#[test]
fn a_cancelled_or_failed_polling_job_is_replaced_by_the_next_run() {
    let app = spawn_app(hook_sqs_poll::handle);
    let (first, _, _) = run(&app, 1);
    app.user(&first, Event::Cancel);
    let (second, control, polled) = run(&app, 2);
    assert_ne!(
        first, second,
        "a new polling job replaces the cancelled one"
    );
    assert_eq!((control.as_str(), polled), ("continue", true));

    let (status, _) =
        app.call(json!({"event": "fail", "jobId": second, "error": "SQS unreachable"}));
    assert_eq!(status, 200);
    let (third, _, _) = run(&app, 3);
    assert_ne!(third, second);
    assert_eq!(app.job(&first).status, JobStatus::Cancelled);
    assert_eq!(app.job(&second).status, JobStatus::Failed);
}
