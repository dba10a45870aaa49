//! The use cases, written once on top of the storage port: what workers (through the hooks),
//! users (through the action API) and the sweeper can do to a job. Every status change goes
//! through [`crate::job::transition`]; every write is a compare-and-set retried on conflict;
//! time is a parameter so tests use fixed instants.
//!
//! This module holds what every use case shares: who acts ([`Act`]), the errors, the
//! compare-and-set loop (`Act::mutate`) and the order of a run's claims. The use cases live in
//! one room per caller: `worker` (the hook calls), `control` (a user's pause, resume, cancel and
//! retry), `sweep` (the sweeper's); `fence` answers a call that is not the current run's.

use serde_json::{Map, Value};

use crate::job::{
    millis, percent, Event, EventKind, Job, JobError, JobEvent, JobStatus, JobType, StopCode,
    Timestamp,
};
use crate::store::{id, JobStore, StoreError, Write};

mod control;
mod fence;
mod sweep;
mod worker;

pub use control::{
    control, control_read, control_with, link_execution, retry, retry_id, retry_once, retry_read,
    retry_with,
};
pub use sweep::{keep_newest, mark_stalled, prune, KeepRule, StallPolicy};
pub use worker::{
    complete, fail, heartbeat, progress, start, worker_paused, Progress, Start, Started,
};

/// How often a compare-and-set is retried after a conflict before giving up.
const MAX_ATTEMPTS: usize = 16;

/// Progress and heartbeat writes that change neither status nor percent are skipped unless the
/// last write is at least this old: 100,000 progress calls cost a few hundred writes.
pub(crate) const COALESCE_WINDOW_MS: i64 = 1_000;

/// Errors of the use cases: what went wrong, in terms the edges map to HTTP statuses.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid `{field}`: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("job `{0}` not found")]
    NotFound(String),
    /// The event is illegal in the job's current status; carries the job so callers can still
    /// answer with its status and control value.
    #[error("cannot {event} a job that is {}", job.status)]
    Illegal { job: Box<Job>, event: Event },
    #[error("only FAILED or CANCELLED jobs can be retried; this one is {}", job.status)]
    NotRetryable { job: Box<Job> },
    /// The call is not the job's current run: nothing was written, the worker must stop
    /// (docs/hooks.md § Runs). Carries the job as stored.
    #[error("this call is not job `{}`'s current run {}: {}", job.id, job.run, code.as_str())]
    Stopped { job: Box<Job>, code: StopCode },
    /// The call repeats a claim of `run` that was answered `continue` (the answer was lost):
    /// answered `continue` again whatever happened since, with nothing written
    /// (docs/hooks.md § Exactly once).
    #[error("run {run} repeats a claim job `{}` already answered `continue`", job.id)]
    Granted { job: Box<Job>, run: u64 },
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => Error::NotFound(id),
            StoreError::Job(e) => e.into(),
            other => Error::Store(other),
        }
    }
}

impl From<JobError> for Error {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Invalid { field, reason } => Error::Invalid { field, reason },
            // Callers build `Illegal` themselves, with the job at hand.
            JobError::InvalidTransition { from, event } => Error::Invalid {
                field: "status",
                reason: format!("cannot {event} a job that is {from}"),
            },
        }
    }
}

impl Error {
    /// Whether the error refuses a job for being of another type than the hook's
    /// ([`Act::of_type`], a `start` naming such a job): raised only on the job as read, so the
    /// caller knows it exists and is not its to show, without reading it again.
    pub(crate) fn is_other_type(&self) -> bool {
        matches!(self, Error::Invalid { field: "jobId", .. })
    }

    /// The job the error is about, when it exists (so a worker still learns its control value).
    pub(crate) fn job(&self) -> Option<&Job> {
        match self {
            Error::Illegal { job, .. }
            | Error::NotRetryable { job }
            | Error::Stopped { job, .. }
            | Error::Granted { job, .. } => Some(job),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Who is acting and when: every use case needs both. A worker's call also says which run it
/// belongs to (docs/hooks.md § Runs); users and the sweeper leave `run` empty.
#[derive(Clone)]
pub struct Act<'a> {
    pub(crate) store: &'a dyn JobStore,
    pub(crate) actor: String,
    pub(crate) now: Timestamp,
    /// Set for a hook: the only job type it may touch. Checked on the read a change is based
    /// on, so the check costs no request of its own.
    job_type: Option<JobType>,
    run: RunTag,
}

/// The run a worker's call carries, and the worker's own execution id (stored on written calls).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RunTag {
    run: Option<u64>,
    execution_id: Option<String>,
}

impl<'a> Act<'a> {
    pub fn new(store: &'a dyn JobStore, actor: impl Into<String>, now: Timestamp) -> Self {
        Act {
            store,
            actor: actor.into(),
            now: millis(now),
            job_type: None,
            run: RunTag::default(),
        }
    }

    /// Acting as the hook of `job_type`: a job of another type is refused (`jobId` invalid)
    /// and left untouched.
    pub(crate) fn of_type(mut self, job_type: JobType) -> Self {
        self.job_type = Some(job_type);
        self
    }

