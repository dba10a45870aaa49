//! Store benchmarks (run by `scripts/bench-store`): the dashboard's job list at 10k, 100k and
//! 1M jobs, progress-update throughput on one core through `shared::usecase::progress`, and a
//! retention pass pruning 100,000 finished jobs down to 100. Prints a Markdown section to
//! stdout so the bench driver can paste it into BENCHMARKS.md.
//!
//! `--max-jobs N` caps the largest list size (for a quick smoke run).

use std::time::{Duration as Wall, Instant};

use chrono::Duration;
use shared::job::{JobStatus, JobType};
use shared::store::{DateField, DateRange, JobQuery, JobStore, Order, Scope};
use shared::usecase::{self, Act};
use sqlite_store::synthetic::{job as synthetic, now};
use sqlite_store::SqliteStore;

const SIZES: &[usize] = &[10_000, 100_000, 1_000_000];
const LIST_RUNS: usize = 300;
const PAGE: usize = 50;
const PROGRESS_CALLS: u64 = 20_000;
const PRUNE_JOBS: usize = 100_000;
const PRUNE_KEEP: usize = 100;
const PRUNE_BATCH: usize = 10_000;

fn percentile(sorted: &[Wall], p: usize) -> Wall {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn ms(d: Wall) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1_000.0)
}

/// Runs `f` `runs` times after a warm-up and returns (p50, p99).
fn time<T>(runs: usize, mut f: impl FnMut(usize) -> T) -> (Wall, Wall) {
    for i in 0..runs.min(10) {
        std::hint::black_box(f(i));
    }
    let mut times: Vec<Wall> = (0..runs)
        .map(|i| {
            let start = Instant::now();
            std::hint::black_box(f(i));
            start.elapsed()
        })
        .collect();
    times.sort();
    (percentile(&times, 50), percentile(&times, 99))
}

fn list_queries() -> Vec<(&'static str, JobQuery)> {
    let days = |d: i64| now() - Duration::days(d);
    vec![
        (
            "**type + status + completedAt in the last 30 days** (the target)",
            JobQuery {
                types: vec![JobType::CampaignRun],
                statuses: vec![JobStatus::Completed],
                range: Some(DateRange {
                    field: DateField::CompletedAt,
                    from: Some(days(30)),
                    to: Some(now()),
                }),
                limit: PAGE,
                ..JobQuery::default()
            },
        ),
        (
            "type + status + startedAt in a 30-day window 6 months back",
            JobQuery {
                types: vec![JobType::BulkVerify],
                statuses: vec![JobStatus::Failed],
                range: Some(DateRange {
                    field: DateField::StartedAt,
                    from: Some(days(210)),
                    to: Some(days(180)),
                }),
                limit: PAGE,
                ..JobQuery::default()
            },
        ),
        (
            "two types + finished + updatedAt in the last 7 days",
            JobQuery {
                types: vec![JobType::CampaignRun, JobType::SqsPoll],
                scope: Scope::Finished,
                range: Some(DateRange {
                    field: DateField::UpdatedAt,
                    from: Some(days(7)),
                    to: None,
                }),
                limit: PAGE,
                ..JobQuery::default()
            },
        ),
        (
            "unfiltered, newest first",
            JobQuery {
                limit: PAGE,
                ..JobQuery::default()
            },
        ),
        (
            "history: finished, newest completion first",
            JobQuery {
                scope: Scope::Finished,
                order: Order::Completed,
                limit: PAGE,
                ..JobQuery::default()
            },
        ),
        (
            "active jobs (the live panel)",
            JobQuery {
                scope: Scope::Active,
                limit: PAGE,
                ..JobQuery::default()
            },
        ),
    ]
}

