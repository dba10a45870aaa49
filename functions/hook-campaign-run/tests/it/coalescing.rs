//! Progress writes are coalesced in the hook: 100,000 calls cost a few hundred writes, and a
//! skipped call still answers the current control value.

use serde_json::json;
use shared::job::Event;

use crate::support::spawn_app;

#[test]
fn a_hundred_thousand_progress_calls_cost_at_most_250_store_writes() {
    let app = spawn_app(hook_campaign_run::handle);
    let (_, body) = app.call(json!({"event": "start", "referenceId": "c1", "total": 100_000}));
    let id = body["job"]["$id"].as_str().unwrap().to_owned();
    let before = app.writes();
    for done in 1..=100_000u64 {
        // A call per millisecond: 100 s of work, so time alone allows ~100 writes.
        app.advance(chrono::Duration::milliseconds(1));
        let (status, _) = app.call(json!({
            "event": "progress", "jobId": id, "done": done,
            "message": format!("{done}/100000 emails sent")
        }));
        assert_eq!(status, 200);
    }
    let writes = app.writes() - before;
    println!("100000 progress calls -> {writes} store writes");
    assert!(writes <= 250, "{writes} writes");
    assert_eq!(app.job(&id).progress, 100);
}

#[test]
fn a_coalesced_progress_call_still_answers_a_pause() {
    let app = spawn_app(hook_campaign_run::handle);
    let id = app.start("c1");
    app.user(&id, Event::Pause);
    let writes = app.writes();
    let (status, body) = app.call(json!({"event": "progress", "jobId": id, "percent": 0}));
    assert_eq!(status, 200);
    assert_eq!(body["control"], "pause");
    assert_eq!(app.writes(), writes, "nothing changed, nothing written");
}
