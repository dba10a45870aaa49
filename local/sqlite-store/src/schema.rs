//! The schema as an ordered list of migrations, applied once per database file and recorded in
//! `PRAGMA user_version`. A migration is never edited after it ships: a change is a new entry, so
//! every file, however old, reaches the same schema by replaying the tail of this list.

use rusqlite::{Connection, TransactionBehavior};

/// Migration `i` brings a database from `user_version = i` to `i + 1`.
///
/// Timestamps are integer epoch milliseconds so range filters and orderings are plain integer
/// index ranges. Every index exists for a named query (see `docs/storage.md`); the list ones
/// end with `id` so the `(time, id)` cursor comparison is served by the index too.
const MIGRATIONS: &[&str] = &[
    // 1: jobs and their log.
    "CREATE TABLE jobs (
        id              TEXT PRIMARY KEY NOT NULL,
        type            TEXT NOT NULL,
        status          TEXT NOT NULL,
        referenceId     TEXT NOT NULL,
        progress        INTEGER NOT NULL,
        progressMessage TEXT,
        startedAt       INTEGER,
        updatedAt       INTEGER NOT NULL,
        completedAt     INTEGER,
        errorMessage    TEXT,
        metadata        TEXT NOT NULL,
        createdAt       INTEGER NOT NULL,
        heartbeatAt     INTEGER NOT NULL,
        done            INTEGER,
        total           INTEGER,
        checkpoint      TEXT,
        result          TEXT,
        idempotencyKey  TEXT,
        lastActor       TEXT,
        lastReason      TEXT,
        retryOf         TEXT,
        rev             INTEGER NOT NULL
    );
    -- The main table: newest first by creation, unfiltered or with loose filters.
    CREATE INDEX jobs_created ON jobs (createdAt, id);
    -- Type and/or status filters, newest first by creation (single type and status: an ordered
    -- scan that stops after one page).
    CREATE INDEX jobs_type_status_created ON jobs (type, status, createdAt, id);
    CREATE INDEX jobs_status_created ON jobs (status, createdAt, id);
    -- Date ranges on each timestamp, within a type and status.
    CREATE INDEX jobs_type_status_started ON jobs (type, status, startedAt);
    CREATE INDEX jobs_type_status_completed ON jobs (type, status, completedAt, id);
    CREATE INDEX jobs_type_status_updated ON jobs (type, status, updatedAt);
    -- History order (newest completion first) and retention (oldest completion first).
    CREATE INDEX jobs_completed ON jobs (completedAt, id) WHERE completedAt IS NOT NULL;
    -- Cheap polling (`updatedSince`) and updatedAt ranges without a type.
    CREATE INDEX jobs_updated ON jobs (updatedAt);
    -- Reference prefix (the hooks look up a reference's active job).
    CREATE INDEX jobs_reference ON jobs (referenceId, type, status);
    -- The sweeper: jobs of a type in a status with an old heartbeat.
    CREATE INDEX jobs_stale ON jobs (type, status, heartbeatAt);

    CREATE TABLE job_events (
        -- rowid: append order, so a job's log reads back in the order it was written.
        seq        INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        jobId      TEXT NOT NULL,
        at         INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        actor      TEXT NOT NULL,
        message    TEXT,
        fromStatus TEXT,
        toStatus   TEXT,
        details    TEXT NOT NULL
    );
    CREATE INDEX job_events_job ON job_events (jobId, seq);",
    // 2: the date-range indexes also carry the creation order key, so a filtered first page is
    // chosen inside the index (covering: no table row is read until the page is known) and
    // only its 50 rows are fetched. Without it, a 30-day range at 1M jobs sorted 16k full rows.
    "DROP INDEX jobs_type_status_started;
    DROP INDEX jobs_type_status_completed;
    DROP INDEX jobs_type_status_updated;
    CREATE INDEX jobs_type_status_started ON jobs (type, status, startedAt, createdAt, id);
    CREATE INDEX jobs_type_status_completed ON jobs (type, status, completedAt, createdAt, id);
    CREATE INDEX jobs_type_status_updated ON jobs (type, status, updatedAt, createdAt, id);",
    // 3: first pages that read about one page of index entries, and O(1) counts.
    //
    // - History within a type (newest completion first) is a merge of one ordered stream per
    //   (type, status): the completion index breaks ties by `id` right after `completedAt` so
    //   each stream is in `(completedAt, id)` order; `createdAt` stays in it for ranges on
    //   `completedAt` ordered by creation (still covering).
    // - The reference index carries `createdAt, id`, so a prefix matching few jobs picks its
    //   page inside the index (covering) instead of reading every matching row.
    // - `job_counts` holds the number of jobs per (type, status), kept by triggers in the same
    //   transaction as every insert, status or type change and delete, so `counts()` reads at
    //   most types x statuses rows instead of scanning every job. A progress write updates
    //   neither column, so it does not fire the update trigger.
    "DROP INDEX jobs_type_status_completed;
    CREATE INDEX jobs_type_status_completed ON jobs (type, status, completedAt, id, createdAt);
    DROP INDEX jobs_reference;
    CREATE INDEX jobs_reference ON jobs (referenceId, type, status, createdAt, id);

    CREATE TABLE job_counts (
        type   TEXT NOT NULL,
        status TEXT NOT NULL,
        n      INTEGER NOT NULL,
        PRIMARY KEY (type, status)
    ) WITHOUT ROWID;
    INSERT INTO job_counts (type, status, n)
        SELECT type, status, count(*) FROM jobs GROUP BY type, status;
    CREATE TRIGGER job_counts_insert AFTER INSERT ON jobs BEGIN
        INSERT INTO job_counts (type, status, n) VALUES (new.type, new.status, 1)
            ON CONFLICT (type, status) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER job_counts_delete AFTER DELETE ON jobs BEGIN
        UPDATE job_counts SET n = n - 1 WHERE type = old.type AND status = old.status;
    END;
    CREATE TRIGGER job_counts_update AFTER UPDATE OF type, status ON jobs
        WHEN old.type IS NOT new.type OR old.status IS NOT new.status
    BEGIN
        UPDATE job_counts SET n = n - 1 WHERE type = old.type AND status = old.status;
        INSERT INTO job_counts (type, status, n) VALUES (new.type, new.status, 1)
            ON CONFLICT (type, status) DO UPDATE SET n = n + 1;
    END;",
    // 4: run fencing (docs/hooks.md § Runs): the job's current run and the execution id of the
    // last written hook call. Existing rows start at run 0, where run-less workers still pass.
    "ALTER TABLE jobs ADD COLUMN run INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN executionId TEXT;",
    // 5: claims answered `continue` and not yet confirmed (docs/hooks.md § Exactly once), JSON.
    "ALTER TABLE jobs ADD COLUMN claims TEXT;",
];

/// The schema version this code writes and reads.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the file up to [`VERSION`]. Runs in one `BEGIN IMMEDIATE` transaction, so several
/// processes opening the same new file migrate it once: the second waits, then finds it done.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version as i64 + 1)?;
    }
    tx.commit()?;
    Ok(current)
}
