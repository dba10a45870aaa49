//! The storage port: what Job Manager needs from a database, whatever the backend. Adapters:
//! `sqlite-store` (embedded, local runs and tests), [`appwrite`] (production, TablesDB) and
//! `memory` (in-process, for tests and fuzzing; feature `conformance`).
//! Every adapter passes the one [`conformance`] suite.

use serde::{Deserialize, Serialize};

use crate::job::{Job, JobError, JobEvent, JobStatus, JobType, Timestamp};

pub mod appwrite;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod id;
#[cfg(feature = "conformance")]
pub mod layer;
#[cfg(feature = "conformance")]
pub mod memory;

/// Semantic storage errors, the same for every backend so callers can match on them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job `{0}` not found")]
    NotFound(String),
    /// The row changed since it was read (revision or status moved); re-read and retry.
    #[error("job `{id}` was changed concurrently")]
    Conflict { id: String },
    #[error(transparent)]
    Job(#[from] JobError),
    /// Temporarily unavailable (rate limited, overloaded, timed out); safe to retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The backend refused our credentials (Appwrite 401/403: a key without the needed scope,
    /// a key of another project). Not retryable: an operator must fix the deployment.
    #[error("store refused access: {0}")]
    Denied(String),
    /// The backend has no such database, table or route (Appwrite 404 other than a missing
    /// row: a wrong endpoint or id, or a schema that is not deployed).
    #[error("store location not found: {0}")]
    Missing(String),
    /// Anything else from the backend, with its own message (never a secret).
    #[error("store error: {0}")]
    Backend(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Conflict { .. } | StoreError::Unavailable(_)
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which timestamp a date range filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DateField {
    StartedAt,
    CompletedAt,
    UpdatedAt,
}

impl DateField {
    pub fn column(self) -> &'static str {
        match self {
            DateField::StartedAt => "startedAt",
            DateField::CompletedAt => "completedAt",
            DateField::UpdatedAt => "updatedAt",
        }
    }
}

/// An inclusive `from`, exclusive `to` range on one timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct DateRange {
    pub field: DateField,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// Active (queued, running, paused) vs finished (completed, failed, cancelled) jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    All,
    Active,
    Finished,
}

impl Scope {
    /// The statuses a list may return: the requested ones narrowed by the scope.
    pub fn statuses(self, requested: &[JobStatus]) -> Vec<JobStatus> {
        let base: &[JobStatus] = match self {
            Scope::All => JobStatus::ALL,
            Scope::Active => JobStatus::ACTIVE,
            Scope::Finished => JobStatus::FINAL,
        };
        base.iter()
            .copied()
            .filter(|s| requested.is_empty() || requested.contains(s))
            .collect()
    }
}

/// How a list is ordered; both orders are newest first with the id as tie-breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// By creation (the dashboard's main table).
    #[default]
    Created,
    /// By completion (history: the last N finished jobs).
    Completed,
}

/// A list request. Empty `types` / `statuses` mean "any".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobQuery {
    pub types: Vec<JobType>,
    pub statuses: Vec<JobStatus>,
    pub scope: Scope,
    pub range: Option<DateRange>,
    /// Only jobs whose `updatedAt` is at or after this instant (cheap polling).
    pub updated_since: Option<Timestamp>,
    /// The search box: only jobs whose reference id contains this text, or whose id is this
    /// text, both compared without case as Appwrite's collation compares them ([`fold`]).
    /// Empty matches every job.
    pub search: Option<String>,
    pub order: Order,
    pub limit: usize,
    /// Continue after this job id (the last of the previous page).
    pub cursor: Option<String>,
}

/// How far back a polling client's next `updatedSince` reaches before the time of the list that
/// answered it. A write is stamped (`updatedAt`) before it commits; a list that starts between
/// the two does not see it, so the next delta must reach back past every write still in flight.
/// A function writes with its execution's key, which Appwrite makes expire `timeout` + 60 s
/// after the execution starts (appwrite-notes: Execution key lifetime), so no write lands later than
/// that after its stamp; `tools/deploy-check` holds every `timeout` in appwrite.json to
/// `DELTA_OVERLAP_SECONDS - 60`. docs/actions.md § Polling.
pub const DELTA_OVERLAP_SECONDS: i64 = 360;

