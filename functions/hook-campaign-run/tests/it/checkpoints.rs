//! Checkpoints are never lost for long: a changed one reaches the store within one interval of
//! the worker's calls (docs/hooks.md § Checkpoint window), and `paused`, `complete` and
//! `fail` always store theirs, so a retry after a failure starts where the worker stopped.

use std::sync::Arc;

use serde_json::json;
use shared::hooks::{ProgressRequest, StartRequest};
use shared::tracker::{Coalescing, InProcess, JobTracker};
use shared::usecase::{self, Act};

use crate::support::spawn_app;

#[test]
fn a_changed_checkpoint_is_stored_within_one_interval() {
    let app = spawn_app(hook_campaign_run::handle);
    let transport = Arc::new(InProcess {
        hook: hook_campaign_run::HOOK,
        platform: app.platform.clone(),
        caller: Some("orchestrator".into()),
    });
    // The tracker's default coalescing, as a worker uses it.
    let mut tracker = JobTracker::with_clock(transport, app.platform.clock.clone())
        .coalescing(Coalescing::default());
    tracker
        .start(StartRequest {
            reference_id: "campaign-42".into(),
            total: Some(1_000_000),
            ..StartRequest::default()
        })
        .unwrap();
    let id = tracker.job().unwrap().id.clone();
    // A call every 100 ms; the percent barely moves, the cursor moves on every call.
    let mut sent_at = Vec::new();
    for sent in 1..=300u64 {
        app.advance(chrono::Duration::milliseconds(100));
        tracker
            .progress(ProgressRequest {
                done: Some(sent),
                checkpoint: Some(json!({"sent": sent})),
                ..ProgressRequest::default()
            })
            .unwrap();
        sent_at.push((app.now(), sent));
        let stored = app
            .job(&id)
            .checkpoint
            .and_then(|c| c["sent"].as_u64())
            .unwrap_or(0);
        // Every checkpoint sent at least an interval (2 s) ago is in the store, or a newer one is.
        let due = sent_at
            .iter()
            .filter(|(t, _)| app.now() - *t >= chrono::Duration::seconds(2))
            .map(|(_, s)| *s)
            .max()
            .unwrap_or(0);
        assert!(
            stored >= due,
            "after call {sent}: stored {stored}, due {due}"
        );
    }
    // And the cost stays a call per interval, not a call per checkpoint.
    assert!(tracker.calls() <= 1 + 16, "{} calls", tracker.calls());
}

#[test]
fn fail_stores_its_checkpoint_and_a_retry_starts_from_it() {
    let app = spawn_app(hook_campaign_run::handle);
    let id = app.start("campaign-42");
    let (status, body) = app.call(json!({
        "event": "fail", "jobId": id, "error": "SES throttled", "checkpoint": {"sent": 120}
    }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.job(&id).checkpoint, Some(json!({"sent": 120})));
    let act = Act::new(&*app.store, "user:u1", app.now());
    let retried = usecase::retry(&act, &id, None).unwrap();
    let (status, body) = app.call(json!({
        "event": "start", "jobId": retried.id, "run": retried.run, "referenceId": "campaign-42"
    }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checkpoint"], json!({"sent": 120}));
}

#[test]
fn complete_and_paused_always_store_their_checkpoint_even_inside_the_coalescing_window() {
    let app = spawn_app(hook_campaign_run::handle);
    let id = app.start("campaign-42");
    let (_, body) = app.call(json!({
        "event": "progress", "jobId": id, "percent": 10, "checkpoint": {"sent": 10}
    }));
    assert_eq!(body["control"], "continue");
    // No time passes: a progress here would be coalesced, a `paused` is not.
    app.user(&id, shared::job::Event::Pause);
    let (_, body) = app.call(json!({"event": "paused", "jobId": id, "checkpoint": {"sent": 11}}));
    assert_eq!(body["job"]["checkpoint"], json!({"sent": 11}));
    let (status, body) = app.call(json!({
        "event": "complete", "jobId": id, "result": {"sent": 12}, "checkpoint": {"sent": 12}
    }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.job(&id).checkpoint, Some(json!({"sent": 12})));
}
