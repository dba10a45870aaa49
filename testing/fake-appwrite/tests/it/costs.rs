//! Requests per use case, counted by the fake. Printed for BENCHMARKS.md
//! (`cargo test -p fake-appwrite --test it costs -- --nocapture`); the hook budget is asserted.

use serde_json::Map;
use shared::job::{Event, JobStatus, JobType};
use shared::store::{JobQuery, JobStore};
use shared::usecase::{self, Act, Start};

use crate::support::spawn_app;

fn t(ms: i64) -> shared::job::Timestamp {
    shared::store::conformance::t0() + chrono::Duration::milliseconds(ms)
}

#[test]
fn a_progress_or_heartbeat_call_costs_at_most_two_requests() {
    let app = spawn_app();
    let mut table: Vec<(&str, u64)> = Vec::new();
    let mut measure = |name: &'static str, f: &mut dyn FnMut()| {
        // Each use case runs in a fresh store, as each hook call is its own execution.
        app.fake.reset_requests();
        f();
        table.push((name, app.fake.total_requests()));
    };
    let mut id = String::new();
    measure("start (new job, with idempotency key)", &mut || {
        let store = app.another_store();
        let act = Act::new(&store, "function:hook-campaign-run", t(0));
        let started = usecase::start(
            &act,
            JobType::CampaignRun,
            Start {
                reference_id: "campaign-1".into(),
                idempotency_key: Some("campaign-1:run-1".into()),
                ..Start::default()
            },
        )
        .unwrap();
        id = started.job.id;
    });
    let progress = |ms: i64, pct: u8| {
        let store = app.another_store();
        let act = Act::new(&store, "function:hook-campaign-run", t(ms));
        let req = usecase::Progress {
            percent: Some(pct),
            ..Default::default()
        };
        usecase::progress(&act, &id, req).unwrap();
    };
    measure("progress (percent moved: written)", &mut || progress(10, 5));
    measure("progress (unchanged within 1 s: coalesced)", &mut || {
        progress(20, 5)
    });
    measure("heartbeat (due: written)", &mut || {
        let store = app.another_store();
        let act = Act::new(&store, "function:hook-campaign-run", t(5_000));
        usecase::heartbeat(&act, &id, None, Map::new()).unwrap();
    });
    measure("pause (user action: write + log entry)", &mut || {
        let store = app.another_store();
        let act = Act::new(&store, "user:u1", t(6_000));
        usecase::control(&act, &id, Event::Pause, None).unwrap();
    });
    measure("complete (write + log entry)", &mut || {
        let store = app.another_store();
        let act = Act::new(&store, "function:hook-campaign-run", t(7_000));
        usecase::complete(&act, &id, Map::new(), None, None).unwrap();
    });
    measure("list (one page)", &mut || {
        app.another_store().list(&JobQuery::default()).unwrap();
    });
    measure("events (one job's log)", &mut || {
        app.another_store().events(&id, 100).unwrap();
    });
    measure("stale (one type and status)", &mut || {
        app.another_store()
            .stale(JobType::CampaignRun, JobStatus::Running, t(0), 50)
            .unwrap();
    });
    measure("prune (one pass that deletes)", &mut || {
        app.another_store().prune(0, None, 100).unwrap();
    });
    measure("counts (dashboard header)", &mut || {
        app.another_store().counts().unwrap();
    });

    println!("| use case | Appwrite requests |\n|---|---|");
    for (name, n) in &table {
        println!("| {name} | {n} |");
    }
    let cost = |name: &str| table.iter().find(|(n, _)| n.starts_with(name)).unwrap().1;
    assert!(cost("progress (percent moved") <= 2);
    assert!(cost("progress (unchanged") <= 2);
    assert!(cost("heartbeat") <= 2);
}
