//! The use cases, written once on top of the storage port: what workers (through the hooks),
//! users (through the action API) and the sweeper can do to a job. Every status change goes
//! through [`crate::job::transition`]; every write is a compare-and-set retried on conflict;
//! time is a parameter so tests use fixed instants.

use chrono::Duration;
use serde_json::{Map, Value};

use crate::job::{
    self, check_json_size, check_reference, checkpoint_digest, clip_text, millis, percent, Claim,
    Event, EventKind, Fence, Job, JobError, JobEvent, JobStatus, JobType, StopCode, Timestamp,
};
use crate::store::{id, Created, JobQuery, JobStore, Pruned, Scope, StoreError, Write};

/// How often a compare-and-set is retried after a conflict before giving up.
const MAX_ATTEMPTS: usize = 16;

/// Progress and heartbeat writes that change neither status nor percent are skipped unless the
/// last write is at least this old: 100,000 progress calls cost a few hundred writes.
pub const COALESCE_WINDOW_MS: i64 = 1_000;

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
    pub fn is_other_type(&self) -> bool {
        matches!(self, Error::Invalid { field: "jobId", .. })
    }

    /// The job the error is about, when it exists (so a worker still learns its control value).
    pub fn job(&self) -> Option<&Job> {
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
    pub store: &'a dyn JobStore,
    pub actor: String,
    pub now: Timestamp,
    /// Set for a hook: the only job type it may touch. Checked on the read a change is based
    /// on, so the check costs no request of its own.
    pub job_type: Option<JobType>,
    pub run: RunTag,
}

