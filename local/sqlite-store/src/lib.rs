//! The embedded [`JobStore`]: SQLite (bundled, WAL) behind a small connection pool. It backs
//! local runs and the test suite, and passes the same conformance suite as the Appwrite adapter.
//!
//! Concurrency model: readers never block (WAL); every write is one `BEGIN IMMEDIATE`
//! transaction, so writers queue on SQLite's file lock (`busy_timeout`) instead of failing
//! half-way, whether they are threads of this process or other processes on the same file.
//! A lock still held after the timeout surfaces as the retryable `StoreError::Unavailable`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value as Sql;
use rusqlite::TransactionBehavior;
use rusqlite::{params, params_from_iter, Connection, ErrorCode};
use shared::job::{Job, JobError, JobEvent, JobStatus, JobType, Timestamp};
use shared::store::{
    Count, Created, JobQuery, JobStore, Page, Pruned, Retention, StoreError, StoreResult, Write,
};

mod codec;
mod query;
mod schema;
pub mod synthetic;

use codec::{EVENT_COLUMNS, JOB_COLUMNS};

/// Tuning for [`SqliteStore::open_with`]; the defaults suit local runs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How long a writer waits for another's lock before the call fails as `Unavailable`.
    pub busy_timeout: Duration,
    /// Connections per store. SQLite serialises writers anyway; a few connections let reads
    /// run beside a write (WAL) without opening a connection per call.
    pub pool_size: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            busy_timeout: Duration::from_secs(5),
            pool_size: 8,
        }
    }
}

/// Everything that can go wrong inside this adapter, so `?` works on both rusqlite and store
/// errors; mapped into the port's [`StoreError`] in exactly one place ([`From<Failure>`]).
#[derive(Debug)]
enum Failure {
    Sql(rusqlite::Error),
    Pool(r2d2::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}
impl From<r2d2::Error> for Failure {
    fn from(e: r2d2::Error) -> Self {
        Failure::Pool(e)
    }
}
impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}
impl From<JobError> for Failure {
    fn from(e: JobError) -> Self {
        Failure::Store(e.into())
    }
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Store(e) => e,
            // Another writer held the lock for longer than the busy timeout: retry later.
            Failure::Sql(rusqlite::Error::SqliteFailure(e, msg))
                if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
            {
                StoreError::Unavailable(msg.unwrap_or_else(|| e.to_string()))
            }
            Failure::Sql(e) => StoreError::Backend(e.to_string()),
            // No connection could be had in time: the pool is exhausted or the file unopenable.
            Failure::Pool(e) => StoreError::Unavailable(e.to_string()),
        }
    }
}

type Result<T> = std::result::Result<T, Failure>;

/// The schema version this build migrates files to (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = schema::VERSION;

/// The SQLite job store. Cheap to share (`Arc`); every method takes a pooled connection.
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
    path: PathBuf,
    // Declared after `pool` so the connections close before a temporary directory is removed.
    _temp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Page cache per connection (negative: KiB): 16 MB keeps the upper levels of every index in
/// memory.
const CACHE_KIB: i64 = -16_000;

