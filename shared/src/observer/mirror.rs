//! Un-adopted functions' executions mirrored as jobs: one job per execution, its id derived from
//! the execution's, created on the first event seen and moved only forward ([`advance`]), so
//! repeated and out-of-order deliveries converge on the same job.

use chrono::Duration;
use serde_json::{json, Map, Value};

use super::{Execution, Outcome};
use crate::job::{self, clip_text, Event, EventKind, Job, JobStatus, JobType};
use crate::store::{id, Created, StoreError};
use crate::usecase::{self, Act};

/// The id of the job mirroring an un-adopted function's execution: derived, so every event of
/// the execution, in any order and any number of times, lands on one job.
pub fn mirror_job_id(exec: &Execution) -> String {
    id::for_idempotency_key(&format!("execution:{}:{}", exec.function_id, exec.id))
}

/// How far along the mirror is: an event only ever moves it forward, so late and repeated
/// events change nothing.
fn rank(status: JobStatus) -> u8 {
    match status {
        JobStatus::Queued | JobStatus::Paused => 0,
        JobStatus::Running => 1,
        JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled => 2,
    }
}

/// Moves `job` forward to the status `exec` reports, through the state machine; returns the
/// log entries, or `None` when the job is already there or beyond.
fn advance(
    act: &Act,
    job: &mut Job,
    exec: &Execution,
) -> usecase::Result<Option<Vec<job::JobEvent>>> {
    let target = exec.status.job_status();
    if rank(job.status) >= rank(target) {
        return Ok(None);
    }
    let from = job.status;
    let event = match target {
        JobStatus::Running => Event::Start,
        JobStatus::Completed => Event::Complete,
        _ => Event::Fail,
    };
    job.apply(event, act.now).map_err(usecase::Error::from)?;
    let message = match target {
        JobStatus::Running => format!("execution {} is running", exec.id),
        JobStatus::Completed => {
            job.progress = 100;
            format!(
                "execution {} completed in {:.1} s (status code {})",
                exec.id, exec.duration, exec.response_status_code
            )
        }
        _ => {
            let error = failure_message(exec);
            job.error_message = Some(error.clone());
            error
        }
    };
    if target != JobStatus::Running {
        // The execution's own duration is the job's, whichever events arrived before: so every
        // order of delivery ends with the same job.
        job.started_at = job
            .completed_at
            .map(|end| end - Duration::milliseconds(exec.duration_ms()));
    }
    if target != JobStatus::Running {
        let mut result = Map::new();
        result.insert(
            "responseStatusCode".into(),
            json!(exec.response_status_code),
        );
        result.insert("durationMs".into(), json!(exec.duration_ms()));
        job.result = Some(result);
    }
    let entry = act.event(
        job,
        EventKind::for_event(event),
        Some(from),
        Some(clip_text(&message)),
        exec.details(),
    );
    Ok(Some(vec![entry]))
}

/// Says what happened to a failed execution: status code, duration, id, and its error output.
fn failure_message(exec: &Execution) -> String {
    let mut text = format!(
        "execution {} of {} {} after {:.1} s with status code {}",
        exec.id,
        exec.function_id,
        exec.status.as_str(),
        exec.duration,
        exec.response_status_code
    );
    let errors = exec.errors.trim();
    if !errors.is_empty() {
        text.push_str(": ");
        text.push_str(errors);
    }
    clip_text(&text)
}

/// Mirrors an un-adopted function's execution as a job: created on the first event seen (at
/// whatever status it reports), moved forward by later ones, never backwards.
pub(super) fn mirror(act: &Act, job_type: JobType, exec: &Execution) -> usecase::Result<Outcome> {
    let job_id = mirror_job_id(exec);
    // The common case costs one read (a repeat) or one read and one conditional write: the row
    // read is the compare-and-set's first base, and only a concurrent change re-reads it.
    let read = match act.store.get(&job_id) {
        Ok(current) => Some(current),
        Err(StoreError::NotFound(_)) => match create(act, job_type, &job_id, exec)? {
            Created::New(job) => return Ok(Outcome::of("created", Some(&job))),
            // A concurrent delivery of the same execution created it: apply ours on top.
            Created::Existing(_) => None,
        },
        Err(e) => return Err(e.into()),
    };
    let mut moved = false;
    let job = act.mutate_from(&job_id, read, |job| {
        let entries = advance(act, job, exec)?;
        moved = entries.is_some();
        Ok(entries)
    })?;
    Ok(Outcome::of(
        if moved { "updated" } else { "unchanged" },
        Some(&job),
    ))
}

/// Creates the mirror of an execution seen for the first time. A first event already past
/// `waiting` walks the new job forward through the state machine before it is stored (as `start`
/// stores a job RUNNING); its one `created` entry says where the job begins.
fn create(
    act: &Act,
    job_type: JobType,
    job_id: &str,
    exec: &Execution,
) -> usecase::Result<Created> {
    let mut job = new_mirror(act, job_type, job_id, exec);
    let moved = advance(act, &mut job, exec)?;
    let message = moved
        .and_then(|entries| entries.into_iter().next())
        .and_then(|entry| entry.message)
        .unwrap_or_else(|| format!("execution {} is {}", exec.id, exec.status.as_str()));
    let created = act.event(
        &job,
        EventKind::Created,
        None,
        Some(message),
        exec.details(),
    );
    Ok(act.store.create(&job, &created)?)
}

fn new_mirror(act: &Act, job_type: JobType, job_id: &str, exec: &Execution) -> Job {
    let mut metadata = Map::new();
    // The dashboard offers no pause or resume for these: nothing would act on them.
    metadata.insert("observed".into(), Value::Bool(true));
    metadata.insert("functionId".into(), json!(exec.function_id));
    metadata.insert("executionId".into(), json!(exec.id));
    metadata.insert("trigger".into(), json!(exec.trigger));
    let mut job = Job::queued(
        job_id.to_owned(),
        job_type,
        format!("{}/{}", exec.function_id, exec.id),
        act.now,
    );
    job.metadata = metadata;
    job.created_at = exec.created_at.unwrap_or(act.now).min(act.now);
    job.idempotency_key = Some(format!("execution:{}:{}", exec.function_id, exec.id));
    // The state machine numbers the run (a start makes it 1); the execution is the job's.
    job.execution_id = Some(exec.id.clone());
    job
}

/// Whether a job mirrors an execution (no worker cooperates: pause and resume do nothing).
pub fn is_mirror(job: &Job) -> bool {
    job.metadata.get("observed") == Some(&Value::Bool(true))
}
