//! A worker's execution that ended while its job still expected it to run: the job fails at
//! once, through the state machine, fenced by run ([`verdict`], re-checked on every re-read of
//! the compare-and-set).

use serde_json::json;

use super::{ExecStatus, Execution, Outcome};
use crate::job::{self, clip_text, Event, EventKind, Job, JobStatus, JobType};
use crate::store::{JobQuery, Scope};
use crate::usecase::{self, Act};

/// Active jobs (any type) searched for a worker's execution, at most this many per event.
const WORKER_SEARCH_LIMIT: usize = 500;

/// A worker's execution ended: if it still holds a job (the job's current run reported this
/// execution id), that job fails now, through the state machine, fenced by the run.
///
/// Fails ([`verdict`]): RUNNING or QUEUED with the execution `failed`; RUNNING with it
/// `completed` (the worker ended without its final report: "outcome unknown"), except SQS_POLL.
/// A PAUSED job still holding the execution (its worker never confirmed the pause) is not
/// failed but released: the worker is known to be stopped ([`holds_paused`]).
/// Leaves alone: final jobs, and jobs whose
/// current run holds another execution or none yet (a newer run, a resumed job whose
/// re-triggered execution was not linked). A resumed or retried job linked to the execution its
/// action re-triggered (`usecase::link_execution`) is that execution's until the worker's
/// `start`: if it fails first, the QUEUED job fails.
pub(super) fn fail_dead_worker(act: &Act, exec: &Execution) -> usecase::Result<Outcome> {
    if !exec.status.is_final() {
        return Ok(Outcome::of("ignored", None));
    }
    let Some(held) = find_by_execution(act, &exec.id)? else {
        return Ok(Outcome::of("ignored", None));
    };
    // The row the search read is the first compare-and-set's base (a conflict re-reads), so
    // the common case costs the search and one write.
    let job_id = held.id.clone();
    let mut outcome = "unchanged";
    let job = act.mutate_from(&job_id, Some(held), |job| {
        if let Some(entries) = fail_run(act, job, exec)? {
            outcome = "failed";
            return Ok(Some(entries));
        }
        let entries = stopped_while_paused(act, job, exec)?;
        outcome = if entries.is_some() {
            "updated"
        } else {
            "unchanged"
        };
        Ok(entries)
    })?;
    Ok(Outcome::of(outcome, Some(&job)))
}

/// A PAUSED job whose worker's execution ended before the worker confirmed the pause: the
/// worker is known to be stopped, which is what its `paused` call would have said. Applied as
/// that event (`Event::WorkerPaused`, PAUSED → PAUSED), which releases the execution, so the
/// dashboard stops showing "Pausing…". Decided on whichever row the write is based on: only
/// the execution the current run still holds counts (a resume clears it, `Job::apply`).
fn stopped_while_paused(
    act: &Act,
    job: &mut Job,
    exec: &Execution,
) -> usecase::Result<Option<Vec<job::JobEvent>>> {
    if !holds_paused(job, exec) {
        return Ok(None);
    }
    let from = job.status;
    let mut details = exec.details();
    details.insert("run".into(), json!(job.run));
    job.apply(Event::WorkerPaused, act.now)
        .map_err(usecase::Error::from)?;
    let message = format!(
        "the worker's execution {} of {} ended ({}) while the job was PAUSED: the worker has \
         stopped",
        exec.id,
        exec.function_id,
        exec.status.as_str()
    );
    Ok(Some(vec![act.event(
        job,
        EventKind::Paused,
        Some(from),
        Some(message),
        details,
    )]))
}

/// Whether `exec` is the execution a PAUSED job's current run still holds (its worker has not
/// confirmed the pause), and has ended.
fn holds_paused(job: &Job, exec: &Execution) -> bool {
    exec.status.is_final()
        && job.status == JobStatus::Paused
        && job.execution_id.as_deref() == Some(exec.id.as_str())
}

/// How a worker's execution ended, for the job its run still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Death {
    /// The execution ended `failed` (timeout, crash, out of memory, a 5xx).
    Failed,
    /// The execution ended `completed` while its run was still RUNNING: the worker ended without
    /// its final `complete` / `fail` / `paused` (lost to an outage, or never sent), so whether its
    /// last claim was carried out is unknown.
    OutcomeUnknown,
}

/// Whether an unconfirmed claim may stand for work done or skipped: any claim but one whose range
/// is known and empty (`done` = `claimed`: a checkpoint reported after the work, claiming none).
pub fn covers_work(claim: &job::Claim) -> bool {
    claim.done.is_none() || claim.claimed != claim.done
}

/// The start of the error message of a job failed because its worker ended without its final
/// report; `job-actions` recognises such a job by it when it is retried.
pub const OUTCOME_UNKNOWN_PREFIX: &str = "outcome unknown: ";

