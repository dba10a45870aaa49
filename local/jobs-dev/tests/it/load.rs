//! Load through the real HTTP path (Appwrite's executions endpoint → the runtime shim → the
//! handlers → SQLite): 16 workers sending progress and heartbeats for 50 jobs while two
//! dashboards poll the list with `updatedSince`. No request may fail or hang, and every job
//! keeps the percent of the highest progress any worker reported.
//!
//! The smoke test is bounded by a count of calls, so its verdict and its length do not depend on
//! the machine. The leak check (server memory leveling off over minutes) is a long run, ignored
//! by default: `LOAD_SECONDS=300 cargo test -p jobs-dev --release --test it load -- --ignored`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::captured::Captured;
use shared::job::JobType;

const WORKERS: usize = 16;
const POLLERS: usize = 2;
const JOBS: usize = 50;
/// Units per job: the smoke test's highest counts reach about 60 %, so progress keeps moving
/// and every move must be stored (coalescing only skips calls that do not move the percent).
const TOTAL: u64 = 200_000;
/// Hook calls per worker in the smoke test.
const CALLS: u64 = 120;

/// When the workers stop: after a number of calls each, or after a duration.
#[derive(Clone, Copy)]
enum Until {
    Calls(u64),
    Elapsed(Duration),
}

struct Outcome {
    hook_calls: u64,
    polls: u64,
    rss: Vec<u64>,
}

#[test]
fn a_burst_of_hook_traffic_and_dashboard_polling_fails_nothing_and_keeps_the_highest_progress() {
    let dev = Captured::start("load-test-server-key-9a8b7c6d", &[]);
    let out = drive(&dev, Until::Calls(CALLS));
    assert_eq!(out.hook_calls, CALLS * WORKERS as u64);
    assert!(out.polls > 0);
}

#[test]
#[ignore = "a long run for leaks: LOAD_SECONDS=300 cargo test -p jobs-dev --release --test it load -- --ignored"]
fn sustained_traffic_levels_off_in_memory() {
    let seconds: u64 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dev = Captured::start("load-test-server-key-9a8b7c6d", &[]);
    let out = drive(&dev, Until::Elapsed(Duration::from_secs(seconds)));
    let rss = out.rss;
    let n = rss.len();
    assert!(n >= 4, "too few memory samples: {rss:?}");
    let warm = rss[n / 4..n / 2].iter().copied().max().unwrap_or(0);
    let tail = rss[n * 3 / 4..].iter().copied().max().unwrap_or(0);
    println!("load: {seconds} s; RSS KiB samples {rss:?}; warm-up plateau {warm} KiB, last quarter max {tail} KiB");
    // Flat memory: the tail may not grow beyond half again the plateau plus 32 MiB.
    assert!(
        tail <= warm + warm / 2 + 32 * 1024,
        "memory keeps growing: warm-up {warm} KiB, tail {tail} KiB ({rss:?})"
    );
}