    /// Refuses a job of another type than the hook's.
    fn check_type(&self, job: &Job) -> Result<()> {
        match self.job_type {
            Some(t) if t != job.job_type => Err(Error::Invalid {
                field: "jobId",
                reason: format!(
                    "job `{}` is a {} job; this hook tracks {t} jobs",
                    job.id, job.job_type
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The same actor, calling as `run` of a job from `execution_id`.
    pub fn in_run(mut self, run: Option<u64>, execution_id: Option<String>) -> Self {
        self.run = RunTag { run, execution_id };
        self
    }

    /// Records the caller's execution on a job about to be written; whether it changed. A
    /// PAUSED job without one stays without: its worker confirmed the pause (or never said which
    /// execution it is), and a late call of that run must not make it look "pausing" again.
    fn stamp_execution(&self, job: &mut Job) -> bool {
        if job.status == JobStatus::Paused && job.execution_id.is_none() {
            return false;
        }
        match &self.run.execution_id {
            Some(id) if job.execution_id.as_deref() != Some(id) => {
                job.execution_id = Some(id.clone());
                true
            }
            _ => false,
        }
    }

    /// A log entry of `job` as it is about to be written, by this actor, now.
    pub(crate) fn event(
        &self,
        job: &Job,
        kind: EventKind,
        from: Option<JobStatus>,
        message: Option<String>,
        details: Map<String, Value>,
    ) -> JobEvent {
        JobEvent {
            id: id::fresh('e', self.now),
            job_id: job.id.clone(),
            at: self.now,
            kind,
            actor: self.actor.clone(),
            message,
            from_status: from,
            to_status: Some(job.status),
            details,
        }
    }

    /// Read-modify-write with compare-and-set: `change` edits a copy of the job and returns the
    /// events to append, or `None` when nothing needs writing. Retried on conflict, so `change`
    /// must be a pure function of the job it is given.
    pub(crate) fn mutate(
        &self,
        job_id: &str,
        change: impl FnMut(&mut Job) -> Result<Option<Vec<JobEvent>>>,
    ) -> Result<Job> {
        self.mutate_from(job_id, None, change)
    }

    /// [`Act::mutate`] starting from `read`, the job as the caller just read it (one request
    /// fewer); a conflict re-reads as usual.
    pub(crate) fn mutate_from(
        &self,
        job_id: &str,
        read: Option<Job>,
        change: impl FnMut(&mut Job) -> Result<Option<Vec<JobEvent>>>,
    ) -> Result<Job> {
        self.mutate_within(MAX_ATTEMPTS, job_id, read, change)
    }

    /// [`Act::mutate_from`] giving up after `attempts` conflicts.
    fn mutate_within(
        &self,
        attempts: usize,
        job_id: &str,
        mut read: Option<Job>,
        mut change: impl FnMut(&mut Job) -> Result<Option<Vec<JobEvent>>>,
    ) -> Result<Job> {
        let mut last = None;
        for _ in 0..attempts {
            let current = match read.take() {
                Some(job) => job,
                None => self.store.get(job_id)?,
            };
            self.check_type(&current)?;
            let mut next = current.clone();
            let Some(events) = change(&mut next)? else {
                return Ok(current);
            };
            next.rev = current.rev + 1;
            let write = Write {
                job: next,
                expected_rev: current.rev,
                events,
            };
            match self.store.write(&write) {
                Ok(job) => return Ok(job),
                Err(e @ StoreError::Conflict { .. }) => last = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Store(last.unwrap_or_else(|| StoreError::Conflict {
            id: job_id.into(),
        })))
    }

    /// Applies a state-machine event to `job` in place, as an `Illegal` error when refused.
    fn step(&self, job: &mut Job, event: Event) -> Result<JobStatus> {
        let from = job.status;
        job.apply(event, self.now).map_err(|_| Error::Illegal {
            job: Box::new(job.clone()),
            event,
        })?;
        Ok(from)
    }
}

// The order of a run's claims, shared by the fence (a stopped call still settles its run's
// claim) and the worker's calls (a late claim writes nothing).

/// Where a worker call stands in its run's sequence of calls, to tell whether it comes after
/// the run's last claim (and so proves the run had that claim's answer).
#[derive(Debug, Clone, Copy)]
enum Order {
    /// `paused`, `complete`, `fail`: the documented loop sends them last.
    Last,
    /// A progress call `(done, claimed)`: claims of a run only grow.
    Claim(Option<u64>, Option<u64>),
    /// `start`, `heartbeat`: say nothing about claims.
    Unordered,
}

impl Order {
    fn follows(self, job: &Job, run: u64) -> bool {
        match self {
            Order::Last => true,
            Order::Unordered => false,
            Order::Claim(done, claimed) => {
                done.is_some()
                    && !is_stale(job, run, done, claimed)
                    && job
                        .claims
                        .iter()
                        .any(|c| c.run == run && (done, claimed.or(done)) != (c.done, c.claimed))
            }
        }
    }
}

/// Settles `run`'s claim on a later call of that run: the run had the claim's answer and, by the
/// documented loop, did what it claimed, so the claimed units count as done. Whether it held one.
fn settle(job: &mut Job, run: u64) -> bool {
    let Some(claim) = job.claims.iter().find(|c| c.run == run) else {
        return false;
    };
    if job.status != JobStatus::Completed {
        job.done = claim.claimed.max(job.done);
        if let (Some(done), Some(total)) = (job.done, job.total) {
            if let Ok(p) = percent(done.min(total), total) {
                job.record_progress(p);
            }
        }
    }
    job.release(run)
}

/// Whether a claim `(done, claimed)` of `run` is older than the run's newest one on `job`: each
/// claim of a run starts where its previous one ended, so the pair only grows.
fn is_stale(job: &Job, run: u64, done: Option<u64>, claimed: Option<u64>) -> bool {
    let Some(done) = done else { return false };
    let Some(newest) = job.claims.iter().find(|c| c.run == run) else {
        return false;
    };
    let key = (done, claimed.unwrap_or(done));
    let newest_key = (
        newest.done.unwrap_or(0),
        newest.claimed.or(newest.done).unwrap_or(0),
    );
    key < newest_key
}