/// Page size cap for every list, whatever is asked.
pub const MAX_PAGE: usize = 500;

impl JobQuery {
    pub fn effective_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE)
    }

    /// Whether `job` matches every filter except the cursor; adapters that filter in memory and
    /// the conformance suite use this as the definition of the filters.
    pub fn matches(&self, job: &Job) -> bool {
        let statuses = self.scope.statuses(&self.statuses);
        if !statuses.contains(&job.status) {
            return false;
        }
        if !self.types.is_empty() && !self.types.contains(&job.job_type) {
            return false;
        }
        if let Some(since) = self.updated_since {
            if job.updated_at < since {
                return false;
            }
        }
        if let Some(text) = &self.search {
            if !search_matches(text, job) {
                return false;
            }
        }
        if let Some(range) = &self.range {
            let value = match range.field {
                DateField::StartedAt => job.started_at,
                DateField::CompletedAt => job.completed_at,
                DateField::UpdatedAt => Some(job.updated_at),
            };
            let Some(value) = value else { return false };
            if range.from.is_some_and(|from| value < from) || range.to.is_some_and(|to| value >= to)
            {
                return false;
            }
        }
        if self.order == Order::Completed && job.completed_at.is_none() {
            return false;
        }
        true
    }
}

/// Text as every store compares it in a search: Appwrite's MariaDB compares text under
/// `utf8mb4_general_ci`, which ignores case (appwrite-notes: Response format), so the other
/// adapters fold both sides to lower case, as the fake Appwrite's collation does. (That
/// collation also equates some accented letters with their base letter; no store here does.)
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// [`JobQuery::search`]: the reference contains `text`, or the id is `text`, without case.
fn search_matches(text: &str, job: &Job) -> bool {
    let text = fold(text);
    fold(&job.reference_id).contains(&text) || fold(&job.id) == text
}

/// One page of jobs; `next_cursor` is set when more may follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub jobs: Vec<Job>,
    pub next_cursor: Option<String>,
}

/// A conditional write: store `job` (whose `rev` is already bumped) only if the stored row still
/// has revision `expected_rev`, and append `events` with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub job: Job,
    pub expected_rev: u64,
    pub events: Vec<JobEvent>,
}

/// The outcome of an idempotent create.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New(Job),
    /// A job with the same id (derived from the same idempotency key) already existed.
    Existing(Job),
}

impl Created {
    pub fn job(&self) -> &Job {
        match self {
            Created::New(job) | Created::Existing(job) => job,
        }
    }
    pub(crate) fn into_job(self) -> Job {
        match self {
            Created::New(job) | Created::Existing(job) => job,
        }
    }
}

/// What a prune keeps of one job type's finished jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    pub job_type: JobType,
    /// The newest this many by completion (`completedAt`, then id) stay.
    pub newest: usize,
    /// Jobs completed at or after this instant stay too, however many there are (the minimum
    /// age): they are never deleted, not even when older than [`Retention::older_than`].
    pub since: Option<Timestamp>,
}

/// What a prune keeps. A finished job is deleted when it is beyond its type's
/// [`Keep::newest`] or completed before `older_than`, unless its type's [`Keep::since`] keeps
/// it. A type without a [`Keep`] is not pruned at all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Retention {
    pub keep: Vec<Keep>,
    /// The maximum age: finished jobs completed before this instant are deleted, even among
    /// the newest.
    pub older_than: Option<Timestamp>,
}

impl Retention {
    /// The same `newest` for every type, no minimum age.
    pub fn newest(newest: usize, older_than: Option<Timestamp>) -> Self {
        Retention {
            keep: JobType::ALL
                .iter()
                .map(|&job_type| Keep {
                    job_type,
                    newest,
                    since: None,
                })
                .collect(),
            older_than,
        }
    }

    /// The same rules with every instant cut to the millisecond, the precision both real stores
    /// keep (`job::millis`), so comparisons with stored values agree everywhere.
    pub fn at_millis(&self) -> Retention {
        Retention {
            keep: self
                .keep
                .iter()
                .map(|k| Keep {
                    since: k.since.map(crate::job::millis),
                    ..*k
                })
                .collect(),
            older_than: self.older_than.map(crate::job::millis),
        }
    }