/// Per-connection settings. `journal_mode` is a property of the file (set once in `open`);
/// these are per connection and must be repeated for each one the pool opens.
fn configure(conn: &mut Connection, options: Options) -> rusqlite::Result<()> {
    conn.busy_timeout(options.busy_timeout)?;
    // WAL with NORMAL sync: commits survive a process crash; only an OS crash can lose the last
    // few, which is acceptable for job tracking and is what makes small writes cheap.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", CACHE_KIB)?;
    conn.set_prepared_statement_cache_capacity(64);
    // The search's case folding, the same function every store folds with (a list's `q`).
    conn.create_scalar_function(
        "jm_fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(shared::store::fold(&ctx.get::<String>(0)?)),
    )?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database file at `path`.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(path, Options::default())
    }

    /// [`open`](Self::open) with explicit [`Options`].
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> StoreResult<Self> {
        Ok(Self::try_open(path.as_ref().to_path_buf(), None, options)?)
    }

    /// A private database in a temporary directory, deleted when the store is dropped. A file
    /// rather than `:memory:` so that every pooled connection sees the same data, with WAL.
    pub fn in_memory() -> StoreResult<Self> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Backend(e.to_string()))?;
        let path = dir.path().join("jobs.db");
        Ok(Self::try_open(path, Some(dir), Options::default())?)
    }

    fn try_open(path: PathBuf, temp: Option<tempfile::TempDir>, options: Options) -> Result<Self> {
        {
            let mut conn = Connection::open(&path)?;
            configure(&mut conn, options)?;
            // Switching to WAL takes the file lock briefly; the busy timeout covers a race with
            // another process opening the same file.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            let found = schema::migrate(&mut conn)?;
            if found > schema::VERSION {
                return Err(StoreError::Backend(format!(
                    "database schema version {found} is newer than this build's {}",
                    schema::VERSION
                ))
                .into());
            }
        }
        let manager =
            SqliteConnectionManager::file(&path).with_init(move |c| configure(c, options));
        let pool = Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(30))
            .build(manager)?;
        Ok(SqliteStore {
            pool,
            path,
            _temp: temp,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> Result<PooledConnection<SqliteConnectionManager>> {
        Ok(self.pool.get()?)
    }

    /// Inserts many jobs with their events in one transaction with prepared statements: for
    /// seeding dev data and benchmarks (a million rows in seconds). Existing ids are left
    /// untouched (their events are not added). Returns how many jobs were inserted.
    pub fn bulk_load(
        &self,
        rows: impl IntoIterator<Item = (Job, Vec<JobEvent>)>,
    ) -> StoreResult<usize> {
        let run = || -> Result<usize> {
            let mut conn = self.conn()?;
            // A large cache for the load keeps the indexes' pages in memory while they grow.
            conn.pragma_update(None, "cache_size", -512_000)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut inserted = 0;
            {
                let mut insert =
                    tx.prepare(&format!("{} ON CONFLICT (id) DO NOTHING", insert_job_sql()))?;
                for (job, events) in rows {
                    if insert.execute(params_from_iter(codec::job_values(&job)?))? == 1 {
                        inserted += 1;
                        Self::insert_events(&tx, &events)?;
                    }
                }
            }
            tx.commit()?;
            conn.pragma_update(None, "cache_size", CACHE_KIB)?;
            Ok(inserted)
        };
        Ok(run()?)
    }

    /// Refreshes the query planner's statistics (`PRAGMA optimize`); worth calling after a bulk
    /// load so list queries pick the narrowest index.
    pub fn optimize(&self) -> StoreResult<()> {
        let run = || -> Result<()> {
            self.conn()?.execute_batch("ANALYZE; PRAGMA optimize;")?;
            Ok(())
        };
        Ok(run()?)
    }

    /// The plan SQLite picks for a list query (`EXPLAIN QUERY PLAN`), one line per step:
    /// for the benchmark report and for checking that a filter is served by an index.
    pub fn explain_list(&self, query: &JobQuery) -> StoreResult<Vec<String>> {
        let run = || -> Result<Vec<String>> {
            let conn = self.conn()?;
            let Some(sql) = query::list(&conn, query)? else {
                return Ok(vec!["empty: no status matches".into()]);
            };
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", sql.text))?;
            let mut rows = stmt.query(params_from_iter(sql.params))?;
            let mut lines = Vec::new();
            while let Some(row) = rows.next()? {
                lines.push(row.get::<_, String>(3)?);
            }
            Ok(lines)
        };
        Ok(run()?)
    }

    fn get_job(conn: &Connection, id: &str) -> Result<Option<Job>> {
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"))?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(row) => Ok(Some(codec::job_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn insert_events(conn: &Connection, events: &[JobEvent]) -> Result<()> {
        let mut stmt = conn.prepare_cached(&format!(
            "INSERT INTO job_events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))?;
        for event in events {
            stmt.execute(params_from_iter(codec::event_values(event)))?;
        }
        Ok(())
    }

    fn jobs(conn: &Connection, sql: &str, params: Vec<Sql>) -> Result<Vec<Job>> {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        let mut jobs = Vec::new();
        while let Some(row) = rows.next()? {
            jobs.push(codec::job_from_row(row)?);
        }
        Ok(jobs)
    }

    fn try_create(&self, job: &Job, created: &JobEvent) -> Result<Created> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inserted = tx
            .prepare_cached(&format!("{} ON CONFLICT (id) DO NOTHING", insert_job_sql()))?
            .execute(params_from_iter(codec::job_values(job)?))?;
        if inserted == 0 {
            let existing = Self::get_job(&tx, &job.id)?
                .ok_or_else(|| StoreError::Backend(format!("job `{}` vanished", job.id)))?;
            return Ok(Created::Existing(existing));
        }
        Self::insert_events(&tx, std::slice::from_ref(created))?;
        tx.commit()?;
        Ok(Created::New(job.clone()))
    }

    /// The compare-and-set: inside one write transaction, read the row, check its revision,
    /// and update only the columns that differ. Updating just those keeps SQLite from
    /// rewriting every index on each progress write (the indexes on status, type or creation
    /// are untouched when only progress and timestamps move).
    fn try_write(&self, write: &Write) -> Result<Job> {
        let job = &write.job;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<Vec<Sql>> = {
            let mut stmt =
                tx.prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"))?;
            let mut rows = stmt.query([&job.id])?;
            match rows.next()? {
                Some(row) => Some(
                    (0..row.as_ref().column_count())
                        .map(|i| row.get::<_, Sql>(i))
                        .collect::<rusqlite::Result<_>>()?,
                ),
                None => None,
            }
        };
        let Some(current) = current else {
            return Err(StoreError::NotFound(job.id.clone()).into());
        };
        let expected = Sql::Integer(
            i64::try_from(write.expected_rev).map_err(|_| JobError::invalid("rev", "too large"))?,
        );
        let columns: Vec<&str> = JOB_COLUMNS.split(',').map(str::trim).collect();
        let rev = columns.iter().position(|c| *c == "rev");
        if rev.and_then(|i| current.get(i)) != Some(&expected) {
            return Err(StoreError::Conflict { id: job.id.clone() }.into());
        }
        let mut sets = Vec::new();
        let mut values = Vec::new();
        for ((column, old), new) in columns.iter().zip(&current).zip(codec::job_values(job)?) {
            if *old != new {
                sets.push(format!("{column} = ?"));
                values.push(new);
            }
        }
        if !sets.is_empty() {
            values.push(Sql::Text(job.id.clone()));
            tx.prepare_cached(&format!("UPDATE jobs SET {} WHERE id = ?", sets.join(", ")))?
                .execute(params_from_iter(values))?;
        }
        Self::insert_events(&tx, &write.events)?;
        tx.commit()?;
        Ok(job.clone())
    }

    fn try_list(&self, query: &JobQuery) -> Result<Page> {
        let conn = self.conn()?;
        let Some(sql) = query::list(&conn, query)? else {
            return Ok(Page {
                jobs: Vec::new(),
                next_cursor: None,
            });
        };
        let mut jobs = Self::jobs(&conn, &sql.text, sql.params)?;
        // One row beyond the page was asked for: it says whether another page follows.
        let more = jobs.len() > sql.limit;
        jobs.truncate(sql.limit);
        let next_cursor = if more {
            jobs.last().map(|j| j.id.clone())
        } else {
            None
        };
        Ok(Page { jobs, next_cursor })
    }

    /// Notes are plain inserts that skip an id already logged (the unique `id` column), in
    /// one transaction.
    fn try_note(&self, events: &[JobEvent]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(&format!(
                "INSERT INTO job_events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (id) DO NOTHING"
            ))?;
            for event in events {
                stmt.execute(params_from_iter(codec::event_values(event)))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn try_noted(&self, ids: &[&str]) -> Result<Vec<String>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT 1 FROM job_events WHERE id = ?")?;
        let mut found = Vec::new();
        for id in ids {
            if stmt.exists(params![id])? {
                found.push((*id).to_owned());
            }
        }
        Ok(found)
    }

    fn try_events(&self, job_id: &str, limit: usize) -> Result<Vec<JobEvent>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM job_events WHERE jobId = ? ORDER BY seq LIMIT ?"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![job_id, limit])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(codec::event_from_row(row)?);
        }
        if events.is_empty() && Self::get_job(&conn, job_id)?.is_none() {
            return Err(StoreError::NotFound(job_id.into()).into());
        }
        Ok(events)
    }

    /// [`Retention::due`] in SQL: each type's finished jobs ranked newest first by
    /// `(completedAt, id)` (a window over `jobs_type_status_completed`), the due ones deleted
    /// oldest first across types, `batch` at a time, in one transaction.
    fn try_prune(&self, retention: &Retention, batch: usize) -> Result<Pruned> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // One row per pruned type: its rule as (type, newest, since in ms or NULL).
        let mut rules = Vec::new();
        let mut params: Vec<Sql> = Vec::new();
        for keep in &retention.keep {
            rules.push("SELECT ? AS type, ? AS newest, ? AS since");
            params.push(Sql::Text(keep.job_type.as_str().into()));
            params.push(Sql::Integer(i64::try_from(keep.newest).unwrap_or(i64::MAX)));
            params.push(keep.since.map_or(Sql::Null, |t| Sql::Integer(codec::ms(t))));
        }
        if rules.is_empty() {
            return Ok(Pruned::default());
        }
        params.push(
            retention
                .older_than
                .map_or(Sql::Null, |t| Sql::Integer(codec::ms(t))),
        );
        let due = format!(
            "WITH rules AS ({}), ranked AS ( \
               SELECT j.id, j.completedAt, r.newest, r.since, \
                 row_number() OVER (PARTITION BY j.type \
                   ORDER BY j.completedAt DESC, j.id DESC) - 1 AS rank \
               FROM jobs j JOIN rules r ON r.type = j.type \
               WHERE j.completedAt IS NOT NULL) \
             SELECT id, completedAt FROM ranked \
             WHERE (since IS NULL OR completedAt < since) \
               AND (rank >= newest OR completedAt < ?{})",
            rules.join(" UNION ALL "),
            params.len(),
        );
        tx.execute(
            "CREATE TEMP TABLE IF NOT EXISTS prune_due (id TEXT PRIMARY KEY, at INTEGER)",
            [],
        )?;
        tx.execute("DELETE FROM temp.prune_due", [])?;
        let found = tx.execute(
            &format!("INSERT INTO temp.prune_due (id, at) {due}"),
            params_from_iter(params),
        )?;
        let now = i64::try_from(batch.min(found)).unwrap_or(i64::MAX);
        let oldest = "SELECT id FROM temp.prune_due ORDER BY at, id LIMIT ?1";
        tx.execute(
            &format!("DELETE FROM job_events WHERE jobId IN ({oldest})"),
            [now],
        )?;
        let deleted = tx.execute(&format!("DELETE FROM jobs WHERE id IN ({oldest})"), [now])?;
        tx.execute("DELETE FROM temp.prune_due", [])?;
        tx.commit()?;
        Ok(Pruned {
            deleted,
            remaining: found.saturating_sub(deleted),
        })
    }

    fn try_stale(
        &self,
        job_type: JobType,
        status: JobStatus,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Job>> {
        let conn = self.conn()?;
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE type = ? AND status = ? AND heartbeatAt < ? \
             ORDER BY heartbeatAt, id LIMIT ?"
        );
        Self::jobs(
            &conn,
            &sql,
            vec![
                Sql::Text(job_type.as_str().into()),
                Sql::Text(status.as_str().into()),
                Sql::Integer(codec::ms(before)),
                Sql::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )
    }

    fn try_counts(&self) -> Result<Vec<Count>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            // Maintained by triggers (schema migration 3): one row per pair ever seen.
            "SELECT type, status, n FROM job_counts WHERE n > 0 ORDER BY type, status",
        )?;
        let mut rows = stmt.query([])?;
        let mut counts = Vec::new();
        while let Some(row) = rows.next()? {
            let job_type: String = row.get(0)?;
            let status: String = row.get(1)?;
            let count: i64 = row.get(2)?;
            let corrupt = |col: &str, e: JobError| {
                StoreError::Backend(format!("cannot decode column `{col}`: {e}"))
            };
            counts.push(Count {
                job_type: job_type.parse().map_err(|e| corrupt("type", e))?,
                status: status.parse().map_err(|e| corrupt("status", e))?,
                count: u64::try_from(count).unwrap_or(0),
            });
        }
        Ok(counts)
    }
}

