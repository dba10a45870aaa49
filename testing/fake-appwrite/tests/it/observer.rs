//! What one execution event costs the observer on Appwrite, counted by the fake: every event
//! is one webhook delivery and one `job-observer` execution, so its store requests are its cost
//! (docs/observer.md: a change is a read and one conditional write with its log entry, a
//! repeated or late event the read alone).

use shared::observer::{self, Execution, Observed};
use shared::store::JobStore;
use shared::usecase::Act;

use crate::support::spawn_app;

fn event(status: &str) -> Execution {
    let doc = serde_json::json!({"$id": "65f0a1b2c3d4e5f6a7b8", "functionId": "sqs-poller",
        "status": status, "trigger": "schedule", "responseStatusCode": 200, "duration": 2.0});
    Execution::parse(doc.to_string().as_bytes()).unwrap()
}

#[test]
fn a_mirrored_execution_event_costs_at_most_three_requests_and_a_repeat_one() {
    let app = spawn_app();
    let mut table = Vec::new();
    for (what, status) in [
        ("waiting (job created)", "waiting"),
        ("completed (job finished)", "completed"),
        ("completed again (duplicate: read only)", "completed"),
        ("waiting after the end (late: read only)", "waiting"),
    ] {
        let store = app.another_store();
        app.fake.reset_requests();
        let act = Act::new(
            &store,
            "function:job-observer",
            shared::store::conformance::t0(),
        );
        let outcome = observer::observe(
            &act,
            Observed::Unadopted(shared::job::JobType::SqsPoll),
            &event(status),
        )
        .unwrap();
        let requests = app.fake.total_requests();
        table.push(format!("{what}: {} → {requests} requests", outcome.outcome));
        // A change is a read plus a write with its log entry; a repeat is the read alone.
        let budget = if outcome.outcome == "unchanged" { 1 } else { 3 };
        assert!(requests <= budget, "{what}: {requests} requests");
    }
    let job = app
        .another_store()
        .get(&observer::mirror_job_id(&event("waiting")))
        .unwrap();
    assert_eq!(job.status, shared::job::JobStatus::Completed);
    println!("{}", table.join("\n"));
}

#[test]
fn a_dead_worker_execution_costs_at_most_three_requests_and_other_events_at_most_one() {
    let app = spawn_app();
    let store = app.another_store();
    let t0 = shared::store::conformance::t0();
    let act = Act::new(&store, "function:orchestrator", t0).in_run(None, Some("w1".into()));
    let started = shared::usecase::start(
        &act,
        shared::job::JobType::CampaignRun,
        shared::usecase::Start {
            reference_id: "campaign-1".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let worker_event = |id: &str, status: &str| {
        let doc = serde_json::json!({"$id": id, "functionId": "orchestrator", "status": status,
            "responseStatusCode": 500, "duration": 900.0});
        Execution::parse(doc.to_string().as_bytes()).unwrap()
    };
    let mut table = Vec::new();
    for (what, exec, budget) in [
        (
            "waiting (nothing to do: no request)",
            worker_event("w1", "waiting"),
            0,
        ),
        (
            "another execution ended (search only)",
            worker_event("w9", "failed"),
            1,
        ),
        (
            "the job's execution failed (search, then one write)",
            worker_event("w1", "failed"),
            3,
        ),
        (
            "the same event again (search only)",
            worker_event("w1", "failed"),
            1,
        ),
    ] {
        let store = app.another_store();
        app.fake.reset_requests();
        let act = Act::new(&store, "function:job-observer", t0);
        let outcome = observer::observe(&act, Observed::Worker, &exec).unwrap();
        let requests = app.fake.total_requests();
        table.push(format!("{what}: {} → {requests} requests", outcome.outcome));
        assert!(requests <= budget, "{what}: {requests} requests");
    }
    let job = app.another_store().get(&started.job.id).unwrap();
    assert_eq!(job.status, shared::job::JobStatus::Failed);
    println!("{}", table.join("\n"));
}
