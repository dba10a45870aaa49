//! Appwrite requests per use case, counted by the fake, against each use case's budget
//! (issue 19: at most two per hook call or user action, one for a coalesced call, detail two,
//! list one, the dashboard summary two). Hook calls go through the hook handler
//! (`shared::hooks::handle`: parsing, the type check, the use case) on a new store each, as
//! deployed; actions and reads through the use case or store call their route makes. The test
//! fails when a row is over its budget and prints the table `scripts/bench-appwrite` puts in
//! BENCHMARKS.md (`cargo test -p fake-appwrite --test it costs -- --nocapture`).

use std::sync::Arc;

use chrono::Duration;
use serde_json::{json, Map, Value};
use shared::hooks::{self, Hook};
use shared::job::{Event, JobStatus, JobType, Timestamp};
use shared::platform::Platform;
use shared::store::{JobQuery, JobStore};
use shared::usecase::{self, Act, Start};

use crate::support::spawn_app;

fn t(ms: i64) -> Timestamp {
    shared::store::conformance::t0() + Duration::milliseconds(ms)
}

const CAMPAIGNS: Hook = Hook {
    job_type: JobType::CampaignRun,
    function_id: "hook-campaign-run",
};

/// One hook execution at `ms` through the handler; answers the hook's JSON answer.
fn hook(store: Arc<dyn JobStore>, ms: i64, body: Value) -> Value {
    let mut platform = Platform::new(store, Arc::new(|_: &str| None));
    platform.clock = Arc::new(move || t(ms));
    let body = body.to_string();
    let context = shared::tracker::server_context(body.as_bytes(), None).unwrap();
    let response = hooks::handle(&CAMPAIGNS, context, &platform);
    let answer: Value = serde_json::from_slice(&response.body).unwrap();
    assert!(response.status_code < 300, "{answer}");
    // A call from a superseded run is answered without a write: it would not measure one.
    assert!(answer.get("code").is_none(), "{body} -> {answer}");
    answer
}

