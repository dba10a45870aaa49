//! Appwrite requests per use case, counted by the fake, against each use case's budget
//! (issue 19: at most two per hook call or user action, one for a coalesced call, detail two,
//! list one, the dashboard summary two). The test fails when a row is over its budget and
//! prints the table `scripts/bench-appwrite` puts in BENCHMARKS.md
//! (`cargo test -p fake-appwrite --test it costs -- --nocapture`).

use serde_json::Map;
use shared::job::{Event, JobStatus, JobType};
use shared::store::{JobQuery, JobStore};
use shared::usecase::{self, Act, Start};

use crate::support::spawn_app;

fn t(ms: i64) -> shared::job::Timestamp {
    shared::store::conformance::t0() + chrono::Duration::milliseconds(ms)
}

/// A hook function acting at `ms`.
fn hook(store: &dyn JobStore, ms: i64) -> Act<'_> {
    Act::new(store, "function:hook-campaign-run", t(ms))
}

/// One row of the table: what was done, the requests it took, its budget (`None`: no budget,
/// shown for the record).
struct Row {
    name: &'static str,
    requests: u64,
    budget: Option<u64>,
}

#[test]
fn every_use_case_stays_within_its_appwrite_request_budget() {
    let app = spawn_app();
    let mut table: Vec<Row> = Vec::new();
    // Each use case runs on a fresh store, as each hook call or action is its own execution.
    let mut measure =
        |name: &'static str, budget: Option<u64>, f: &mut dyn FnMut(&dyn JobStore)| {
            let store = app.another_store();
            app.fake.reset_requests();
            f(&store);
            table.push(Row {
                name,
                requests: app.fake.total_requests(),
                budget,
            });
        };
    let start = |act: &Act, key: &str| {
        usecase::start(
            act,
            JobType::CampaignRun,
            Start {
                reference_id: key.into(),
                idempotency_key: Some(key.into()),
                ..Start::default()
            },
        )
        .unwrap()
        .job
        .id
    };
    let progress = |act: &Act, id: &str, pct: u8| {
        let req = usecase::Progress {
            percent: Some(pct),
            ..Default::default()
        };
        usecase::progress(act, id, req).unwrap();
    };

    let mut id = String::new();
    measure(
        "hook: start (new job, with idempotency key)",
        Some(2),
        &mut |s| {
            id = start(&hook(s, 0), "campaign-1");
        },
    );
    measure(
        "hook: start (repeated call: same key, job running)",
        Some(2),
        &mut |s| {
            start(&hook(s, 5), "campaign-1");
        },
    );
    measure(
        "hook: progress (percent moved: written)",
        Some(2),
        &mut |s| progress(&hook(s, 10), &id, 5),
    );
    measure(
        "hook: progress (unchanged within 1 s: coalesced)",
        Some(1),
        &mut |s| progress(&hook(s, 20), &id, 5),
    );
    measure("hook: heartbeat (due: written)", Some(2), &mut |s| {
        usecase::heartbeat(&hook(s, 5_000), &id, None, Map::new()).unwrap();
    });
    measure(
        "hook: heartbeat (within 1 s: coalesced)",
        Some(1),
        &mut |s| {
            usecase::heartbeat(&hook(s, 5_100), &id, None, Map::new()).unwrap();
        },
    );
    measure("action: pause (write + log entry)", Some(2), &mut |s| {
        let act = Act::new(s, "user:u1", t(6_000));
        usecase::control(&act, &id, Event::Pause, None).unwrap();
    });
    measure(
        "hook: paused (worker stopped, checkpoint)",
        Some(2),
        &mut |s| {
            let checkpoint = Some(serde_json::json!({"offset": 500}));
            usecase::worker_paused(&hook(s, 6_500), &id, checkpoint, None).unwrap();
        },
    );
    measure(
        "action: resume (write + log entry; the worker re-trigger is one execution more)",
        Some(2),
        &mut |s| {
            let act = Act::new(s, "user:u1", t(7_000));
            usecase::control(&act, &id, Event::Resume, None).unwrap();
        },
    );
    measure("hook: complete (write + log entry)", Some(2), &mut |s| {
        usecase::complete(&hook(s, 8_000), &id, Map::new(), None).unwrap();
    });
    let mut other = String::new();
    measure("hook: start (second job)", Some(2), &mut |s| {
        other = start(&hook(s, 9_000), "campaign-2");
    });
    measure("hook: fail (write + log entry)", Some(2), &mut |s| {
        usecase::fail(&hook(s, 9_500), &other, "SES quota exceeded", None).unwrap();
    });
    measure(
        "action: retry (new job linked to the failed one)",
        Some(2),
        &mut |s| {
            let act = Act::new(s, "user:u1", t(10_000));
            usecase::retry(&act, &other, None).unwrap();
        },
    );
    let mut third = String::new();
    measure("hook: start (third job)", Some(2), &mut |s| {
        third = start(&hook(s, 11_000), "campaign-3");
    });
    measure("action: cancel (write + log entry)", Some(2), &mut |s| {
        let act = Act::new(s, "user:u1", t(12_000));
        usecase::control(&act, &third, Event::Cancel, None).unwrap();
    });
    // A job's 21st log entry overflows the outbox in its row (20 entries): that write first
    // makes sure the oldest entries are in `job_events`. Once per ~10 entries of one job.
    let mut cycled = String::new();
    measure("hook: start (fourth job)", Some(2), &mut |s| {
        cycled = start(&hook(s, 13_000), "campaign-4");
    });
    for i in 0..19 {
        let event = if i % 2 == 0 {
            Event::Pause
        } else {
            Event::Resume
        };
        let act = Act::new(&app.store, "user:u1", t(13_100 + i));
        usecase::control(&act, &cycled, event, None).unwrap();
    }
    measure(
        "action: resume that cuts the job's outbox (its 21st log entry; once per ~10 entries)",
        None,
        &mut |s| {
            let act = Act::new(s, "user:u1", t(14_000));
            usecase::control(&act, &cycled, Event::Resume, None).unwrap();
        },
    );
    measure("read: detail (job and its log)", Some(2), &mut |s| {
        let (_, events) = s.job_with_events(&id, 100).unwrap();
        assert!(events.len() >= 5, "{events:?}");
    });
    measure("read: list (one page)", Some(1), &mut |s| {
        s.list(&JobQuery::default()).unwrap();
    });
    // Jobs of every type in several statuses: the summary's cost must not grow with them.
    let mut n = 0;
    for &job_type in JobType::ALL {
        for _ in 0..3 {
            n += 1;
            let act = hook(&app.store, 20_000 + n);
            let job = usecase::start(
                &act,
                job_type,
                Start {
                    reference_id: format!("ref-{n}"),
                    ..Start::default()
                },
            )
            .unwrap()
            .job;
            if n % 3 == 1 {
                usecase::complete(&act, &job.id, Map::new(), None).unwrap();
            } else if n % 3 == 2 {
                usecase::control(&act, &job.id, Event::Pause, None).unwrap();
            }
        }
    }
    measure(
        "read: dashboard summary (counts per type and status)",
        Some(2),
        &mut |s| {
            let counts = s.counts().unwrap();
            assert!(counts.len() >= 10, "{counts:?}");
        },
    );
    measure("sweeper: stale (one type and status)", Some(1), &mut |s| {
        s.stale(JobType::CampaignRun, JobStatus::Running, t(0), 50)
            .unwrap();
    });
    measure(
        "sweeper: prune (one pass that deletes; not per call)",
        None,
        &mut |s| {
            s.prune(0, None, 100).unwrap();
        },
    );

    println!("| use case | Appwrite requests | budget |\n|---|---:|---:|");
    for row in &table {
        let budget = row.budget.map_or("–".to_owned(), |b| format!("≤ {b}"));
        println!("| {} | {} | {budget} |", row.name, row.requests);
    }
    let over: Vec<String> = table
        .iter()
        .filter(|r| r.budget.is_some_and(|b| r.requests > b))
        .map(|r| format!("{}: {} > {:?}", r.name, r.requests, r.budget))
        .collect();
    assert!(over.is_empty(), "over budget: {over:#?}");
}