/// Whether `exec`'s end kills the run holding `job`, decided on whichever row a write is based
/// on. Only the job's current execution counts: the one the current run's written calls
/// reported, or, before its first call, the one its resume or retry re-triggered
/// (`usecase::link_execution`). A resume clears it (`Job::apply`), so the paused run's
/// execution never matches the resumed job, and a newer run's calls replace it.
///
/// SQS_POLL is never failed for a `completed` execution: every scheduled `sqs-poller` run picks
/// the long-lived polling job up, heartbeats and ends without a final call by design, leaving the
/// job RUNNING for the next run (docs/hooks.md § Per-worker semantics).
pub fn verdict(job: &Job, exec: &Execution) -> Option<Death> {
    if job.execution_id.as_deref() != Some(exec.id.as_str()) {
        return None;
    }
    match (exec.status, job.status) {
        (ExecStatus::Failed, JobStatus::Running | JobStatus::Queued) => Some(Death::Failed),
        (ExecStatus::Completed, JobStatus::Running) if job.job_type != JobType::SqsPoll => {
            Some(Death::OutcomeUnknown)
        }
        _ => None,
    }
}

/// Fails `job` if it is still held by the run that reported `exec` and that execution's end
/// means the run died; returns the log entry, or `None` when the job is not (or no longer)
/// that run's: checked on whichever row the compare-and-set is based on.
fn fail_run(
    act: &Act,
    job: &mut Job,
    exec: &Execution,
) -> usecase::Result<Option<Vec<job::JobEvent>>> {
    let Some(death) = verdict(job, exec) else {
        return Ok(None);
    };
    let from = job.status;
    let mut details = exec.details();
    details.insert("run".into(), json!(job.run));
    let message = match death {
        Death::Failed => worker_failure_message(exec, from),
        Death::OutcomeUnknown => {
            details.insert("outcome".into(), json!("unknown"));
            // The run's claim stays on the job, unconfirmed: a retry hands it to the next worker.
            if let Some(claim) = job.current_claim().filter(|c| covers_work(c)) {
                details.insert(
                    "claim".into(),
                    json!({"run": claim.run, "done": claim.done, "claimed": claim.claimed}),
                );
            }
            outcome_unknown_message(exec, job)
        }
    };
    job.apply(Event::Fail, act.now)
        .map_err(usecase::Error::from)?;
    job.error_message = Some(message.clone());
    job.last_actor = Some(act.actor.clone());
    Ok(Some(vec![act.event(
        job,
        EventKind::Failed,
        Some(from),
        Some(message),
        details,
    )]))
}

/// The active job whose current run reported `execution_id`, if any.
fn find_by_execution(act: &Act, execution_id: &str) -> usecase::Result<Option<Job>> {
    let mut query = JobQuery {
        scope: Scope::Active,
        limit: WORKER_SEARCH_LIMIT.min(crate::store::MAX_PAGE),
        ..JobQuery::default()
    };
    let mut seen = 0;
    loop {
        let page = act.store.list(&query)?;
        seen += page.jobs.len();
        if let Some(job) = page
            .jobs
            .into_iter()
            .find(|j| j.execution_id.as_deref() == Some(execution_id))
        {
            return Ok(Some(job));
        }
        match page.next_cursor {
            Some(cursor) if seen < WORKER_SEARCH_LIMIT => query.cursor = Some(cursor),
            _ => return Ok(None),
        }
    }
}

/// What happened to a worker's failed execution, for the job's error message.
fn worker_failure_message(exec: &Execution, from: JobStatus) -> String {
    let mut text = format!(
        "worker execution {} of {} failed after {:.1} s with status code {} while the job was {from}",
        exec.id, exec.function_id, exec.duration, exec.response_status_code
    );
    let errors = exec.errors.trim();
    if !errors.is_empty() {
        text.push_str(": ");
        text.push_str(errors);
    }
    clip_text(&text)
}

/// Why a job whose worker ended without its final report failed, starting with
/// [`OUTCOME_UNKNOWN_PREFIX`]: the execution, and what is not known about the run's last claim.
fn outcome_unknown_message(exec: &Execution, job: &Job) -> String {
    let mut text = format!(
        "{OUTCOME_UNKNOWN_PREFIX}the worker's execution {} of {} ended (completed after {:.1} s \
         with status code {}) without its final report (complete, fail or paused) while run {} \
         was RUNNING; ",
        exec.id, exec.function_id, exec.duration, exec.response_status_code, job.run
    );
    match job.current_claim().filter(|c| covers_work(c)) {
        Some(claim) => {
            text.push_str("its last claim");
            if let (Some(from), Some(to)) = (claim.done, claim.claimed) {
                text.push_str(&format!(" (units {from}–{to})"));
            }
            text.push_str(" was never confirmed and may or may not have been carried out");
        }
        None => text.push_str("what it did after its last report is unknown"),
    }
    let errors = exec.errors.trim();
    if !errors.is_empty() {
        text.push_str(": ");
        text.push_str(errors);
    }
    clip_text(&text)
}
