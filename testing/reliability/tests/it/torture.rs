//! At least 10,000 racing operations per run from a recorded seed, then every invariant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_appwrite::{FakeAppwrite, Fault};
use reliability::{run, run_then, Plan, Report};
use shared::appwrite::{AppwriteClient, AppwriteConfig, RetryPolicy};
use shared::store::appwrite::AppwriteStore;
use sqlite_store::SqliteStore;

fn plan(faults: bool) -> Plan {
    let seed = std::env::var("TORTURE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let ops = std::env::var("TORTURE_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    Plan {
        seed,
        threads: 8,
        ops,
        keys: 6,
        faults,
    }
}

fn verdict(name: &str, plan: Plan, report: &Report) {
    println!(
        "torture[{name}] seed={} ops={} succeeded={} refused={} store-errors={} jobs={} events={} progress-samples={} violations={}",
        plan.seed,
        report.ops,
        report.succeeded,
        report.refused,
        report.store_errors,
        report.jobs,
        report.events,
        report.samples,
        report.violations.len()
    );
    assert!(report.ops >= plan.ops.min(10_000) - plan.threads);
    // Refusals by the state machine depend on how the threads interleave, so the run is judged
    // on the operations that reached the store: most of them must go through (faults are at most
    // one request in five, and retried), and enough of them for the run to mean something.
    assert!(
        report.succeeded > report.store_errors && report.succeeded > report.ops / 10,
        "too few operations went through: {report:?}"
    );
    assert!(
        report.violations.is_empty(),
        "seed {} broke invariants:\n{}",
        plan.seed,
        report.violations.join("\n")
    );
}

fn appwrite_store(fake: &FakeAppwrite) -> AppwriteStore {
    let vars: HashMap<String, String> = fake.variables();
    let config = AppwriteConfig::from_lookup(|k| vars.get(k).cloned(), None).expect("config");
    let slept = Arc::new(Mutex::new(Duration::ZERO));
    AppwriteStore::new(AppwriteClient::new(config).with_retry(RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        // Backoff is recorded, not slept: the torture is about interleavings, not waiting.
        sleep: Arc::new(move |d| *slept.lock().unwrap() += d),
    }))
}

#[test]
fn racing_workers_users_and_sweeper_keep_every_invariant_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("torture.db")).unwrap();
    let plan = plan(false);
    verdict("sqlite", plan, &run(&store, plan));
}

#[test]
fn racing_workers_users_and_sweeper_keep_every_invariant_on_the_fake_appwrite() {
    let fake = FakeAppwrite::start();
    let store = appwrite_store(&fake);
    let plan = plan(false);
    verdict("appwrite", plan, &run(&store, plan));
}

#[test]
fn injected_faults_surface_as_errors_and_break_no_invariant() {
    let fake = FakeAppwrite::start();
    let store = appwrite_store(&fake);
    let plan = plan(true);
    // Every 5th request fails with a fault kind picked from the plan's seed: counted by requests,
    // not time, so the share of faults is the same on a loaded machine as on an idle one.
    fake.schedule_faults(
        5,
        vec![
            Fault::RateLimited { reset_in: 0 },
            Fault::ServerError(503),
            Fault::ServerError(500),
            Fault::Drop,
            Fault::DropAfterApply,
            Fault::InvalidJson,
        ],
        plan.seed,
    );
    let injected = std::sync::atomic::AtomicU64::new(0);
    let report = run_then(&store, plan, &|| {
        injected.store(
            fake.scheduled_faults(),
            std::sync::atomic::Ordering::Relaxed,
        );
        fake.clear_faults();
    });
    let injected = injected.into_inner();
    println!("faults injected: {injected}");
    assert!(injected > 0, "the schedule injected no fault");
    verdict("appwrite+faults", plan, &report);
}
