//! The SQL shapes behind fast first pages and counts (schema migration 3): the per-(type,
//! status) merge, the dense reference prefix walked in creation order, and the trigger-kept
//! `job_counts` table. Results are compared with `JobQuery::matches` (the filters' definition)
//! and with a `GROUP BY` over the jobs themselves; the conformance suite's 60 jobs are too few
//! to reach the dense-prefix path, so these load more.

use chrono::Duration;
use rusqlite::Connection;
use shared::job::{Job, JobStatus, JobType};
use shared::store::conformance::{created_event, job, put, t0};
use shared::store::{Count, DateField, DateRange, JobQuery, JobStore, Order, Scope, Write};
use sqlite_store::SqliteStore;

/// `n` jobs, one second apart, cycling through every type and status; references
/// `dense-<i % 7>` except every 97th, which gets a reference of its own.
fn jobs(n: usize) -> Vec<Job> {
    (0..n)
        .map(|i| {
            let job_type = JobType::ALL[i % JobType::ALL.len()];
            let status = JobStatus::ALL[(i / 4) % JobStatus::ALL.len()];
            // Pairs share a creation time, so the id tie-break is exercised.
            let mut j = job(
                &format!("j-{i:05}"),
                job_type,
                status,
                t0() + Duration::seconds((i / 2) as i64),
            );
            j.reference_id = if i % 97 == 0 {
                format!("sparse-{i}")
            } else {
                format!("dense-{}", i % 7)
            };
            j
        })
        .collect()
}

fn loaded(all: &[Job]) -> SqliteStore {
    let store = SqliteStore::in_memory().unwrap();
    store
        .bulk_load(all.iter().map(|j| (j.clone(), vec![created_event(j)])))
        .unwrap();
    store
}

fn expected(all: &[Job], query: &JobQuery, n: usize) -> Vec<String> {
    let mut hits: Vec<&Job> = all.iter().filter(|j| query.matches(j)).collect();
    let key = |j: &Job| match query.order {
        Order::Created => Some(j.created_at),
        Order::Completed => j.completed_at,
    };
    hits.sort_by(|a, b| (key(b), &b.id).cmp(&(key(a), &a.id)));
    hits.into_iter().take(n).map(|j| j.id.clone()).collect()
}

/// The first three pages of `query`, by cursor.
fn three_pages(store: &SqliteStore, query: &JobQuery) -> Vec<String> {
    let mut query = query.clone();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let page = store.list(&query).unwrap();
        ids.extend(page.jobs.into_iter().map(|j| j.id));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    ids
}

#[test]
fn dense_and_sparse_searches_page_like_the_query_definition() {
    // 9,900 of 10,000 references contain `dense-`, about a hundred `sparse-`: a search walks the
    // order index and tests each row, however many match.
    let all = jobs(10_000);
    let store = loaded(&all);
    let cases = [
        JobQuery {
            search: Some("dense-".into()),
            limit: 50,
            ..JobQuery::default()
        },
        JobQuery {
            search: Some("dense-3".into()),
            types: vec![JobType::CampaignRun, JobType::SqsPoll],
            scope: Scope::Finished,
            limit: 20,
            ..JobQuery::default()
        },
        JobQuery {
            search: Some("NSE-".into()),
            statuses: vec![JobStatus::Completed, JobStatus::Failed],
            order: Order::Completed,
            limit: 30,
            ..JobQuery::default()
        },
        JobQuery {
            search: Some("sparse-".into()),
            limit: 40,
            ..JobQuery::default()
        },
        JobQuery {
            search: Some("sparse-1".into()),
            types: vec![JobType::BulkVerify],
            limit: 5,
            ..JobQuery::default()
        },
        // An id, whole and in another case: that one job.
        JobQuery {
            search: Some("J-00194".into()),
            limit: 5,
            ..JobQuery::default()
        },
    ];
    for query in &cases {
        let want = expected(&all, query, 3 * query.limit);
        assert!(!want.is_empty(), "{query:?} matches something");
        assert_eq!(three_pages(&store, query), want, "{query:?}");
    }
    let dense = store.explain_list(&cases[0]).unwrap().join(" / ");
    assert!(
        !dense.contains("jobs_reference"),
        "a search walks the order: {dense}"
    );
}

