//! Behaviour specific to a database file: independent stores (as separate processes would
//! have, each with its own pool) racing on one file, reopening, and rows that do not decode.

use std::sync::Arc;

use rusqlite::Connection;
use shared::job::{JobStatus, JobType};
use shared::store::conformance::{self, job, put, t0};
use shared::store::{JobQuery, JobStore, StoreError};
use sqlite_store::{Options, SqliteStore};

#[test]
fn two_stores_on_one_file_race_use_cases_and_keep_every_job_on_a_legal_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    // The suite's race drives one store handle from many threads; splitting the handle's calls
    // over two stores (two pools, two sets of connections) is what two processes look like.
    let both = Alternating {
        stores: [Arc::new(a), Arc::new(b)],
        next: std::sync::atomic::AtomicUsize::new(0),
    };
    conformance::racing_use_cases_leave_every_job_on_a_legal_path_with_nothing_lost(&both);
}

/// A store that sends each call to one of two independent stores in turn.
struct Alternating {
    stores: [Arc<SqliteStore>; 2],
    next: std::sync::atomic::AtomicUsize,
}

impl Alternating {
    fn pick(&self) -> &SqliteStore {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.stores[n % 2]
    }
}

impl JobStore for Alternating {
    fn create(
        &self,
        job: &shared::job::Job,
        created: &shared::job::JobEvent,
    ) -> shared::store::StoreResult<shared::store::Created> {
        self.pick().create(job, created)
    }
    fn get(&self, id: &str) -> shared::store::StoreResult<shared::job::Job> {
        self.pick().get(id)
    }
    fn list(&self, query: &JobQuery) -> shared::store::StoreResult<shared::store::Page> {
        self.pick().list(query)
    }
    fn write(&self, write: &shared::store::Write) -> shared::store::StoreResult<shared::job::Job> {
        self.pick().write(write)
    }
    fn events(
        &self,
        job_id: &str,
        limit: usize,
    ) -> shared::store::StoreResult<Vec<shared::job::JobEvent>> {
        self.pick().events(job_id, limit)
    }
    fn prune(
        &self,
        retention: &shared::store::Retention,
        batch: usize,
    ) -> shared::store::StoreResult<shared::store::Pruned> {
        self.pick().prune(retention, batch)
    }
    fn stale(
        &self,
        job_type: JobType,
        status: JobStatus,
        before: shared::job::Timestamp,
        limit: usize,
    ) -> shared::store::StoreResult<Vec<shared::job::Job>> {
        self.pick().stale(job_type, status, before, limit)
    }
    fn counts(&self) -> shared::store::StoreResult<Vec<shared::store::Count>> {
        self.pick().counts()
    }
    fn note(&self, rev: u64, events: &[shared::job::JobEvent]) -> shared::store::StoreResult<()> {
        self.pick().note(rev, events)
    }
    fn noted(&self, ids: &[&str]) -> shared::store::StoreResult<Vec<String>> {
        self.pick().noted(ids)
    }
}

#[test]
fn a_reopened_file_keeps_its_jobs_and_is_not_migrated_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let first = job("j-1", JobType::SqsPoll, JobStatus::Running, t0());
    {
        let store = SqliteStore::open(&path).unwrap();
        put(&store, &first);
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.get("j-1").unwrap(), first);
    let version: i64 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, sqlite_store::SCHEMA_VERSION);
}

#[test]
fn a_file_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    drop(SqliteStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::Backend(ref m) if m.contains("99")),
        "{err}"
    );
}

#[test]
fn a_corrupt_row_is_a_backend_error_naming_the_column() {
    let store = SqliteStore::in_memory().unwrap();
    put(
        &store,
        &job("j-1", JobType::SqsPoll, JobStatus::Running, t0()),
    );
    put(
        &store,
        &job("j-2", JobType::SqsPoll, JobStatus::Running, t0()),
    );
    Connection::open(store.path())
        .unwrap()
        .execute("UPDATE jobs SET status = 'SLEEPING' WHERE id = 'j-2'", [])
        .unwrap();
    let err = store.get("j-2").unwrap_err();
    assert!(
        matches!(err, StoreError::Backend(ref m) if m.contains("`status`")),
        "{err}"
    );
    let err = store.list(&JobQuery::default()).unwrap_err();
    assert!(
        matches!(err, StoreError::Backend(ref m) if m.contains("`status`")),
        "{err}"
    );
    assert_eq!(store.get("j-1").unwrap().id, "j-1", "other rows still read");

    Connection::open(store.path())
        .unwrap()
        .execute("UPDATE jobs SET metadata = '{oops' WHERE id = 'j-1'", [])
        .unwrap();
    let err = store.get("j-1").unwrap_err();
    assert!(
        matches!(err, StoreError::Backend(ref m) if m.contains("`metadata`")),
        "{err}"
    );
}

#[test]
fn a_held_write_lock_makes_writes_wait_then_fail_as_unavailable_not_corrupt() {
    // Not a timing assertion: the lock is held for the whole call, so the outcome is certain;
    // the short busy timeout only keeps the test quick.
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        busy_timeout: std::time::Duration::from_millis(50),
        ..Options::default()
    };
    let store = SqliteStore::open_with(dir.path().join("jobs.db"), options).unwrap();
    let mut locker = Connection::open(store.path()).unwrap();
    locker.busy_timeout(std::time::Duration::ZERO).unwrap();
    let tx = locker
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let j = job("j-1", JobType::SqsPoll, JobStatus::Running, t0());
    let err = store
        .create(&j, &conformance::created_event(&j))
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
    drop(tx);
    put(&store, &j);
}
