//! The two sequences of the issue that introduced docs/hooks.md § Exactly once, hook call by hook
//! call, plus the repeated claim and the `claimed` member's validation. `testing/protocol-model`
//! checks every interleaving; these name the ones that once lost or repeated emails.

use serde_json::{json, Value};
use shared::job::{Event, EventKind, JobStatus};

use crate::support::{spawn_app, App};

fn start(app: &App) -> (String, u64) {
    let (status, body) = app.call(json!({
        "event": "start", "referenceId": "campaign-7", "total": 1000, "executionId": "exec-1"
    }));
    assert_eq!(status, 201, "{body}");
    (
        body["job"]["$id"].as_str().unwrap().to_owned(),
        body["run"].as_u64().unwrap(),
    )
}

fn claim(app: &App, id: &str, run: u64, from: u64, to: u64) -> Value {
    let (status, body) = app.call(json!({
        "event": "progress", "jobId": id, "run": run, "done": from, "claimed": to,
        "checkpoint": {"cursor": to}
    }));
    assert_eq!(status, 200, "{body}");
    body
}

/// Resumes `id` and picks it up as the re-triggered worker would; answers the new run and the
/// checkpoint it starts from.
fn resume_and_pick_up(app: &App, id: &str, execution: &str) -> (u64, Value) {
    let resumed = app.user(id, Event::Resume);
    let (status, body) = app.call(json!({
        "event": "start", "jobId": id, "run": resumed.run, "referenceId": "campaign-7",
        "executionId": execution
    }));
    assert_eq!(
        (status, &body["control"]),
        (200, &json!("continue")),
        "{body}"
    );
    (body["run"].as_u64().unwrap(), body["checkpoint"].clone())
}

#[test]
fn a_claim_answered_pause_leaves_the_resume_point_where_it_was() {
    let app = spawn_app(hook_campaign_run::handle);
    let (id, run) = start(&app);
    assert_eq!(claim(&app, &id, run, 0, 10)["control"], "continue");
    app.user(&id, Event::Pause);
    // The worker claims [10, 20) and is told to pause: nothing of the claim is stored.
    let answer = claim(&app, &id, run, 10, 20);
    assert_eq!(answer["control"], "pause");
    let job = app.job(&id);
    assert_eq!(job.checkpoint, Some(json!({"cursor": 10})));
    assert_eq!(job.done, Some(0), "the claimed batch is not done");
    // The operator resumes before the worker's `paused {cursor: 10}` arrives: the new run starts
    // at 10, where the old one really stopped, and the late confirmation is ignored and logged.
    let (_, checkpoint) = resume_and_pick_up(&app, &id, "exec-2");
    assert_eq!(checkpoint, json!({"cursor": 10}));
    let (status, late) = app.call(json!({
        "event": "paused", "jobId": id, "run": run, "checkpoint": {"cursor": 10}
    }));
    assert_eq!(
        (status, &late["code"]),
        (200, &json!("superseded")),
        "{late}"
    );
    let last = app.events(&id).pop().unwrap();
    assert_eq!(last.kind, EventKind::Ignored);
    assert_eq!(
        last.message.as_deref(),
        Some(
            format!(
                "paused call from run {run} ignored: superseded by run {}",
                run + 2
            )
            .as_str()
        )
    );
}

#[test]
fn a_claim_with_a_new_checkpoint_is_stored_however_soon_and_however_small() {
    let app = spawn_app(hook_campaign_run::handle);
    let (id, run) = start(&app);
    // A 0.1 % batch, at the same instant as the start: neither the percent nor the clock moves.
    assert_eq!(claim(&app, &id, run, 0, 1)["control"], "continue");
    assert_eq!(app.job(&id).checkpoint, Some(json!({"cursor": 1})));
    app.user(&id, Event::Pause);
    let (status, body) = app.call(json!({
        "event": "paused", "jobId": id, "run": run, "checkpoint": {"cursor": 1}
    }));
    assert_eq!(status, 200, "{body}");
    let (run, _) = resume_and_pick_up(&app, &id, "exec-2");
    // The resumed run's first claim does not move the percent and comes within the same second:
    // it is stored all the same, so a second pause and resume starts after it.
    assert_eq!(claim(&app, &id, run, 1, 2)["control"], "continue");
    assert_eq!(app.job(&id).checkpoint, Some(json!({"cursor": 2})));
    app.user(&id, Event::Pause);
    let (_, checkpoint) = resume_and_pick_up(&app, &id, "exec-3");
    assert_eq!(checkpoint, json!({"cursor": 2}));
}

#[test]
fn a_repeated_claim_gets_the_answer_it_first_got_even_after_a_resume() {
    let app = spawn_app(hook_campaign_run::handle);
    let (id, run) = start(&app);
    // The answer to this claim is lost; the worker will send it again.
    assert_eq!(claim(&app, &id, run, 0, 10)["control"], "continue");
    app.user(&id, Event::Pause);
    let (new_run, checkpoint) = resume_and_pick_up(&app, &id, "exec-2");
    assert_eq!(
        checkpoint,
        json!({"cursor": 10}),
        "the new run starts after the claim"
    );
    let repeat = claim(&app, &id, run, 0, 10);
    assert_eq!(
        (&repeat["control"], &repeat["code"], &repeat["run"]),
        (&json!("continue"), &json!("granted"), &json!(run)),
        "the old run sends [0, 10) after all: {repeat}"
    );
    let job = app.job(&id);
    assert_eq!(job.claims.iter().map(|c| c.run).collect::<Vec<_>>(), [run]);
    // Its next claim is superseded, and settles the claim it carried out.
    let next = claim(&app, &id, run, 10, 20);
    assert_eq!(next["code"], "superseded", "{next}");
    let job = app.job(&id);
    assert!(job.claims.is_empty(), "{:?}", job.claims);
    assert_eq!(
        (job.status, job.run, job.done),
        (JobStatus::Running, new_run, Some(10))
    );
}

#[test]
fn claimed_is_checked_against_done_total_and_the_checkpoint() {
    let app = spawn_app(hook_campaign_run::handle);
    let (id, run) = start(&app);
    for (body, field) in [
        (
            json!({"done": 20, "claimed": 10, "checkpoint": {"cursor": 10}}),
            "claimed",
        ),
        (
            json!({"done": 0, "claimed": 1001, "checkpoint": {"cursor": 1001}}),
            "claimed",
        ),
        (json!({"done": 0, "claimed": 10}), "checkpoint"),
        (
            json!({"percent": 5, "claimed": 10, "checkpoint": {"cursor": 10}}),
            "percent",
        ),
    ] {
        let mut request = body.clone();
        request["event"] = json!("progress");
        request["jobId"] = json!(id);
        request["run"] = json!(run);
        let (status, answer) = app.call(request);
        assert_eq!(
            (status, &answer["error"]["field"]),
            (400, &json!(field)),
            "{body}: {answer}"
        );
    }
    assert_eq!(app.job(&id).checkpoint, None, "nothing was written");
}
