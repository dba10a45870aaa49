//! The worker's calls, as the hooks receive them (docs/hooks.md): start, progress (with the
//! claims of docs/hooks.md § Exactly once), heartbeat, paused, complete, fail. Each is fenced by
//! run ([`Act::fence`]); a stopped call is logged, never applied ([`Act::log_stopped`]).

use serde_json::{Map, Value};

use super::{is_stale, settle, Act, Error, Order, Result, COALESCE_WINDOW_MS};
use crate::job::{
    check_json_size, check_reference, checkpoint_digest, clip_text, percent, Claim, Event,
    EventKind, Fence, Job, JobError, JobEvent, JobStatus, JobType,
};
use crate::store::{id, Created, JobQuery, JobStore, Scope, StoreError};

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

pub(super) fn new_job(act: &Act, job_type: JobType, reference_id: String, req: &Start) -> Job {
    let id = match &req.idempotency_key {
        Some(key) => id::for_idempotency_key(key),
        None => id::fresh('j', act.now),
    };
    let mut job = Job::queued(id, job_type, reference_id, act.now);
    job.progress_message = req.message.as_deref().map(clip_text);
    job.metadata = req.metadata.clone();
    job.done = req.total.map(|_| 0);
    job.total = req.total;
    job.idempotency_key = req.idempotency_key.clone();
    job
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
        search: Some(reference.to_owned()),
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
/// at most once per `COALESCE_WINDOW_MS`; a skipped call still answers with the current job.
pub fn progress(act: &Act, job_id: &str, req: Progress) -> Result<Job> {
    req.check()?;
    let outcome = act.mutate(job_id, |job| record_progress(act, job, &req));
    outcome.map_err(|e| act.log_stopped(e, "progress", Order::Claim(req.done, req.claimed)))
}

impl Progress {
    /// The checks that need no job, made before anything is read.
    fn check(&self) -> Result<()> {
        if let Some(p) = self.percent {
            if p > 100 {
                return Err(JobError::invalid("percent", format!("{p} is above 100")).into());
            }
        }
        if self.total == Some(0) {
            return Err(JobError::invalid("total", "must be greater than 0").into());
        }
        if let (Some(claimed), Some(done)) = (self.claimed, self.done) {
            if claimed < done {
                return Err(JobError::invalid(
                    "claimed",
                    format!("{claimed} is less than done {done}"),
                )
                .into());
            }
        }
        if self.claimed.is_some() && self.checkpoint.is_none() {
            return Err(JobError::invalid(
                "checkpoint",
                "is required with `claimed`: a claim says where to continue",
            )
            .into());
        }
        // Checked here, not only in the Appwrite adapter, so every store refuses it alike.
        if let Some(checkpoint) = &self.checkpoint {
            check_json_size("checkpoint", checkpoint)?;
        }
        Ok(())
    }

    /// The total and the percent this report gives `job`, checked against what `job` has.
    fn measure(&self, job: &Job) -> Result<(Option<u64>, Option<u8>)> {
        // A total below what is already done would show "50 / 10": refused, nothing written.
        if let (Some(new_total), Some(done)) = (self.total, job.done) {
            if new_total < done {
                return Err(JobError::invalid(
                    "total",
                    format!("{new_total} is less than the {done} already done"),
                )
                .into());
            }
        }
        let total = self.total.or(job.total);
        let pct = match (self.percent, self.done, total) {
            (Some(p), _, _) => Some(p),
            (None, Some(done), Some(total)) => Some(percent(done, total)?),
            (None, Some(_), None) => {
                return Err(JobError::invalid("total", "is required with `done`").into())
            }
            (None, None, _) => None,
        };
        if let (Some(claimed), Some(total)) = (self.claimed, total) {
            if claimed > total {
                return Err(JobError::invalid(
                    "claimed",
                    format!("{claimed} is greater than total {total}"),
                )
                .into());
            }
        }
        Ok((total, pct))
    }
}

/// One attempt of [`progress`] on the row as read: the entries to write with it, or `None` when
/// the call writes nothing (answered `pause`, a late claim, or coalesced).
fn record_progress(act: &Act, job: &mut Job, req: &Progress) -> Result<Option<Vec<JobEvent>>> {
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
    let (total, pct) = req.measure(job)?;
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
            events.push(message_entry(act, job, req.claimed, message));
        }
    }
    Ok(Some(events))
}

/// The log entry of a progress call's new message, with the counts it came with. From and to
/// the status the job is in, so the log stays a path through the state machine.
fn message_entry(act: &Act, job: &Job, claimed: Option<u64>, message: &str) -> JobEvent {
    let mut details = Map::new();
    details.insert("progress".into(), job.progress.into());
    if let Some(done) = job.done {
        details.insert("done".into(), done.into());
    }
    if let Some(claimed) = claimed {
        details.insert("claimed".into(), claimed.into());
    }
    if let Some(total) = job.total {
        details.insert("total".into(), total.into());
    }
    let status = Some(job.status);
    act.event(
        job,
        EventKind::Progress,
        status,
        Some(message.to_owned()),
        details,
    )
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
        // `Job::apply` clears the execution: the worker has stopped, nothing holds the run.
        let from = act.step(job, Event::WorkerPaused)?;
        if from != JobStatus::Paused {
            // The worker paused on its own: it is who stopped the job, and its message is why
            // (a user's pause keeps the user's name and reason).
            job.last_actor = Some(act.actor.clone());
            job.last_reason = message.as_deref().map(clip_text);
        }
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