fn main() {
    let max_jobs = std::env::args()
        .skip_while(|a| a != "--max-jobs")
        .nth(1)
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let sizes: Vec<usize> = SIZES.iter().copied().filter(|&n| n <= max_jobs).collect();
    let sizes = if sizes.is_empty() {
        vec![max_jobs]
    } else {
        sizes
    };
    let largest = *sizes.last().unwrap_or(&0);
    let wall = Instant::now();

    let dir = tempfile::tempdir().expect("temp dir");
    let span = Duration::days(365);
    let mut load_lines = Vec::new();
    let mut list_lines = Vec::new();
    let mut plans = Vec::new();
    let mut store = None;
    // One database per size, each a full year of jobs loaded in creation order (as they would
    // have arrived); the previous one is deleted to save disk.
    for &size in &sizes {
        drop(store.take());
        let path = dir.path().join(format!("list-{size}.db"));
        let db = SqliteStore::open(&path).expect("open");
        let start = Instant::now();
        let rows = (0..size as u64).map(|i| synthetic(i, size as u64, span));
        let inserted = db.bulk_load(rows).expect("bulk load");
        db.optimize().expect("analyze");
        let took = start.elapsed();
        load_lines.push(format!(
            "| {size} | {:.1} s | {:.0} rows/s |",
            took.as_secs_f64(),
            inserted as f64 / took.as_secs_f64()
        ));

        let probe_ids: Vec<String> = db
            .list(&JobQuery {
                limit: 500,
                ..JobQuery::default()
            })
            .expect("list")
            .jobs
            .into_iter()
            .map(|j| j.id)
            .collect();
        let (p50, p99) = time(LIST_RUNS * 4, |i| {
            db.get(&probe_ids[i % probe_ids.len()]).expect("get")
        });
        list_lines.push(format!(
            "| {size} | baseline: one job by primary key | {} | {} | 1 |",
            ms(p50),
            ms(p99)
        ));
        for (name, query) in list_queries() {
            let rows = db.list(&query).expect("list").jobs.len();
            let (p50, p99) = time(LIST_RUNS, |_| db.list(&query).expect("list"));
            list_lines.push(format!(
                "| {size} | {name} | {} | {} | {rows} |",
                ms(p50),
                ms(p99)
            ));
            if size == largest {
                let plan = db.explain_list(&query).expect("explain").join("; ");
                plans.push(format!("- {name}: `{plan}`"));
            }
        }
        if size != largest {
            drop(db);
            // The WAL and shared-memory files go with it.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        } else {
            store = Some(db);
        }
    }
    let store = store.expect("the largest database");

    // Progress on one core, on the largest database: running jobs already there.
    let running: Vec<String> = store
        .list(&JobQuery {
            statuses: vec![JobStatus::Running],
            limit: 100,
            ..JobQuery::default()
        })
        .expect("list")
        .jobs
        .into_iter()
        .map(|j| j.id)
        .collect();
    let mut progress_lines = Vec::new();
    for (name, step_ms) in [
        ("forced (every call writes)", 1_000),
        ("coalesced (same percent, 1 ms apart)", 1),
    ] {
        let revs_before: u64 = running
            .iter()
            .map(|id| store.get(id).expect("get").rev)
            .sum();
        let start = Instant::now();
        for call in 0..PROGRESS_CALLS {
            let job_id = &running[(call as usize) % running.len()];
            let at = now() + Duration::milliseconds(step_ms * call as i64);
            let act = Act::new(&store, "function:hook-campaign-run", at);
            let percent = if step_ms == 1 {
                None
            } else {
                Some((call % 100) as u8)
            };
            usecase::progress(
                &act,
                job_id,
                usecase::Progress {
                    percent,
                    done: None,
                    claimed: None,
                    total: None,
                    message: Some("sending".into()),
                    checkpoint: None,
                },
            )
            .expect("progress");
        }
        let took = start.elapsed();
        let revs_after: u64 = running
            .iter()
            .map(|id| store.get(id).expect("get").rev)
            .sum();
        progress_lines.push(format!(
            "| {name} | {PROGRESS_CALLS} | {} | {:.0} calls/s |",
            revs_after - revs_before,
            PROGRESS_CALLS as f64 / took.as_secs_f64()
        ));
    }
    drop(store);

    // Retention: 100,000 finished jobs (each with its created event) pruned to the newest 100
    // of each type.
    let prune_store = SqliteStore::open(dir.path().join("prune.db")).expect("open");
    let finished = (0..PRUNE_JOBS as u64 * 2)
        .map(|i| synthetic(i, PRUNE_JOBS as u64 * 2, span))
        .filter(|(j, _)| j.status.is_final())
        .take(PRUNE_JOBS);
    let loaded_finished = prune_store.bulk_load(finished).expect("bulk load");
    let act = Act::new(&prune_store, "system", now());
    let start = Instant::now();
    let mut passes = 0;
    let mut deleted = 0;
    loop {
        let rules = usecase::keep_newest(PRUNE_KEEP);
        let pruned = usecase::prune(&act, &rules, None, PRUNE_BATCH).expect("prune");
        passes += 1;
        deleted += pruned.deleted;
        if pruned.remaining == 0 {
            break;
        }
    }
    let prune_took = start.elapsed();
    let left = prune_store
        .counts()
        .expect("counts")
        .iter()
        .map(|c| c.count)
        .sum::<u64>();

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("## Store (SQLite)\n");
    println!("Command: `scripts/bench-store` (release build of `cargo bench -p sqlite-store --bench store`), {cores} cores, total run {:.0} s. One thread throughout; each list query is a first page of {PAGE} through `JobStore::list` (SQL, decoding, paging), {LIST_RUNS} runs after a warm-up. Data: one year of synthetic jobs, 97% finished, four types.\n", wall.elapsed().as_secs_f64());
    println!("### Job list, first page\n");
    println!("| jobs | query | p50 | p99 | rows |\n| ---: | --- | ---: | ---: | ---: |");
    for line in &list_lines {
        println!("{line}");
    }
    println!("\nTarget: first page p50 < 10 ms at 1M jobs.\n");
    println!("Query plans at {largest} jobs (`EXPLAIN QUERY PLAN`):\n");
    for plan in &plans {
        println!("{plan}");
    }
    println!("\n### Progress updates on one core (`usecase::progress`, {} running jobs in the {largest}-job database)\n", running.len());
    println!("| mode | calls | writes | throughput |\n| --- | ---: | ---: | ---: |");
    for line in &progress_lines {
        println!("{line}");
    }
    println!("\nTarget: at least 5,000 progress updates per second on one core.\n");
    println!("### Retention\n");
    println!(
        "Pruned {loaded_finished} finished jobs (each with its created event) to the newest {PRUNE_KEEP} of each type in {passes} passes of at most {PRUNE_BATCH}: **{:.2} s** ({:.0} jobs/s); {deleted} deleted, {left} left.\n",
        prune_took.as_secs_f64(),
        deleted as f64 / prune_took.as_secs_f64()
    );
    println!("### Bulk load (one transaction, prepared statements, every index in place)\n");
    println!("| jobs | time | rate |\n| ---: | ---: | ---: |");
    for line in &load_lines {
        println!("{line}");
    }
}
