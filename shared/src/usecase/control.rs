//! A user's actions through the action API: pause, resume and cancel ([`control`]), retry as a
//! new job linked to the old one ([`retry_once`]), and the link of the worker execution a resume
//! or retry triggered ([`link_execution`]). Each is recorded with its actor and reason. A batch
//! of actions reads its jobs at once and acts on each as read ([`control_read`],
//! [`retry_read`], with [`retry_id`] naming what a retry reads), through the same code.

use serde_json::{Map, Value};

use super::worker::{new_job, Start};
use super::{Act, Error, Result};
use crate::job::{clip_text, Event, EventKind, Job, JobStatus};
use crate::store::{id, Created, StoreError};

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
    control_of(act, job_id, None, event, reason, details)
}

/// [`control_with`] on `job`, the job as the caller just read it (a batch's one read): the
/// write is based on it, so the action costs that write alone unless the job moved since.
pub fn control_read(
    act: &Act,
    job: Job,
    event: Event,
    reason: Option<&str>,
    details: Map<String, Value>,
) -> Result<Job> {
    let job_id = job.id.clone();
    control_of(act, &job_id, Some(job), event, reason, details)
}

fn control_of(
    act: &Act,
    job_id: &str,
    read: Option<Job>,
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
    act.mutate_from(job_id, read, |job| {
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
/// A retry reads the job and this id together, to tell a first retry from a repeated one.
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
    let created = retry_read(act, old.clone(), earlier, reason, extra)?;
    Ok((old, created))
}

/// [`retry_once`] on what the caller just read (a batch's one read): `old`, the job to retry,
/// and `earlier`, the job at its [`retry_id`] if one exists. Writes the retry, or nothing when
/// `earlier` is the retry already made (answered as `Created::Existing`).
pub fn retry_read(
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