/// The run a worker's call carries, and the worker's own execution id (stored on written calls).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunTag {
    pub run: Option<u64>,
    pub execution_id: Option<String>,
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
    pub fn of_type(mut self, job_type: JobType) -> Self {
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

    /// A worker report's gate, on the freshly read row inside [`Act::mutate`]: a call that is not
    /// the current run stops here, before anything is changed.
    fn fence(&self, job: &Job) -> Result<()> {
        match job.fence(self.run.run)? {
            Fence::Stop(code) => Err(Error::Stopped {
                job: Box::new(job.clone()),
                code,
            }),
            _ => Ok(()),
        }
    }

    /// Logs a worker call that [`Act::fence`] (or a start's fence) stopped, so the job's history
    /// shows it ("progress call from run 3 ignored: superseded by run 4"), and forgets the stopped
    /// run's claim: a call after it proves the run had its answer. Nothing else of the job
    /// changes. Best effort: a failure to log does not change the answer. Returns `stopped`.
    fn log_stopped(&self, stopped: Error, call: &str, order: Order) -> Error {
        if let Error::Illegal { job, event } = &stopped {
            return match self.settle_late(job, call, order) {
                Some(job) => Error::Illegal {
                    job: Box::new(job),
                    event: *event,
                },
                None => stopped,
            };
        }
        let Error::Stopped { job, code } = &stopped else {
            return stopped;
        };
        let run = self.run.run;
        let message = match (run, code) {
            (Some(r), StopCode::Superseded) if r < job.run => {
                format!(
                    "{call} call from run {r} ignored: superseded by run {}",
                    job.run
                )
            }
            (Some(r), StopCode::Superseded) => {
                format!(
                    "{call} call from run {r} ignored: the job waits for its re-triggered worker"
                )
            }
            (None, _) => format!(
                "{call} call without a run ignored: the job is at run {}",
                job.run
            ),
            (Some(r), StopCode::RunRequired) => format!("{call} call from run {r} ignored"),
        };
        let code = *code;
        let logged = self.mutate_from(&job.id.clone(), Some((**job).clone()), |j| {
            // Re-checked on the row it is written to: only a call that is still stopped is logged.
            let fence = if call == "start" {
                j.fence_start(run, self.run.execution_id.as_deref())
            } else {
                j.fence(run)
            };
            if !matches!(fence, Ok(Fence::Stop(_))) {
                return Ok(None);
            }
            if let Some(r) = run {
                if order.follows(j, r) {
                    settle(j, r);
                }
            }
            Ok(Some(vec![self.ignored(j, call, Some(code), &message)]))
        });
        match logged {
            Ok(job) => Error::Stopped {
                job: Box::new(job),
                code,
            },
            Err(_) => stopped,
        }
    }

    /// A call on a finished job from a run that still holds a claim: the run had its answer and
    /// carried the claim out (the documented loop calls again only after that), so the claim is
    /// settled and logged. The job's status and fields stay as they are. The job as written, or
    /// `None` when there was nothing to settle.
    fn settle_late(&self, job: &Job, call: &str, order: Order) -> Option<Job> {
        let run = self.run.run?;
        let claim = job.claims.iter().find(|c| c.run == run)?.clone();
        if !job.status.is_final() || !order.follows(job, run) {
            return None;
        }
        let range = match (claim.done, claim.claimed) {
            (Some(from), Some(to)) => format!(" ({from}–{to})"),
            _ => String::new(),
        };
        let message = format!(
            "{call} call from run {run} after the job was {}: its claim{range} was carried out",
            job.status
        );
        self.mutate_from(&job.id.clone(), Some(job.clone()), |j| {
            if !j.status.is_final() || !settle(j, run) {
                return Ok(None);
            }
            Ok(Some(vec![self.ignored(j, call, None, &message)]))
        })
        .ok()
    }

    /// The `ignored` log entry of a worker call that was not applied, for `job` as it is about to
    /// be written: its `updatedAt` moves (its log, perhaps a settled claim, changed), pollers
    /// find it by that; its status does not.
    fn ignored(
        &self,
        job: &mut Job,
        call: &str,
        code: Option<StopCode>,
        message: &str,
    ) -> JobEvent {
        job.updated_at = self.now;
        let mut details = Map::new();
        details.insert("call".into(), Value::from(call));
        if let Some(code) = code {
            details.insert("code".into(), Value::from(code.as_str()));
        }
        details.insert("jobRun".into(), Value::from(job.run));
        if let Some(r) = self.run.run {
            details.insert("run".into(), Value::from(r));
        }
        if let Some(execution) = &self.run.execution_id {
            details.insert("executionId".into(), Value::from(execution.clone()));
        }
        let status = Some(job.status);
        self.event(
            job,
            EventKind::Ignored,
            status,
            Some(message.to_owned()),
            details,
        )
    }

    /// Records the caller's execution on a job about to be written; whether it changed.
    fn stamp_execution(&self, job: &mut Job) -> bool {
        match &self.run.execution_id {
            Some(id) if job.execution_id.as_deref() != Some(id) => {
                job.execution_id = Some(id.clone());
                true
            }
            _ => false,
        }
    }

    fn event(
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
    fn mutate_from(
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

/// A worker's start report. The job type is fixed by the hook that received it.
#[derive(Debug, Clone, Default)]
pub struct Start {
    pub reference_id: String,
    /// Continue this job (a resumed or retried one) instead of finding or creating one.
    pub job_id: Option<String>,
    pub total: Option<u64>,
    pub message: Option<String>,
    pub metadata: Map<String, Value>,
    pub idempotency_key: Option<String>,
}

/// The result of a start: the job and whether this call created it.
#[derive(Debug, Clone)]
pub struct Started {
    pub job: Job,
    pub created: bool,
}

/// Starts (or, for a retried call, finds) the job of `job_type` for a reference.
///
/// De-duplication: an idempotency key maps to one job id forever; without a key, an active job
/// of the same type and reference is reused (a best-effort rule: two concurrent keyless starts
/// can still race, which is why workers should send a key).
pub fn start(act: &Act, job_type: JobType, req: Start) -> Result<Started> {
    let reference_id = check_reference(&req.reference_id)?;
    check_json_size("metadata", &req.metadata)?;
    if req.total == Some(0) {
        return Err(JobError::invalid("total", "must be greater than 0").into());
    }
    if let Some(key) = &req.idempotency_key {
        if key.is_empty() || key.len() > 255 {
            return Err(JobError::invalid("idempotencyKey", "must be 1 to 255 bytes").into());
        }
    }
    let existing = match (&req.job_id, &req.idempotency_key) {
        (Some(job_id), _) => Some(act.store.get(job_id)?),
        (None, Some(key)) => match act.store.get(&id::for_idempotency_key(key)) {
            Ok(job) => Some(job),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        (None, None) => find_active(act.store, job_type, &reference_id)?,
    };
    if let Some(job) = existing {
        if job.job_type != job_type {
            return Err(JobError::invalid(
                "jobId",
                format!("job `{}` is a {} job, not {job_type}", job.id, job.job_type),
            )
            .into());
        }
        let job = pick_up(act, job, &req)?;
        return Ok(Started {
            job,
            created: false,
        });
    }

    let mut job = new_job(act, job_type, reference_id, &req);
    job.apply(Event::Start, act.now)?;
    act.stamp_execution(&mut job);
    let created = act.event(
        &job,
        EventKind::Created,
        None,
        req.message.as_deref().map(clip_text),
        Map::new(),
    );
    match act.store.create(&job, &created)? {
        Created::New(job) => Ok(Started { job, created: true }),
        // Lost a race with an identical start: pick the winner's job up in a run of our own,
        // so the two callers never share a run.
        Created::Existing(job) => Ok(Started {
            job: pick_up(act, job, &req)?,
            created: false,
        }),
    }
}

fn new_job(act: &Act, job_type: JobType, reference_id: String, req: &Start) -> Job {
    let id = match &req.idempotency_key {
        Some(key) => id::for_idempotency_key(key),
        None => id::fresh('j', act.now),
    };
    Job {
        id,
        job_type,
        status: JobStatus::Queued,
        reference_id,
        progress: 0,
        progress_message: req.message.as_deref().map(clip_text),
        started_at: None,
        updated_at: act.now,
        completed_at: None,
        error_message: None,
        metadata: req.metadata.clone(),
        created_at: act.now,
        heartbeat_at: act.now,
        done: req.total.map(|_| 0),
        total: req.total,
        checkpoint: None,
        result: None,
        idempotency_key: req.idempotency_key.clone(),
        last_actor: None,
        last_reason: None,
        retry_of: None,
        rev: 1,
        run: 0,
        execution_id: None,
        claims: Vec::new(),
    }
}

/// A start on an existing job: a re-triggered worker picking up a queued (resumed or retried)
/// job, or a start taking a running one over. Either begins a new run, which supersedes the
/// previous one; a paused job stays paused (and answers `pause`) until resumed.
fn pick_up(act: &Act, read: Job, req: &Start) -> Result<Job> {
    let job_id = read.id.clone();
    let outcome = act.mutate_from(&job_id, Some(read), |job| {
        match job.fence_start(act.run.run, act.run.execution_id.as_deref())? {
            Fence::Stop(code) => {
                return Err(Error::Stopped {
                    job: Box::new(job.clone()),
                    code,
                })
            }
            Fence::Repeat | Fence::Wait => return Ok(None),
            Fence::Current => {}
        }
        let from = act.step(job, Event::Start)?;
        act.stamp_execution(job);
        if let Some(total) = req.total {
            job.total = Some(total);
        }
        if let Some(message) = &req.message {
            job.progress_message = Some(clip_text(message));
        }
        let mut details = Map::new();
        details.insert("run".into(), Value::from(job.run));
        let event = act.event(
            job,
            EventKind::Started,
            Some(from),
            req.message.as_deref().map(clip_text),
            details,
        );
        Ok(Some(vec![event]))
    });
    outcome.map_err(|e| act.log_stopped(e, "start", Order::Unordered))
}

fn find_active(store: &dyn JobStore, job_type: JobType, reference: &str) -> Result<Option<Job>> {
    let query = JobQuery {
        types: vec![job_type],
        scope: Scope::Active,
        reference_prefix: Some(reference.to_owned()),
        limit: 50,
        ..JobQuery::default()
    };
    let page = store.list(&query)?;
    Ok(page.jobs.into_iter().find(|j| j.reference_id == reference))
}

/// A worker's progress report: a percent, or units done (of a total). With a `checkpoint` it is
/// a claim (docs/hooks.md § Exactly once): the worker will do `[done, claimed)` and continue from
/// the checkpoint only if the answer is `continue`.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub percent: Option<u8>,
    pub done: Option<u64>,
    /// The end of the range this call claims (units), at least `done`.
    pub claimed: Option<u64>,
    pub total: Option<u64>,
    pub message: Option<String>,
    pub checkpoint: Option<Value>,
}

/// Records progress. A claim (a call with a checkpoint) is written whenever it is answered
/// `continue` and its checkpoint is new, and never when it is not: a claim answered `pause`,
/// `cancel` or `superseded` leaves the resume point where it was. A repeat of a claim that was
/// answered `continue` is answered `continue` again ([`Error::Granted`]). Other progress is
/// coalesced: written when the status, the percent or the caller's execution changes, otherwise
/// at most once per [`COALESCE_WINDOW_MS`]; a skipped call still answers with the current job.
pub fn progress(act: &Act, job_id: &str, req: Progress) -> Result<Job> {
    if let Some(p) = req.percent {
        if p > 100 {
            return Err(JobError::invalid("percent", format!("{p} is above 100")).into());
        }
    }
    if req.total == Some(0) {
        return Err(JobError::invalid("total", "must be greater than 0").into());
    }
    if let (Some(claimed), Some(done)) = (req.claimed, req.done) {
        if claimed < done {
            return Err(JobError::invalid(
                "claimed",
                format!("{claimed} is less than done {done}"),
            )
            .into());
        }
    }
    if req.claimed.is_some() && req.checkpoint.is_none() {
        return Err(JobError::invalid(
            "checkpoint",
            "is required with `claimed`: a claim says where to continue",
        )
        .into());
    }
    // Checked here, not only in the Appwrite adapter, so every store refuses it alike.
    if let Some(checkpoint) = &req.checkpoint {
        check_json_size("checkpoint", checkpoint)?;
    }
    let outcome = act.mutate(job_id, |job| {
        let run = act.run.run.unwrap_or(job.run);
        if let Some(checkpoint) = &req.checkpoint {
            let current = job.status == JobStatus::Running && run == job.run;
            if !current && job.granted(run, checkpoint) {
                return Err(Error::Granted {
                    job: Box::new(job.clone()),
                    run,
                });
            }
        }
        act.fence(job)?;
        let before = job.clone();
        // A total below what is already done would show "50 / 10": refused, nothing written.
        if let (Some(new_total), Some(done)) = (req.total, job.done) {
            if new_total < done {
                return Err(JobError::invalid(
                    "total",
                    format!("{new_total} is less than the {done} already done"),
                )
                .into());
            }
        }
        let total = req.total.or(job.total);
        let pct = match (req.percent, req.done, total) {
            (Some(p), _, _) => Some(p),
            (None, Some(done), Some(total)) => Some(percent(done, total)?),
            (None, Some(_), None) => {
                return Err(JobError::invalid("total", "is required with `done`").into())
            }
            (None, None, _) => None,
        };
        if let (Some(claimed), Some(total)) = (req.claimed, total) {
            if claimed > total {
                return Err(JobError::invalid(
                    "claimed",
                    format!("{claimed} is greater than total {total}"),
                )
                .into());
            }
        }
        let from = act.step(job, Event::Progress)?;
        // Answered `pause`: the worker stops here, so nothing it reported is true yet.
        if job.status != JobStatus::Running {
            return Ok(None);
        }
        // An older call of this run arriving after a newer one (a delayed retry): the newer
        // call's claim stands.
        if req.checkpoint.is_some() && is_stale(&before, run, req.done, req.claimed) {
            return Ok(None);
        }
        let moved = pct.is_some_and(|p| job.record_progress(p));
        if req.done.is_some() {
            job.done = req.done.max(before.done);
        }
        job.total = total;
        if let Some(message) = &req.message {
            job.progress_message = Some(clip_text(message));
        }
        let mut claimed = false;
        if let Some(checkpoint) = &req.checkpoint {
            claimed =
                before.checkpoint.as_ref() != Some(checkpoint) || !before.granted(run, checkpoint);
            job.checkpoint = Some(checkpoint.clone());
            job.grant(Claim {
                run,
                done: req.done,
                claimed: req.claimed.or(req.done),
                checkpoint: checkpoint_digest(checkpoint),
            });
        }
        let new_execution = act.stamp_execution(job);
        let status_changed = from != job.status;
        let due = (act.now - before.updated_at).num_milliseconds() >= COALESCE_WINDOW_MS;
        if !status_changed && !moved && !due && !new_execution && !claimed {
            return Ok(None);
        }
        let mut events = if status_changed {
            vec![act.event(job, EventKind::Started, Some(from), None, Map::new())]
        } else {
            Vec::new()
        };
        // A new message joins the log with a write that happens anyway (never one of its own),
        // so the detail page shows what the worker said along the way.
        if job.progress_message != before.progress_message {
            if let Some(message) = &job.progress_message {
                let mut details = Map::new();
                details.insert("progress".into(), job.progress.into());
                if let Some(done) = job.done {
                    details.insert("done".into(), done.into());
                }
                if let Some(claimed) = req.claimed {
                    details.insert("claimed".into(), claimed.into());
                }
                if let Some(total) = job.total {
                    details.insert("total".into(), total.into());
                }
                // From and to the status it is in, so the log stays a path through the
                // state machine.
                let status = Some(job.status);
                events.push(act.event(
                    job,
                    EventKind::Progress,
                    status,
                    Some(message.clone()),
                    details,
                ));
            }
        }
        Ok(Some(events))
    });
    outcome.map_err(|e| act.log_stopped(e, "progress", Order::Claim(req.done, req.claimed)))
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

/// A heartbeat: proof of life, optionally with a message and details (e.g. messages processed).
pub fn heartbeat(
    act: &Act,
    job_id: &str,
    message: Option<String>,
    details: Map<String, Value>,
) -> Result<Job> {
    check_json_size("details", &details)?;
    let outcome = act.mutate(job_id, |job| {
        act.fence(job)?;
        let before = job.clone();
        let from = act.step(job, Event::Heartbeat)?;
        if let Some(message) = &message {
            job.progress_message = Some(clip_text(message));
        }
        if !details.is_empty() {
            // Heartbeat details land in metadata.lastHeartbeat for the detail page.
            job.metadata
                .insert("lastHeartbeat".into(), Value::Object(details.clone()));
            check_json_size("metadata", &job.metadata)?;
        }
        let new_execution = act.stamp_execution(job);
        let status_changed = from != job.status;
        let due = (act.now - before.updated_at).num_milliseconds() >= COALESCE_WINDOW_MS;
        if !status_changed && !due && !new_execution {
            return Ok(None);
        }
        let events = if status_changed {
            vec![act.event(job, EventKind::Started, Some(from), None, Map::new())]
        } else {
            Vec::new()
        };
        Ok(Some(events))
    });
    outcome.map_err(|e| act.log_stopped(e, "heartbeat", Order::Unordered))
}

/// The worker confirms it stopped after a pause, leaving its checkpoint for the resume.
pub fn worker_paused(
    act: &Act,
    job_id: &str,
    checkpoint: Option<Value>,
    message: Option<String>,
) -> Result<Job> {
    if let Some(checkpoint) = &checkpoint {
        check_json_size("checkpoint", checkpoint)?;
    }
    let outcome = act.mutate(job_id, |job| {
        act.fence(job)?;
        let from = act.step(job, Event::WorkerPaused)?;
        act.stamp_execution(job);
        // The worker stopped after carrying its last claim out.
        let run = job.run;
        settle(job, run);
        if checkpoint.is_some() {
            job.checkpoint = checkpoint.clone();
        }
        let event = act.event(
            job,
            EventKind::Paused,
            Some(from),
            message.as_deref().map(clip_text),
            Map::new(),
        );
        Ok(Some(vec![event]))
    });
    outcome.map_err(|e| act.log_stopped(e, "paused", Order::Last))
}

/// The worker finished: progress 100 and a result summary for the history.
pub fn complete(
    act: &Act,
    job_id: &str,
    result: Map<String, Value>,
    message: Option<String>,
    checkpoint: Option<Value>,
) -> Result<Job> {
    check_json_size("result", &result)?;
    if let Some(checkpoint) = &checkpoint {
        check_json_size("checkpoint", checkpoint)?;
    }
    let outcome = act.mutate(job_id, |job| {
        act.fence(job)?;
        let from = act.step(job, Event::Complete)?;
        act.stamp_execution(job);
        job.release(job.run);
        if checkpoint.is_some() {
            job.checkpoint = checkpoint.clone();
        }
        job.progress = 100;
        if let Some(total) = job.total {
            job.done = Some(total);
        }
        if let Some(message) = &message {
            job.progress_message = Some(clip_text(message));
        }
        job.result = Some(result.clone());
        let event = act.event(
            job,
            EventKind::Completed,
            Some(from),
            message.as_deref().map(clip_text),
            result.clone(),
        );
        Ok(Some(vec![event]))
    });
    outcome.map_err(|e| act.log_stopped(e, "complete", Order::Last))
}

/// The worker failed with an error message, leaving its checkpoint for a retry.
pub fn fail(
    act: &Act,
    job_id: &str,
    error: &str,
    result: Option<Map<String, Value>>,
    checkpoint: Option<Value>,
) -> Result<Job> {
    if error.trim().is_empty() {
        return Err(JobError::invalid("error", "must not be empty").into());
    }
    if let Some(result) = &result {
        check_json_size("result", result)?;
    }
    if let Some(checkpoint) = &checkpoint {
        check_json_size("checkpoint", checkpoint)?;
    }
    let error = clip_text(error);
    let outcome = act.mutate(job_id, |job| {
        act.fence(job)?;
        let from = act.step(job, Event::Fail)?;
        act.stamp_execution(job);
        job.release(job.run);
        if checkpoint.is_some() {
            job.checkpoint = checkpoint.clone();
        }
        job.error_message = Some(error.clone());
        if result.is_some() {
            job.result = result.clone();
        }
        let event = act.event(
            job,
            EventKind::Failed,
            Some(from),
            Some(error.clone()),
            Map::new(),
        );
        Ok(Some(vec![event]))
    });
    outcome.map_err(|e| act.log_stopped(e, "fail", Order::Last))
}

/// A user's control action (pause, resume, cancel), recorded with actor and reason.
pub fn control(act: &Act, job_id: &str, event: Event, reason: Option<&str>) -> Result<Job> {
    control_with(act, job_id, event, reason, Map::new())
}

/// [`control`] with extra audit `details` on the event (e.g. the role that allowed the action).
pub fn control_with(
    act: &Act,
    job_id: &str,
    event: Event,
    reason: Option<&str>,
    details: Map<String, Value>,
) -> Result<Job> {
    debug_assert!(matches!(
        event,
        Event::Pause | Event::Resume | Event::Cancel
    ));
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(clip_text);
    act.mutate(job_id, |job| {
        let from = act.step(job, event)?;
        job.last_actor = Some(act.actor.clone());
        job.last_reason = reason.clone();
        let mut details = details.clone();
        if event == Event::Resume {
            details.insert("run".into(), Value::from(job.run));
        }
        let event = act.event(
            job,
            EventKind::for_event(event),
            Some(from),
            reason.clone(),
            details,
        );
        Ok(Some(vec![event]))
    })
}

/// Retries a failed or cancelled job: a new queued job linked to it, same type, reference and
/// metadata, starting from the old job's checkpoint. The caller re-triggers the worker.
pub fn retry(act: &Act, job_id: &str, reason: Option<&str>) -> Result<Job> {
    Ok(retry_with(act, job_id, reason, Map::new())?.into_job())
}

/// [`retry`] with extra audit `details`, telling a new job from the one an earlier retry of the
/// same job created (so a caller re-triggers a worker only once).
pub fn retry_with(
    act: &Act,
    job_id: &str,
    reason: Option<&str>,
    extra: Map<String, Value>,
) -> Result<Created> {
    Ok(retry_once(act, job_id, reason, extra)?.1)
}

/// The id a retry of `job_id` gets: one retry job per retried job, however often it is asked.
pub fn retry_id(job_id: &str) -> String {
    id::for_idempotency_key(&retry_key(job_id))
}

fn retry_key(job_id: &str) -> String {
    format!("retry:{job_id}")
}

/// Retries `job_id` (a FAILED or CANCELLED job) as a new QUEUED job linked to it. The job and an
/// earlier retry of it are read in one store call (`JobStore::get_many`): a repeated retry costs
/// that one read, a first retry the read and the create. Answers the retried job as read (its
/// unconfirmed claims go to the new worker), and the retry.
pub fn retry_once(
    act: &Act,
    job_id: &str,
    reason: Option<&str>,
    extra: Map<String, Value>,
) -> Result<(Job, Created)> {
    let retry = retry_id(job_id);
    let found = act.store.get_many(&[job_id, retry.as_str()])?;
    let old = found
        .iter()
        .find(|j| j.id == job_id)
        .cloned()
        .ok_or_else(|| StoreError::NotFound(job_id.to_owned()))?;
    let earlier = found.into_iter().find(|j| j.id == retry);
    let created = retry_of(act, old.clone(), earlier, reason, extra)?;
    Ok((old, created))
}

fn retry_of(
    act: &Act,
    old: Job,
    earlier: Option<Job>,
    reason: Option<&str>,
    extra: Map<String, Value>,
) -> Result<Created> {
    if !matches!(old.status, JobStatus::Failed | JobStatus::Cancelled) {
        return Err(Error::NotRetryable { job: Box::new(old) });
    }
    if let Some(earlier) = earlier {
        return Ok(Created::Existing(earlier));
    }
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(clip_text);
    // Deterministic id per (old job, actor-visible retry): a retried retry request creates one job.
    let key = retry_key(&old.id);
    let mut job = new_job(
        act,
        old.job_type,
        old.reference_id.clone(),
        &Start {
            reference_id: old.reference_id.clone(),
            total: old.total,
            metadata: old.metadata.clone(),
            idempotency_key: Some(key),
            ..Start::default()
        },
    );
    job.retry_of = Some(old.id.clone());
    job.checkpoint = old.checkpoint.clone();
    job.last_actor = Some(act.actor.clone());
    job.last_reason = reason.clone();
    let mut details = extra;
    details.insert("retryOf".into(), Value::String(old.id.clone()));
    let created = act.event(&job, EventKind::Retried, None, reason, details);
    Ok(act.store.create(&job, &created)?)
}

/// Conflicts [`link_execution`] retries before leaving the job to the stall sweeper.
const LINK_ATTEMPTS: usize = 2;

/// Links the worker execution a resume or retry just triggered (`execution_id`, as Appwrite
/// answered `createExecution`) to `job`, the job as that action wrote it, so that if the
/// execution dies before its first `start` the observer fails the job at once instead of
/// leaving it to the stall sweeper (docs/observer.md § Workers that report through the hooks).
///
/// Written only while the job still waits for that run's worker: QUEUED, at the run the action
/// began, with no execution yet. A worker whose `start` came first has picked the job up (a new
/// run, its own execution stored) and is left alone, as is a job paused or cancelled since; a
/// job already linked to this execution needs nothing. Based on `job`, so it costs one write;
/// a concurrent change costs a re-read and one more attempt. Writes no log entry: the action's
/// own entry says what happened. The job as written, or `None` when nothing was written.
pub fn link_execution(act: &Act, job: &Job, execution_id: &str) -> Result<Option<Job>> {
    let run = job.run;
    let mut linked = false;
    let written = act.mutate_within(LINK_ATTEMPTS, &job.id, Some(job.clone()), |j| {
        linked = j.status == JobStatus::Queued && j.run == run && j.execution_id.is_none();
        if !linked {
            return Ok(None);
        }
        j.execution_id = Some(execution_id.to_owned());
        j.updated_at = act.now;
        Ok(Some(Vec::new()))
    })?;
    Ok(linked.then_some(written))
}

/// Stall thresholds per job type: how long a RUNNING job may go without a heartbeat, and how
/// long a QUEUED job may wait to be picked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StallPolicy {
    pub running: Vec<(JobType, Duration)>,
    pub queued: Vec<(JobType, Duration)>,
}

/// Marks stalled jobs FAILED with the system as actor. Returns the jobs it failed.
pub fn mark_stalled(act: &Act, policy: &StallPolicy, limit: usize) -> Result<Vec<Job>> {
    let mut failed = Vec::new();
    let lists = [
        (JobStatus::Running, &policy.running),
        (JobStatus::Queued, &policy.queued),
    ];
    for (status, thresholds) in lists {
        for &(job_type, threshold) in thresholds {
            let cutoff = act.now - threshold;
            for stale in act.store.stale(job_type, status, cutoff, limit)? {
                match mark_one_stalled(act, &stale.id, status, cutoff) {
                    Ok(Some(job)) => failed.push(job),
                    Ok(None) | Err(Error::Illegal { .. }) | Err(Error::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(failed)
}

fn mark_one_stalled(
    act: &Act,
    job_id: &str,
    status: JobStatus,
    cutoff: Timestamp,
) -> Result<Option<Job>> {
    let mut changed = false;
    let job = act.mutate(job_id, |job| {
        // Re-checked on the fresh row: a heartbeat that arrived since the scan saves the job.
        if job.status != status || job.heartbeat_at >= cutoff {
            changed = false;
            return Ok(None);
        }
        let since = job::format_timestamp(&job.heartbeat_at);
        let message = match status {
            JobStatus::Queued => format!("stalled: queued since {since} and never picked up"),
            _ => format!("stalled: no heartbeat since {since}"),
        };
        let from = act.step(job, Event::Stall)?;
        job.error_message = Some(message.clone());
        job.last_actor = Some(act.actor.clone());
        changed = true;
        Ok(Some(vec![act.event(
            job,
            EventKind::Stalled,
            Some(from),
            Some(message),
            Map::new(),
        )]))
    })?;
    Ok(changed.then_some(job))
}

/// One retention pass: keep the newest `keep` finished jobs (and none older than `max_age`).
pub fn prune(act: &Act, keep: usize, max_age: Option<Duration>, batch: usize) -> Result<Pruned> {
    let older_than = max_age.map(|age| act.now - age);
    Ok(act.store.prune(keep, older_than, batch)?)
}