    /// The rule for `job_type`, if it is pruned.
    pub fn of(&self, job_type: JobType) -> Option<&Keep> {
        self.keep.iter().find(|k| k.job_type == job_type)
    }

    /// Whether a finished job of `job_type` completed at `at` is due for deletion, `rank` being
    /// its place among its type's finished jobs, newest first by (`completedAt`, id), from 0.
    /// The definition every adapter follows; instants compare as given (adapters pass them at
    /// their stored precision).
    pub fn due(&self, job_type: JobType, rank: usize, at: Timestamp) -> bool {
        let Some(keep) = self.of(job_type) else {
            return false;
        };
        if keep.since.is_some_and(|since| at >= since) {
            return false;
        }
        rank >= keep.newest || self.older_than.is_some_and(|cut| at < cut)
    }
}

/// What one retention pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pruned {
    pub deleted: usize,
    /// Finished jobs still due for deletion after this pass (work for the next one). Adapters
    /// that count through Appwrite count up to 5000 per type (appwrite-notes: Query limits).
    pub remaining: usize,
}

/// Count of jobs per (type, status), for the dashboard header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Count {
    #[serde(rename = "type")]
    pub job_type: JobType,
    pub status: JobStatus,
    pub count: u64,
}

/// The storage port. Synchronous: handlers run on the runtime's blocking threads.
pub trait JobStore: Send + Sync {
    /// Inserts `job` with its `created` event. If a job with the same id exists (ids derived
    /// from an idempotency key), returns it untouched instead: never a second job.
    fn create(&self, job: &Job, created: &JobEvent) -> StoreResult<Created>;

    fn get(&self, id: &str) -> StoreResult<Job>;

    /// The jobs among `ids` that exist, in no particular order (a missing id is no error).
    /// Adapters whose every read is a request answer it with one.
    fn get_many(&self, ids: &[&str]) -> StoreResult<Vec<Job>> {
        let mut found = Vec::new();
        for id in ids {
            match self.get(id) {
                Ok(job) => found.push(job),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    fn list(&self, query: &JobQuery) -> StoreResult<Page>;

    /// Compare-and-set on the revision; `Conflict` when the row moved since it was read.
    fn write(&self, write: &Write) -> StoreResult<Job>;

    /// The job's log, oldest first, at most `limit` entries.
    fn events(&self, job_id: &str, limit: usize) -> StoreResult<Vec<JobEvent>>;

    /// The job and its log (the detail page). Adapters whose log read starts with the job
    /// anyway answer both from that one read.
    fn job_with_events(&self, job_id: &str, limit: usize) -> StoreResult<(Job, Vec<JobEvent>)> {
        Ok((self.get(job_id)?, self.events(job_id, limit)?))
    }

    /// Deletes the finished jobs (with their events) that `retention` does not keep, oldest
    /// completion first across types, at most `batch` per call.
    fn prune(&self, retention: &Retention, batch: usize) -> StoreResult<Pruned>;

    /// Jobs in `status` of `job_type` whose `heartbeatAt` is before `before`, oldest first.
    fn stale(
        &self,
        job_type: JobType,
        status: JobStatus,
        before: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Job>>;

    /// Number of jobs per (type, status) pair that has any.
    fn counts(&self) -> StoreResult<Vec<Count>>;

    /// Appends `events` to logs without changing any job: notes about a job that may be final
    /// (an alert sent for it), or entries under an id no job has (a schedule's alert state).
    /// `rev` is the job revision they belong to (where they sort in the log). An entry whose id
    /// is already in a log is skipped, so a repeated note changes nothing.
    ///
    /// The default refuses, for test doubles that keep no notes; every adapter and wrapper
    /// that alerts may run on overrides both (the conformance suite checks them).
    fn note(&self, rev: u64, events: &[JobEvent]) -> StoreResult<()> {
        let _ = (rev, events);
        Err(StoreError::Backend("this store keeps no notes".into()))
    }

    /// Which of `ids` are ids of log entries already written, of any job, in no order. Ids of
    /// `created` entries are not guaranteed (AppwriteStore files those under the job's id).
    fn noted(&self, ids: &[&str]) -> StoreResult<Vec<String>> {
        let _ = ids;
        Err(StoreError::Backend("this store keeps no notes".into()))
    }
}