/// Runs the workers and pollers until `until`, asserts that nothing failed or hung and that each
/// job kept the highest `done` reported for it, and answers the counts.
fn drive(dev: &Captured, until: Until) -> Outcome {
    let jobs: Vec<(&str, String)> = (0..JOBS)
        .map(|i| {
            let hook = JobType::ALL[i % JobType::ALL.len()].hook_function();
            let body = json!({"event": "start", "referenceId": format!("load-{i}"),
                              "total": TOTAL, "idempotencyKey": format!("load-{i}")});
            let (status, answer) = dev.run(hook, "POST", "/", &body.to_string());
            assert_eq!(status, 201, "{answer}");
            (hook, answer["job"]["$id"].as_str().unwrap().to_owned())
        })
        .collect();

    let stop = AtomicBool::new(false);
    let (hook_calls, polls, errors, hangs) = (
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    );
    let failures = std::sync::Mutex::new(Vec::<String>::new());
    let fail = |what: String, timed_out: bool| {
        if timed_out {
            hangs.fetch_add(1, Ordering::Relaxed);
        } else {
            errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut f = failures.lock().unwrap();
        if f.len() < 20 {
            f.push(what);
        }
    };
    let mut rss = Vec::new();
    let highest: Mutex<HashMap<String, u64>> = Mutex::new(HashMap::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        let mut workers = Vec::new();
        for w in 0..WORKERS {
            let (jobs, stop, hook_calls, fail, highest) =
                (&jobs, &stop, &hook_calls, &fail, &highest);
            workers.push(s.spawn(move || {
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    if matches!(until, Until::Calls(c) if n >= c) {
                        break;
                    }
                    n += 1;
                    let (hook, id) = &jobs[(w * 7 + n as usize * 13) % jobs.len()];
                    let body = if n % 3 == 0 {
                        json!({"event": "heartbeat", "jobId": id, "details": {"worker": w}})
                    } else {
                        // Each worker reports its own rising count; the job keeps the maximum.
                        let done = n * 1000 + w as u64;
                        let mut highest = highest.lock().unwrap();
                        let h = highest.entry(id.clone()).or_default();
                        *h = (*h).max(done);
                        json!({"event": "progress", "jobId": id, "done": done,
                               "message": format!("worker {w} at {n}")})
                    };
                    match dev.execute(hook, Some(&dev.key), "POST", "/", &body.to_string()) {
                        Ok((201, text)) => {
                            let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                            let code = doc["responseStatusCode"].as_u64().unwrap_or(0);
                            if code != 200 {
                                fail(format!("{hook} answered {code}: {text}"), false);
                            }
                        }
                        Ok((status, text)) => fail(format!("{hook}: {status} {text}"), false),
                        Err(e) => fail(format!("{hook}: {e}"), e.is_timeout()),
                    }
                    hook_calls.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        for _ in 0..POLLERS {
            let (stop, polls, fail) = (&stop, &polls, &fail);
            s.spawn(move || {
                let mut since = String::new();
                while !stop.load(Ordering::Relaxed) {
                    let path = if since.is_empty() {
                        "/v1/jobs?limit=100".to_owned()
                    } else {
                        format!("/v1/jobs?limit=100&updatedSince={since}")
                    };
                    match dev.execute("job-actions", None, "GET", &path, "") {
                        Ok((201, text)) => {
                            let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                            let body: Value = doc["responseBody"]
                                .as_str()
                                .and_then(|b| serde_json::from_str(b).ok())
                                .unwrap_or(Value::Null);
                            match (
                                doc["responseStatusCode"].as_u64(),
                                body["serverTime"].as_str(),
                            ) {
                                (Some(200), Some(t)) => since = t.to_owned(),
                                _ => fail(format!("list: {text}"), false),
                            }
                        }
                        Ok((status, text)) => fail(format!("list: {status} {text}"), false),
                        Err(e) => fail(format!("list: {e}"), e.is_timeout()),
                    }
                    polls.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        match until {
            // Memory samples once a second, from /proc.
            Until::Elapsed(d) => {
                while started.elapsed() < d {
                    std::thread::sleep(Duration::from_secs(1));
                    if let Some(kib) = dev.rss_kib() {
                        rss.push(kib);
                    }
                }
                stop.store(true, Ordering::Relaxed);
            }
            Until::Calls(_) => {
                for w in workers.drain(..) {
                    w.join().unwrap();
                }
                stop.store(true, Ordering::Relaxed);
            }
        }
    });

    let elapsed = started.elapsed().as_secs_f64();
    let (hook_calls, polls) = (hook_calls.into_inner(), polls.into_inner());
    let (errors, hangs) = (errors.into_inner(), hangs.into_inner());
    println!(
        "load: {elapsed:.1} s, {WORKERS} workers on {JOBS} jobs + {POLLERS} pollers: {} requests \
         ({hook_calls} hook calls, {polls} list polls, {:.0}/s), errors {errors}, hung {hangs}; \
         RSS KiB samples {rss:?}",
        hook_calls + polls,
        (hook_calls + polls) as f64 / elapsed,
    );
    assert_eq!(
        (errors, hangs),
        (0, 0),
        "failures: {:#?}",
        failures.into_inner().unwrap()
    );
    assert!(hook_calls > 0 && polls > 0);
    // Every job still answers and kept the highest progress any worker reported.
    for (hook, id) in &jobs {
        let (status, answer) = dev.run(
            hook,
            "POST",
            "/",
            &json!({"event": "heartbeat", "jobId": id}).to_string(),
        );
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["job"]["status"], "RUNNING");
        if let Some(h) = highest.lock().unwrap().get(id) {
            let percent = (*h * 100 / TOTAL).min(100);
            assert_eq!(
                answer["job"]["progress"].as_u64(),
                Some(percent),
                "{id} lost progress"
            );
        }
    }
    Outcome {
        hook_calls,
        polls,
        rss,
    }
}