#[test]
fn several_types_and_statuses_merge_one_ordered_stream_per_pair() {
    let all = jobs(3_000);
    let store = loaded(&all);
    let cases = [
        JobQuery {
            types: vec![JobType::CampaignRun],
            statuses: vec![JobStatus::Running, JobStatus::Paused],
            limit: 50,
            ..JobQuery::default()
        },
        JobQuery {
            types: vec![JobType::BulkVerify],
            scope: Scope::Finished,
            order: Order::Completed,
            limit: 50,
            ..JobQuery::default()
        },
        JobQuery {
            types: vec![JobType::CampaignRun],
            range: Some(DateRange {
                field: DateField::CompletedAt,
                from: Some(t0() + Duration::seconds(200)),
                to: Some(t0() + Duration::seconds(900)),
            }),
            limit: 25,
            ..JobQuery::default()
        },
        JobQuery {
            scope: Scope::Active,
            limit: 50,
            ..JobQuery::default()
        },
    ];
    for query in &cases {
        let want = expected(&all, query, 3 * query.limit);
        assert!(!want.is_empty(), "{query:?} matches something");
        assert_eq!(three_pages(&store, query), want, "{query:?}");
    }
    let plan = store.explain_list(&cases[0]).unwrap().join(" / ");
    assert!(plan.contains("UNION ALL"), "two statuses merge: {plan}");
}

/// The counts straight from the jobs, for comparison with the kept counters.
fn counted(store: &SqliteStore) -> Vec<Count> {
    let conn = Connection::open(store.path()).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, status, count(*) FROM jobs GROUP BY type, status ORDER BY 1, 2")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
        })
        .unwrap();
    rows.map(|row| {
        let (t, s, n) = row.unwrap();
        Count {
            job_type: t.parse().unwrap(),
            status: s.parse().unwrap(),
            count: n,
        }
    })
    .collect()
}

#[test]
fn counts_follow_inserts_status_changes_and_prunes() {
    let store = SqliteStore::in_memory().unwrap();
    let all = jobs(60);
    for j in &all {
        put(&store, j);
    }
    assert_eq!(store.counts().unwrap(), counted(&store));

    // A status change moves one job between counters; a progress write moves none.
    let mut running = store.get("j-00004").unwrap();
    assert_eq!(running.status, JobStatus::Running);
    running.progress = 40;
    running.rev += 1;
    store
        .write(&Write {
            job: running.clone(),
            expected_rev: running.rev - 1,
            events: vec![],
        })
        .unwrap();
    let mut cancelled = running.clone();
    cancelled.status = JobStatus::Cancelled;
    cancelled.completed_at = Some(cancelled.updated_at);
    cancelled.rev += 1;
    store
        .write(&Write {
            job: cancelled,
            expected_rev: running.rev,
            events: vec![],
        })
        .unwrap();
    assert_eq!(store.counts().unwrap(), counted(&store));

    store
        .prune(&shared::store::Retention::newest(5, None), 1_000)
        .unwrap();
    let after = store.counts().unwrap();
    assert_eq!(after, counted(&store));
    assert!(
        after.iter().all(|c| c.count > 0),
        "empty pairs are left out"
    );
}

#[test]
fn migrating_a_version_2_file_counts_the_jobs_it_already_has() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        for j in jobs(40) {
            put(&store, &j);
        }
    }
    // Take the file back to schema 2 (its counters and triggers gone), as an older build left it.
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "DROP TRIGGER job_counts_insert; DROP TRIGGER job_counts_delete;
             DROP TRIGGER job_counts_update; DROP TABLE job_counts;
             DROP INDEX jobs_type_status_completed; DROP INDEX jobs_reference;
             CREATE INDEX jobs_type_status_completed
                 ON jobs (type, status, completedAt, createdAt, id);
             CREATE INDEX jobs_reference ON jobs (referenceId, type, status);
             ALTER TABLE jobs DROP COLUMN run; ALTER TABLE jobs DROP COLUMN executionId;
             ALTER TABLE jobs DROP COLUMN claims;
             PRAGMA user_version = 2;",
        )
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let counts = store.counts().unwrap();
    assert_eq!(counts.iter().map(|c| c.count).sum::<u64>(), 40);
    assert_eq!(counts, counted(&store));
}