/// A user acting at `ms`.
fn user(store: &Arc<dyn JobStore>, ms: i64) -> Act<'_> {
    Act::new(store.as_ref(), "user:u1", t(ms))
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
    // Each call runs on a new store, as each hook call or action is its own execution.
    let mut measure =
        |name: &'static str, budget: Option<u64>, f: &mut dyn FnMut(Arc<dyn JobStore>)| {
            let store: Arc<dyn JobStore> = Arc::new(app.another_store());
            app.fake.reset_requests();
            f(store);
            table.push(Row {
                name,
                requests: app.fake.total_requests(),
                budget,
            });
        };
    // The run each job's worker is in (docs/hooks.md § Runs): later calls carry it.
    let runs = std::cell::RefCell::new(std::collections::HashMap::<String, u64>::new());
    let start = |s: Arc<dyn JobStore>, ms: i64, key: &str| -> String {
        let body = json!({"event": "start", "referenceId": key, "idempotencyKey": key});
        let answer = hook(s, ms, body);
        let id = answer["job"]["$id"].as_str().unwrap().to_owned();
        runs.borrow_mut()
            .insert(id.clone(), answer["job"]["run"].as_u64().unwrap());
        id
    };
    let with_run = |mut body: Value| -> Value {
        let id = body["jobId"].as_str().unwrap().to_owned();
        body["run"] = json!(runs.borrow()[&id]);
        body
    };

    let mut id = String::new();
    measure(
        "hook: start (new job, with idempotency key)",
        Some(2),
        &mut |s| id = start(s, 0, "campaign-1"),
    );
    measure(
        "hook: start (repeated call: same key, job running)",
        Some(2),
        &mut |s| {
            start(s, 5, "campaign-1");
        },
    );
    let progress = |s: Arc<dyn JobStore>, ms: i64, id: &str, pct: u8| {
        hook(
            s,
            ms,
            with_run(json!({"event": "progress", "jobId": id, "percent": pct})),
        );
    };
    measure(
        "hook: progress (percent moved: written)",
        Some(2),
        &mut |s| progress(s, 10, &id, 5),
    );
    measure(
        "hook: progress (unchanged within 1 s: coalesced)",
        Some(1),
        &mut |s| progress(s, 20, &id, 5),
    );
    measure(
        "hook: progress with a new message (percent moved: written; the message's log entry rides in the same write)",
        Some(2),
        &mut |s| {
            let body = json!({"event": "progress", "jobId": id, "percent": 6, "message": "60/1000 emails sent"});
            hook(s, 30, with_run(body));
        },
    );
    let heartbeat = |s: Arc<dyn JobStore>, ms: i64, id: &str| {
        hook(s, ms, with_run(json!({"event": "heartbeat", "jobId": id})));
    };
    measure("hook: heartbeat (due: written)", Some(2), &mut |s| {
        heartbeat(s, 5_000, &id)
    });
    measure(
        "hook: heartbeat (within 1 s: coalesced)",
        Some(1),
        &mut |s| heartbeat(s, 5_100, &id),
    );
    measure("action: pause (write + log entry)", Some(2), &mut |s| {
        usecase::control(&user(&s, 6_000), &id, Event::Pause, None).unwrap();
    });
    measure(
        "hook: paused (worker stopped, checkpoint)",
        Some(2),
        &mut |s| {
            let body = json!({"event": "paused", "jobId": id, "checkpoint": {"offset": 500}});
            hook(s, 6_500, with_run(body));
        },
    );
    measure(
        "action: resume (write + log entry; the worker re-trigger is one execution more)",
        Some(2),
        &mut |s| {
            usecase::control(&user(&s, 7_000), &id, Event::Resume, None).unwrap();
        },
    );
    measure(
        "hook: start (the re-triggered worker picks up its queued job)",
        Some(2),
        &mut |s| {
            let body = json!({"event": "start", "referenceId": "campaign-1", "jobId": id});
            let answer = hook(s, 7_500, body);
            let run = answer["job"]["run"].as_u64().unwrap();
            runs.borrow_mut().insert(id.clone(), run);
        },
    );
    measure("hook: complete (write + log entry)", Some(2), &mut |s| {
        hook(
            s,
            8_000,
            with_run(json!({"event": "complete", "jobId": id, "result": {"sent": 10}})),
        );
    });
    let mut other = String::new();
    measure("hook: start (second job)", Some(2), &mut |s| {
        other = start(s, 9_000, "campaign-2")
    });
    measure("hook: fail (write + log entry)", Some(2), &mut |s| {
        hook(
            s,
            9_500,
            with_run(json!({"event": "fail", "jobId": other, "error": "SES quota"})),
        );
    });
    measure(
        "action: retry (new job linked to the failed one)",
        Some(2),
        &mut |s| {
            usecase::retry(&user(&s, 10_000), &other, None).unwrap();
        },
    );
    let mut third = String::new();
    measure("hook: start (third job)", Some(2), &mut |s| {
        third = start(s, 11_000, "campaign-3")
    });
    measure("action: cancel (write + log entry)", Some(2), &mut |s| {
        usecase::control(&user(&s, 12_000), &third, Event::Cancel, None).unwrap();
    });
    // A job's 21st log entry overflows the outbox in its row (20 entries): that write first
    // makes sure the oldest entries are in `job_events`. Once per ~10 entries of one job.
    let mut cycled = String::new();
    measure("hook: start (fourth job)", Some(2), &mut |s| {
        cycled = start(s, 13_000, "campaign-4")
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
            usecase::control(&user(&s, 14_000), &cycled, Event::Resume, None).unwrap();
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
            let act = Act::new(&app.store, "function:hook", t(20_000 + n));
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
                usecase::complete(&act, &job.id, Map::new(), None, None).unwrap();
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
