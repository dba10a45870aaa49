//! Hook throughput through `hook-campaign-run`'s real handler on an in-memory SQLite store, for
//! BENCHMARKS.md: progress calls per second, p50/p99 latency, and store writes per job. It lives
//! with the SQLite store it measures, so the deployed hook crate needs no `local/` crate.
//! Run: `cargo bench -p sqlite-store --bench hooks` (optionally `-- <calls>`).

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use shared::platform::Platform;
use shared::store::JobStore;
use shared::tracker::server_context;
use sqlite_store::SqliteStore;

fn main() {
    let calls: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let store = Arc::new(SqliteStore::in_memory().expect("sqlite store"));
    let platform = Platform::new(store.clone(), Arc::new(|_| None));
    let call = |body: serde_json::Value| {
        let context = server_context(body.to_string().as_bytes(), Some("bench")).unwrap();
        hook_campaign_run::handle(context, &platform)
    };
    let started = call(json!({"event": "start", "referenceId": "bench", "total": calls}));
    let job: serde_json::Value = serde_json::from_slice(&started.body).unwrap();
    let id = job["job"]["$id"].as_str().unwrap().to_owned();

    let mut latencies = Vec::with_capacity(calls as usize);
    let begin = Instant::now();
    for done in 1..=calls {
        let t = Instant::now();
        let response = call(json!({
            "event": "progress", "jobId": id, "done": done,
            "message": format!("{done}/{calls} emails sent")
        }));
        latencies.push(t.elapsed());
        assert_eq!(response.status_code, 200);
    }
    let elapsed = begin.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    // Every write appends to rev: the job's revision counts its writes (1 for the create).
    let writes = store.get(&id).unwrap().rev - 1;
    println!(
        "hook progress calls through the handler on SQLite: {calls} calls in {:.2} s = {:.0} calls/s; p50 {:?}, p99 {:?}, max {:?}; store writes for the job: {writes}",
        elapsed.as_secs_f64(),
        calls as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        latencies[latencies.len() - 1],
    );
}
