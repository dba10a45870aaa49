//! The action API's list latency at a million jobs, measured through the whole `job-actions`
//! handler (routing, role from the cache, query parsing, SQLite, JSON views) the way the
//! dashboard calls it. Prints a Markdown section (`## Action API`) for BENCHMARKS.md. It lives
//! with the SQLite store it measures, so the deployed crate needs no `local/` crate.
//!
//! `cargo bench -p sqlite-store --bench actions [-- --jobs N --runs R]`; defaults 1,000,000 jobs
//! and 200 runs per request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration as Wall, Instant};

use chrono::Duration;
use job_actions::auth::RoleCache;
use job_actions::query::{list_query, Params};
use job_actions::upstream::{Directory, Executions, Rows, UpstreamError};
use job_actions::{handle_with, Services};
use openruntimes::{Context, Logger};
use serde_json::Value;
use shared::platform::Platform;
use sqlite_store::synthetic::{job as synthetic, now};
use sqlite_store::SqliteStore;

/// Everyone is an operator; nothing else is called by list requests.
struct Operator;

impl Directory for Operator {
    fn user_labels(&self, _: &str) -> Result<Vec<String>, UpstreamError> {
        Ok(vec!["jobsoperator".into()])
    }
    fn is_team_member(&self, _: &str, _: &str) -> Result<bool, UpstreamError> {
        Ok(false)
    }
}
impl Executions for Operator {
    fn create_execution(&self, _: &str, _: &str) -> Result<String, UpstreamError> {
        Ok("exec".into())
    }
}
impl Rows for Operator {
    fn update_row(&self, _: &str, _: &str, _: &str, _: &Value) -> Result<(), UpstreamError> {
        Ok(())
    }
}

fn call(platform: &Platform, services: &Services, path: &str) -> (u16, Value) {
    let mut ctx = Context::new(Logger::new("disabled", Some("bench".into())).expect("logger"));
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    ctx.req.method = "GET".into();
    ctx.req.path = path.into();
    ctx.req.query_string = query.into();
    ctx.req.headers = HashMap::from([
        ("x-appwrite-user-id".to_owned(), "bench-user".to_owned()),
        ("x-appwrite-trigger".to_owned(), "http".to_owned()),
    ]);
    let res = handle_with(ctx, platform, services);
    let body = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
    (res.status_code, body)
}

fn percentile(sorted: &[Wall], p: f64) -> Wall {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Wall) -> String {
    format!("{:.2}", d.as_secs_f64() * 1_000.0)
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let jobs = arg("--jobs", 1_000_000) as u64;
    let runs = arg("--runs", 200).max(1);

    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("jobs.db")).expect("store");
    let load = Instant::now();
    let chunk = 100_000;
    for start in (0..jobs).step_by(chunk) {
        let end = (start + chunk as u64).min(jobs);
        store
            .bulk_load(
                (start..end).map(|i| (synthetic(i, jobs, Duration::days(365)).0, Vec::new())),
            )
            .expect("bulk load");
    }
    store.optimize().expect("analyze");
    let load = load.elapsed();

    let vars: HashMap<String, String> =
        HashMap::from([("JOBS_OPERATOR_LABELS".into(), "jobsoperator".into())]);
    let store = Arc::new(store);
    let sqlite = store.clone();
    let mut platform = Platform::new(store, Arc::new(move |k| vars.get(k).cloned()));
    platform.clock = Arc::new(now);
    let roles = RoleCache::new();
    let services = Services {
        directory: &Operator,
        executions: &Operator,
        rows: &Operator,
        roles: &roles,
    };

    let (_, first) = call(&platform, &services, "/v1/jobs?limit=50");
    let cursor = first["nextCursor"].as_str().unwrap_or_default().to_owned();
    let cases: Vec<(&str, String)> = vec![
        ("default page (50, newest first)", "/v1/jobs".into()),
        (
            "type + status filter",
            "/v1/jobs?type=CAMPAIGN_RUN&status=RUNNING,PAUSED".into(),
        ),
        ("active scope", "/v1/jobs?scope=active".into()),
        (
            "history: finished, by completion, one type",
            "/v1/jobs?scope=finished&order=completed&type=BULK_VERIFY".into(),
        ),
        (
            "completed in a week, one type",
            "/v1/jobs?type=CAMPAIGN_RUN&dateField=completedAt&from=2026-12-01T00:00:00Z&to=2026-12-08T00:00:00Z"
                .into(),
        ),
        ("reference prefix `q`", "/v1/jobs?q=campaign-42".into()),
        (
            "polling delta `updatedSince` (last hour)",
            "/v1/jobs?updatedSince=2026-12-31T23:00:00Z".into(),
        ),
        ("second page (cursor)", format!("/v1/jobs?cursor={cursor}")),
        ("page of 500", "/v1/jobs?limit=500".into()),
    ];

    println!("## Action API\n");
    println!(
        "List requests through the whole `job-actions` handler (routing, cached role, query \
         parsing, SQLite, JSON views of every row) on {jobs} jobs spread over a year (97% \
         finished), {runs} runs each after one warm-up, release build, one thread. Loading the \
         jobs took {:.1} s.\n",
        load.as_secs_f64()
    );
    println!("| request | rows | p50 ms | p95 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, path) in &cases {
        let (status, body) = call(&platform, &services, path);
        assert_eq!(status, 200, "{path}: {body}");
        let rows = body["jobs"].as_array().map_or(0, Vec::len);
        let mut times: Vec<Wall> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let (status, _) = call(&platform, &services, path);
                let elapsed = t.elapsed();
                assert_eq!(status, 200);
                elapsed
            })
            .collect();
        times.sort();
        println!(
            "| {name}: `{}` | {rows} | {} | {} | {} |",
            path.replace('|', "\\|"),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(*times.last().expect("at least one run"))
        );
    }
    // The plans say which index serves each filter: the list's cost is the store's query.
    println!("\nSQLite plans (`EXPLAIN QUERY PLAN`):\n");
    for (name, path) in &cases {
        let raw = path.split_once('?').map_or("", |(_, q)| q);
        let query = Params::parse(raw)
            .and_then(|p| list_query(&p))
            .expect("the bench's own queries are valid");
        let plan = sqlite.explain_list(&query).unwrap_or_default();
        println!("- {name}: {}", plan.join(" / "));
    }
    let t = Instant::now();
    let (status, _) = call(&platform, &services, "/v1/jobs/summary");
    println!(
        "\nThe summary (`/v1/jobs/summary`, counts per type and status) took {} ms once \
         (status {status}).",
        ms(t.elapsed())
    );
}
