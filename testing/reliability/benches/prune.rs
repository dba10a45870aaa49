//! Retention cost: prune N finished jobs down to the newest 100 of each type through
//! `usecase::prune` in batches, on SQLite (time) and on the fake Appwrite (time and requests per
//! deleted job); then what one scheduled sweep (`retention::sweep`, default configuration)
//! costs on the fake Appwrite when nothing is due and when a few jobs are.
//! Run: `cargo bench -p reliability --bench prune [-- <jobs on sqlite> <jobs on appwrite>]`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fake_appwrite::FakeAppwrite;
use shared::appwrite::{AppwriteClient, AppwriteConfig, RetryPolicy};
use shared::job::{Event, JobType};
use shared::retention::{self, RetentionConfig};
use shared::store::appwrite::AppwriteStore;
use shared::store::JobStore;
use shared::usecase::{self, Act};
use sqlite_store::SqliteStore;

const KEEP: usize = 100;

/// Creates `n` completed jobs through the use cases (as the hooks would).
fn seed(store: &dyn JobStore, n: usize) {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    for i in 0..n {
        let now = t0 + chrono::Duration::milliseconds(i as i64 * 10);
        let act = Act::new(store, "function:bench", now);
        let job = usecase::start(
            &act,
            JobType::ALL[i % 4],
            usecase::Start {
                reference_id: format!("ref-{i}"),
                ..usecase::Start::default()
            },
        )
        .expect("start")
        .job;
        let act = Act::new(
            store,
            "function:bench",
            now + chrono::Duration::milliseconds(5),
        );
        if i % 3 == 0 {
            usecase::control(&act, &job.id, Event::Cancel, None).expect("cancel");
        } else {
            usecase::complete(&act, &job.id, Default::default(), None, None).expect("complete");
        }
    }
}

/// Prunes down to `KEEP` per type, returning (passes, deleted, elapsed).
fn prune_all(store: &dyn JobStore, batch: usize) -> (usize, usize, Duration) {
    let act = Act::new(store, "system", Utc::now());
    let begin = Instant::now();
    let (mut passes, mut deleted) = (0, 0);
    loop {
        let pass = usecase::prune(&act, &usecase::keep_newest(KEEP), None, batch).expect("prune");
        passes += 1;
        deleted += pass.deleted;
        if pass.remaining == 0 || pass.deleted == 0 {
            return (passes, deleted, begin.elapsed());
        }
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let on_sqlite = args.first().copied().unwrap_or(100_000);
    let on_appwrite = args.get(1).copied().unwrap_or(10_000);

    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = SqliteStore::open(dir.path().join("prune.sqlite")).expect("sqlite");
    seed(&sqlite, on_sqlite);
    let (s_passes, s_deleted, s_time) = prune_all(&sqlite, 10_000);

    let fake = FakeAppwrite::start();
    let vars: HashMap<String, String> = fake.variables();
    let config = AppwriteConfig::from_lookup(|k| vars.get(k).cloned(), None).expect("config");
    let appwrite = AppwriteStore::new(AppwriteClient::new(config).with_retry(RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        sleep: Arc::new(std::thread::sleep),
    }));
    seed(&appwrite, on_appwrite);
    fake.reset_requests();
    let (a_passes, a_deleted, a_time) = prune_all(&appwrite, 100);
    let a_requests = fake.total_requests();

    // One scheduled sweep, as `job-retention` runs it: stall scan, then prune passes.
    let config = RetentionConfig::from_lookup(|_| None).expect("default configuration");
    let sweep_requests = |store: &dyn JobStore| {
        fake.reset_requests();
        let now = Utc::now();
        let report = retention::sweep(store, &config, &|| now).expect("sweep");
        (fake.total_requests(), report)
    };
    let (idle_requests, _) = sweep_requests(&appwrite);
    // 20 routine jobs finished since the last sweep: each type is 5 over its newest 100.
    seed(&appwrite, 20);
    let (due_requests, due_report) = sweep_requests(&appwrite);

    println!("## Retention (prune to the newest {KEEP} finished jobs of each type)\n");
    println!("Command: `cargo bench -p reliability --bench prune -- {on_sqlite} {on_appwrite}`. Jobs of the four types in turn are created and finished through the use cases, then `usecase::prune` runs pass after pass until nothing is beyond each type's kept window.\n");
    println!("| store | finished jobs | deleted | passes (batch) | time | requests | requests per deleted job |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| SQLite | {on_sqlite} | {s_deleted} | {s_passes} (10,000) | {:.2} s | – | – |",
        s_time.as_secs_f64()
    );
    println!(
        "| fake Appwrite | {on_appwrite} | {a_deleted} | {a_passes} (100) | {:.2} s | {a_requests} | {:.3} |",
        a_time.as_secs_f64(),
        a_requests as f64 / a_deleted.max(1) as f64
    );
    println!("\nA pass costs one counted list per job type (its oldest finished jobs, ranked by the count), then, when something is due, two bulk deletes (log, jobs); a type whose due jobs overflow the batch adds up to two counts. The batch of 100 keeps one pass well inside the function timeout whatever the backlog. The fake answers on loopback, so its time is the adapter's and the fake's CPU, not a real server's.\n");
    println!("One scheduled sweep on the fake Appwrite (default configuration: stall scan of 4 types x 2 statuses, then prune):\n");
    println!("| sweep | Appwrite requests |");
    println!("|---|---|");
    println!("| nothing due | {idle_requests} |");
    println!(
        "| 20 jobs due (5 per type), report {} | {due_requests} |",
        serde_json::to_string(&due_report).expect("report")
    );
}
