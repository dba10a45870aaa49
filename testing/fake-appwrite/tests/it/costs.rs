//! Appwrite requests per use case, counted by the fake, against each use case's budget
//! (issue 19: at most two per hook call or user action, one for a coalesced call, detail two,
//! list one, the dashboard summary two; resume and retry one write more, the link of the
//! execution they re-trigger, issue 26). A row of several calls is held to its total, so to an
//! average: a long message changing on every call pays the outbox cut once per six written calls
//! (issue 31). Hook calls go through the hook handler (`shared::hooks::handle`: parsing, the type
//! check, the use case) on a new store each, as deployed; actions and reads through the use case
//! or store call their route makes. The test fails when a row is over its budget and prints the
//! table `scripts/bench-appwrite` puts in BENCHMARKS.md
//! (`cargo test -p fake-appwrite --test it costs -- --nocapture`).

use std::sync::Arc;

use chrono::Duration;
use serde_json::{json, Map, Value};
use shared::hooks::{self, Hook};
use shared::job::{Event, JobStatus, JobType, Timestamp};
use shared::platform::Platform;
use shared::store::{Created, JobQuery, JobStore};
use shared::usecase::{self, Act, Start};

use crate::support::spawn_app;

fn t(ms: i64) -> Timestamp {
    shared::store::conformance::t0() + Duration::milliseconds(ms)
}

const CAMPAIGNS: Hook = Hook {
    job_type: JobType::CampaignRun,
    function_id: "hook-campaign-run",
};

const VERIFICATIONS: Hook = Hook {
    job_type: JobType::BulkVerify,
    function_id: "hook-bulk-verify",
};

/// One execution of `hook` at `ms` through the handler: its status and JSON answer.
fn call(hook: &Hook, store: Arc<dyn JobStore>, ms: i64, body: &Value) -> (u16, Value) {
    let mut platform = Platform::new(store, Arc::new(|_: &str| None));
    platform.clock = Arc::new(move || t(ms));
    let body = body.to_string();
    let context = shared::tracker::server_context(body.as_bytes(), None).unwrap();
    let response = hooks::handle(hook, context, &platform);
    let answer: Value = serde_json::from_slice(&response.body).unwrap();
    (response.status_code, answer)
}

/// One campaign hook execution at `ms` through the handler; answers the hook's JSON answer.
fn hook(store: Arc<dyn JobStore>, ms: i64, body: Value) -> Value {
    let (status, answer) = call(&CAMPAIGNS, store, ms, &body);
    assert!(status < 300, "{answer}");
    // A call from a superseded run is answered without a write: it would not measure one.
    assert!(answer.get("code").is_none(), "{body} -> {answer}");
    answer
}

/// A progress message of `MAX_TEXT_CHARS` four-byte characters, different for each `n`.
fn long_message(n: u32) -> String {
    let c = char::from_u32(0x1F600 + n % 64).unwrap();
    c.to_string().repeat(shared::job::MAX_TEXT_CHARS)
}

/// Written calls in the long-message rows: four cuts' worth.
const LONG_CALLS: u32 = 24;

/// A user acting at `ms`.
fn user(store: &Arc<dyn JobStore>, ms: i64) -> Act<'_> {
    Act::new(store.as_ref(), "user:u1", t(ms))
}

/// One row of the table: what was done, the requests it took over how many calls (a row of
/// several calls is an average), its budget for them all (`None`: no budget, shown for the
/// record).
struct Row {
    name: &'static str,
    requests: u64,
    calls: u64,
    budget: Option<u64>,
}