fn insert_job_sql() -> String {
    let marks = vec!["?"; JOB_COLUMNS.split(',').count()].join(", ");
    format!("INSERT INTO jobs ({JOB_COLUMNS}) VALUES ({marks})")
}

impl JobStore for SqliteStore {
    fn create(&self, job: &Job, created: &JobEvent) -> StoreResult<Created> {
        Ok(self.try_create(job, created)?)
    }

    fn get(&self, id: &str) -> StoreResult<Job> {
        let conn = self.conn().map_err(StoreError::from)?;
        Self::get_job(&conn, id)?.ok_or_else(|| StoreError::NotFound(id.into()))
    }

    fn list(&self, query: &JobQuery) -> StoreResult<Page> {
        Ok(self.try_list(query)?)
    }

    fn write(&self, write: &Write) -> StoreResult<Job> {
        Ok(self.try_write(write)?)
    }

    fn events(&self, job_id: &str, limit: usize) -> StoreResult<Vec<JobEvent>> {
        Ok(self.try_events(job_id, limit)?)
    }

    fn prune(&self, retention: &Retention, batch: usize) -> StoreResult<Pruned> {
        Ok(self.try_prune(retention, batch)?)
    }

    fn stale(
        &self,
        job_type: JobType,
        status: JobStatus,
        before: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Job>> {
        Ok(self.try_stale(job_type, status, before, limit)?)
    }

    fn counts(&self) -> StoreResult<Vec<Count>> {
        Ok(self.try_counts()?)
    }

    fn note(&self, _rev: u64, events: &[JobEvent]) -> StoreResult<()> {
        Ok(self.try_note(events)?)
    }

    fn noted(&self, ids: &[&str]) -> StoreResult<Vec<String>> {
        Ok(self.try_noted(ids)?)
    }
}