#[test]
fn every_use_case_stays_within_its_appwrite_request_budget() {
    let app = spawn_app();
    let table: std::cell::RefCell<Vec<Row>> = std::cell::RefCell::new(Vec::new());
    // Each call runs on a new store, as each hook call or action is its own execution.
    let measure_calls = |name: &'static str,
                         calls: u64,
                         budget: Option<u64>,
                         f: &mut dyn FnMut(Arc<dyn JobStore>)| {
        let store: Arc<dyn JobStore> = Arc::new(app.another_store());
        app.fake.reset_requests();
        f(store);
        table.borrow_mut().push(Row {
            name,
            requests: app.fake.total_requests(),
            calls,
            budget,
        });
    };
    let measure =
        |name: &'static str, budget: Option<u64>, f: &mut dyn FnMut(Arc<dyn JobStore>)| {
            measure_calls(name, 1, budget, f)
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
    // Another worker type's hook named this job: refused on the one read the use case makes.
    measure(
        "hook: progress naming a job of another type (400; the type checked on the one read)",
        Some(1),
        &mut |s| {
            let body = with_run(json!({"event": "progress", "jobId": id, "percent": 7}));
            let (status, answer) = call(&VERIFICATIONS, s, 40, &body);
            assert_eq!(status, 400, "{answer}");
            assert!(answer.get("job").is_none(), "{answer}");
        },
    );
    // A worker changing a long message on every call (issue 31): the outbox holds six of them,
    // so one write in six also moves the oldest to `job_events`, instead of every write.
    let mut long = String::new();
    measure(
        "hook: start (a job with long messages)",
        Some(2),
        &mut |s| long = start(s, 50, "campaign-long"),
    );
    measure_calls(
        "hook: progress with a new 2,000-character four-byte message on every call (written: percent moved; every 6th also cuts the outbox)",
        u64::from(LONG_CALLS),
        Some(u64::from(2 * LONG_CALLS + LONG_CALLS / 6)),
        &mut |_| {
            for n in 1..=LONG_CALLS {
                let s: Arc<dyn JobStore> = Arc::new(app.another_store());
                let body = json!({"event": "progress", "jobId": long, "percent": n,
                                  "message": long_message(n)});
                hook(s, 100 + i64::from(n), with_run(body));
            }
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
    // As job-actions does it: the resume, then the execution Appwrite answered for the worker
    // re-trigger linked to the new run (issue 26), one write based on the row just written.
    measure(
        "action: resume (write + log entry; then the re-triggered execution linked to the run: one write; the re-trigger is one execution more)",
        Some(3),
        &mut |s| {
            let act = user(&s, 7_000);
            let job = usecase::control(&act, &id, Event::Resume, None).unwrap();
            let linked = usecase::link_execution(&act, &job, "exec-resume").unwrap();
            assert!(linked.is_some());
            // The re-trigger body carries the resumed run.
            runs.borrow_mut().insert(id.clone(), job.run);
        },
    );
    measure(
        "hook: start (the re-triggered worker picks up its queued job)",
        Some(2),
        &mut |s| {
            let body = json!({"event": "start", "referenceId": "campaign-1", "jobId": id,
                              "run": runs.borrow()[&id], "executionId": "exec-resume"});
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
    // As job-actions does it: the retried job read once (its claims go to the new worker), the
    // new job created from that read, the re-triggered execution linked to it.
    measure(
        "action: retry (new job linked to the failed one; then the re-triggered execution linked to it: one write)",
        Some(3),
        &mut |s| {
            let act = user(&s, 10_000);
            let (_, created) = usecase::retry_once(&act, &other, None, Map::new()).unwrap();
            let Created::New(job) = created else {
                panic!("a first retry creates its job")
            };
            assert!(usecase::link_execution(&act, &job, "exec-retry")
                .unwrap()
                .is_some());
        },
    );
    // A second retry of the same job (a double click, a lost answer): the retried job and its
    // deterministic retry read together (one list by `$id`), nothing written.
    measure(
        "action: retry of the same job again (answers the first retry's job; nothing written)",
        Some(2),
        &mut |s| {
            let act = user(&s, 10_100);
            let (_, created) = usecase::retry_once(&act, &other, None, Map::new()).unwrap();
            assert!(matches!(created, Created::Existing(_)), "{created:?}");
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
            s.prune(&shared::store::Retention::newest(0, None), 100)
                .unwrap();
        },
    );
    // docs/retention.md § Cost per sweep: the stall scan (4 types x 2 statuses) and one prune
    // pass (one counted list per type), nothing due after the prune above.
    measure(
        "sweeper: one scheduled sweep, nothing due",
        Some(12),
        &mut |s| {
            let config = shared::retention::RetentionConfig::from_lookup(|_| None).unwrap();
            let report = shared::retention::sweep(&*s, &config, &|| t(0)).unwrap();
            assert_eq!(serde_json::to_value(report).unwrap()["deleted"], 0);
        },
    );

    let table = table.into_inner();
    println!("| use case | Appwrite requests | budget |\n|---|---:|---:|");
    for row in &table {
        let per_call = |n: u64| format!("{:.2} a call", n as f64 / row.calls as f64);
        let (requests, budget) = match row.calls {
            1 => (row.requests.to_string(), row.budget.map(|b| b.to_string())),
            calls => (
                format!(
                    "{} in {calls} calls ({})",
                    row.requests,
                    per_call(row.requests)
                ),
                row.budget.map(|b| format!("{b} ({})", per_call(b))),
            ),
        };
        let budget = budget.map_or("–".to_owned(), |b| format!("≤ {b}"));
        println!("| {} | {requests} | {budget} |", row.name);
    }
    let over: Vec<String> = table
        .iter()
        .filter(|r| r.budget.is_some_and(|b| r.requests > b))
        .map(|r| format!("{}: {} > {:?}", r.name, r.requests, r.budget))
        .collect();
    assert!(over.is_empty(), "over budget: {over:#?}");
}
