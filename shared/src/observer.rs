//! The execution observer's rules (`functions/job-observer`, `docs/observer.md`): the execution
//! document Appwrite's webhook delivers, the observer's configuration, the replay window, and
//! what an execution event does to jobs. Signature checking stays at the function's edge; this
//! module sees only bodies that passed it.
//!
//! Two kinds of functions are observed:
//! - **un-adopted** functions (never call a hook), mapped to a job type by
//!   `JOBS_OBSERVE_<FUNCTION>=<TYPE>`: each execution becomes one job, whose id is derived from
//!   the execution id, so repeated and out-of-order events converge on the same job;
//! - every other function is a **worker** that reports through the hooks: when its execution
//!   ends while its job still expects it to run, the job fails at once (see [`observe`]); an
//!   execution that ended `completed` without the worker's final report fails it as "outcome
//!   unknown" ([`verdict`], [`OUTCOME_UNKNOWN_PREFIX`]).
//!
//! Payload facts (Appwrite 1.9.6): `docs/appwrite-notes.md` § Webhooks and execution events.

use chrono::Duration;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::http::ApiError;
use crate::job::{
    self, clip_text, parse_timestamp, Event, EventKind, Job, JobStatus, JobType, Timestamp,
};
use crate::store::{id, Created, JobQuery, Scope, StoreError, Write};
use crate::usecase::{self, Act};

/// The observer's secret: the webhook's signature key (`docs/deploy.md`).
pub const SECRET_VAR: &str = "JOBS_OBSERVER_SECRET";
/// The webhook's URL exactly as registered in Appwrite: it is part of what Appwrite signs.
pub const URL_VAR: &str = "JOBS_OBSERVER_URL";
/// Events older than this many seconds are refused (default [`DEFAULT_MAX_AGE_SECS`]).
pub const MAX_AGE_VAR: &str = "JOBS_OBSERVER_MAX_AGE_SECONDS";
/// Prefix of the per-function mapping of un-adopted functions to a job type.
pub const OBSERVE_PREFIX: &str = "JOBS_OBSERVE_";

/// One hour: longer than Appwrite's largest function timeout (900 s) plus queueing, so an
/// event is never refused only because its execution ran long.
pub const DEFAULT_MAX_AGE_SECS: i64 = 3_600;
const MAX_MAX_AGE_SECS: i64 = 7 * 24 * 3_600;

/// The observer's configuration, read through a lookup so tests pass their own values.
#[derive(Clone)]
pub struct ObserverConfig {
    pub secret: String,
    pub url: String,
    pub max_age: Duration,
}

impl std::fmt::Debug for ObserverConfig {
    /// Never shows the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverConfig")
            .field("secret", &"<hidden>")
            .field("url", &self.url)
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl ObserverConfig {
    /// Reads every variable, naming each missing or invalid one (never a value) at once.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, crate::config::ConfigError> {
        let mut vars = crate::config::Vars::new(lookup);
        let secret = vars.required(SECRET_VAR, "the webhook's signature key; docs/observer.md");
        // Appwrite refuses webhook secrets shorter than 8 characters.
        if !secret.is_empty() && secret.len() < 8 {
            vars.problem(SECRET_VAR, "must be at least 8 characters");
        }
        let url = vars.required(URL_VAR, "the webhook's URL, as registered in Appwrite");
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            vars.problem(URL_VAR, "must be the webhook's http(s) URL");
        }
        let max_age = vars.number(MAX_AGE_VAR, 1..=MAX_MAX_AGE_SECS, DEFAULT_MAX_AGE_SECS);
        vars.finish(ObserverConfig {
            secret,
            url,
            max_age: Duration::seconds(max_age),
        })
    }
}

/// The variable that maps `function_id` to a job type: `JOBS_OBSERVE_` and the id in upper
/// case with every character outside `A-Z0-9` as `_` (`sqs-poller` → `JOBS_OBSERVE_SQS_POLLER`).
pub fn observe_var(function_id: &str) -> String {
    let tail: String = function_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{OBSERVE_PREFIX}{tail}")
}

/// An execution's status, as Appwrite spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecStatus {
    Waiting,
    Scheduled,
    Processing,
    Completed,
    Failed,
}

impl ExecStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecStatus::Waiting => "waiting",
            ExecStatus::Scheduled => "scheduled",
            ExecStatus::Processing => "processing",
            ExecStatus::Completed => "completed",
            ExecStatus::Failed => "failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, ExecStatus::Completed | ExecStatus::Failed)
    }

    /// The job status an un-adopted function's job mirrors.
    fn job_status(self) -> JobStatus {
        match self {
            ExecStatus::Waiting | ExecStatus::Scheduled => JobStatus::Queued,
            ExecStatus::Processing => JobStatus::Running,
            ExecStatus::Completed => JobStatus::Completed,
            ExecStatus::Failed => JobStatus::Failed,
        }
    }
}

/// The members of Appwrite's execution document the observer uses; others are ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawExecution {
    #[serde(rename = "$id")]
    id: String,
    #[serde(rename = "$createdAt", default)]
    created_at: Option<String>,
    #[serde(rename = "$updatedAt", default)]
    updated_at: Option<String>,
    function_id: String,
    status: ExecStatus,
    #[serde(default)]
    trigger: Option<String>,
    #[serde(default)]
    response_status_code: Option<i64>,
    #[serde(default)]
    errors: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
}

/// One execution event's document, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub id: String,
    pub function_id: String,
    pub status: ExecStatus,
    pub trigger: String,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub response_status_code: i64,
    /// The execution's error output, clipped to the free-text limit.
    pub errors: String,
    /// Seconds the execution ran (0 until it ends).
    pub duration: f64,
}

impl Execution {
    /// Parses a webhook body. The members used must be present and well typed (400 naming the
    /// member otherwise); unknown members are ignored since Appwrite adds them over versions.
    pub fn parse(body: &[u8]) -> Result<Execution, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                400,
                "invalid_json",
                format!("the body is not valid JSON: {e}"),
            )
        })?;
        if !value.is_object() {
            return Err(ApiError::invalid(
                "$id",
                "the body must be an execution document (a JSON object)",
            ));
        }
        let raw: RawExecution = crate::hooks::fields(value)?;
        for (field, value) in [("$id", &raw.id), ("functionId", &raw.function_id)] {
            if !id::is_valid(value) {
                return Err(ApiError::invalid(field, "must be an Appwrite id"));
            }
        }
        let stamp = |field: &'static str, raw: &Option<String>| match raw.as_deref() {
            // Appwrite's model answers "" for a timestamp the document does not have yet.
            None | Some("") => Ok(None),
            Some(text) => parse_timestamp(field, text)
                .map(Some)
                .map_err(|e| ApiError::invalid(field, e.to_string())),
        };
        let duration = raw.duration.unwrap_or(0.0);
        if !duration.is_finite() || !(0.0..=1e7).contains(&duration) {
            return Err(ApiError::invalid(
                "duration",
                "must be a number of seconds from 0",
            ));
        }
        Ok(Execution {
            created_at: stamp("$createdAt", &raw.created_at)?,
            updated_at: stamp("$updatedAt", &raw.updated_at)?,
            id: raw.id,
            function_id: raw.function_id,
            status: raw.status,
            trigger: raw.trigger.unwrap_or_default(),
            response_status_code: raw.response_status_code.unwrap_or(0),
            errors: clip_text(raw.errors.as_deref().unwrap_or("")),
            duration,
        })
    }

    /// When the event happened as far as the document tells: its `$updatedAt`, or its start plus
    /// its duration, whichever is later. `None` when the document carries no time at all.
    pub fn time(&self) -> Option<Timestamp> {
        let ended = self
            .created_at
            .map(|c| c + Duration::milliseconds((self.duration * 1000.0) as i64));
        match (self.updated_at, ended) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the event is too old to act on (a replay, or a delivery long overdue).
    pub fn is_stale(&self, now: Timestamp, max_age: Duration) -> bool {
        self.time().is_some_and(|t| now - t > max_age)
    }

    fn duration_ms(&self) -> i64 {
        (self.duration * 1000.0) as i64
    }

    /// The log entry's details: enough to find the execution in the Appwrite console.
    fn details(&self) -> Map<String, Value> {
        let details = json!({
            "executionId": self.id,
            "functionId": self.function_id,
            "executionStatus": self.status.as_str(),
            "responseStatusCode": self.response_status_code,
            "durationMs": self.duration_ms(),
            "trigger": self.trigger,
        });
        match details {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// What an event did, answered to Appwrite and logged.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// `created`, `updated`, `failed`, `unchanged` or `ignored`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<JobStatus>,
}

impl Outcome {
    fn of(outcome: &'static str, job: Option<&Job>) -> Outcome {
        Outcome {
            outcome,
            job_id: job.map(|j| j.id.clone()),
            status: job.map(|j| j.status),
        }
    }
}

/// How an observed function is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// Never calls a hook: each execution is a job of this type.
    Unadopted(JobType),
    /// Reports through the hooks: its executions can only fail the job they run.
    Worker,
}

/// Reads `JOBS_OBSERVE_<FUNCTION>`; a value that is not a job type is a 500 naming the variable.
pub fn observed(
    lookup: impl Fn(&str) -> Option<String>,
    function_id: &str,
) -> Result<Observed, ApiError> {
    let name = observe_var(function_id);
    match crate::config::Vars::new(lookup).get(&name) {
        None => Ok(Observed::Worker),
        Some(v) => v.parse().map(Observed::Unadopted).map_err(|_| {
            ApiError::new(
                500,
                "invalid_config",
                format!("{name} must be one of {}", type_names()),
            )
        }),
    }
}

fn type_names() -> String {
    JobType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies one execution event.
pub fn observe(act: &Act, observed: Observed, exec: &Execution) -> usecase::Result<Outcome> {
    match observed {
        Observed::Unadopted(job_type) => mirror(act, job_type, exec),
        Observed::Worker => fail_dead_worker(act, exec),
    }
}

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
    let entry = job::JobEvent {
        id: id::fresh('e', act.now),
        job_id: job.id.clone(),
        at: act.now,
        kind: EventKind::for_event(event),
        actor: act.actor.clone(),
        message: Some(clip_text(&message)),
        from_status: Some(from),
        to_status: Some(job.status),
        details: exec.details(),
    };
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
fn mirror(act: &Act, job_type: JobType, exec: &Execution) -> usecase::Result<Outcome> {
    let job_id = mirror_job_id(exec);
    match act.store.get(&job_id) {
        // The common case costs one read (a repeat) or one read and one conditional write;
        // only a concurrent change sends it through the re-reading loop below.
        Ok(current) => {
            let mut next = current.clone();
            let Some(entries) = advance(act, &mut next, exec)? else {
                return Ok(Outcome::of("unchanged", Some(&current)));
            };
            next.rev = current.rev + 1;
            let write = Write {
                job: next,
                expected_rev: current.rev,
                events: entries,
            };
            match act.store.write(&write) {
                Ok(job) => return Ok(Outcome::of("updated", Some(&job))),
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::NotFound(_)) => {
            // A first event already past `waiting` walks the new job forward through the state
            // machine before it is stored (as `start` stores a job RUNNING); its one `created`
            // entry says where the job begins.
            let mut job = new_mirror(act, job_type, &job_id, exec);
            let moved = advance(act, &mut job, exec)?;
            let message = moved
                .and_then(|entries| entries.into_iter().next())
                .and_then(|entry| entry.message)
                .unwrap_or_else(|| format!("execution {} is {}", exec.id, exec.status.as_str()));
            let created = job::JobEvent {
                id: id::fresh('e', act.now),
                job_id: job_id.clone(),
                at: act.now,
                kind: EventKind::Created,
                actor: act.actor.clone(),
                message: Some(message),
                from_status: None,
                to_status: Some(job.status),
                details: exec.details(),
            };
            match act.store.create(&job, &created)? {
                Created::New(job) => return Ok(Outcome::of("created", Some(&job))),
                // A concurrent delivery of the same execution created it: apply ours on top.
                Created::Existing(_) => {}
            }
        }
        Err(e) => return Err(e.into()),
    }
    let mut moved = false;
    let job = act.mutate(&job_id, |job| {
        let entries = advance(act, job, exec)?;
        moved = entries.is_some();
        Ok(entries)
    })?;
    Ok(Outcome::of(
        if moved { "updated" } else { "unchanged" },
        Some(&job),
    ))
}

fn new_mirror(act: &Act, job_type: JobType, job_id: &str, exec: &Execution) -> Job {
    let mut metadata = Map::new();
    // The dashboard offers no pause or resume for these: nothing would act on them.
    metadata.insert("observed".into(), Value::Bool(true));
    metadata.insert("functionId".into(), json!(exec.function_id));
    metadata.insert("executionId".into(), json!(exec.id));
    metadata.insert("trigger".into(), json!(exec.trigger));
    Job {
        id: job_id.to_owned(),
        job_type,
        status: JobStatus::Queued,
        reference_id: format!("{}/{}", exec.function_id, exec.id),
        progress: 0,
        progress_message: None,
        started_at: None,
        updated_at: act.now,
        completed_at: None,
        error_message: None,
        metadata,
        created_at: exec.created_at.unwrap_or(act.now).min(act.now),
        heartbeat_at: act.now,
        done: None,
        total: None,
        checkpoint: None,
        result: None,
        idempotency_key: Some(format!("execution:{}:{}", exec.function_id, exec.id)),
        last_actor: None,
        last_reason: None,
        retry_of: None,
        rev: 1,
        // The state machine numbers the run (a start makes it 1); the execution is the job's.
        run: 0,
        execution_id: Some(exec.id.clone()),
        claims: Vec::new(),
    }
}

/// Whether a job mirrors an execution (no worker cooperates: pause and resume do nothing).
pub fn is_mirror(job: &Job) -> bool {
    job.metadata.get("observed") == Some(&Value::Bool(true))
}

/// Active jobs (any type) searched for a worker's execution, at most this many per event.
pub const WORKER_SEARCH_LIMIT: usize = 500;

/// A worker's execution ended: if it still holds a job (the job's current run reported this
/// execution id), that job fails now, through the state machine, fenced by the run.
///
/// Fails ([`verdict`]): RUNNING or QUEUED with the execution `failed`; RUNNING with it
/// `completed` (the worker ended without its final report: "outcome unknown"), except SQS_POLL.
/// Leaves alone: PAUSED (the user paused; resume starts a new run), final jobs, and jobs whose
/// current run holds another execution or none yet (a newer run, a resumed job whose
/// re-triggered execution was not linked). A resumed or retried job linked to the execution its
/// action re-triggered (`usecase::link_execution`) is that execution's until the worker's
/// `start`: if it fails first, the QUEUED job fails.
fn fail_dead_worker(act: &Act, exec: &Execution) -> usecase::Result<Outcome> {
    if !exec.status.is_final() {
        return Ok(Outcome::of("ignored", None));
    }
    let Some(held) = find_by_execution(act, &exec.id)? else {
        return Ok(Outcome::of("ignored", None));
    };
    // The row the search read is the first compare-and-set's base (a conflict re-reads), so
    // the common case costs the search and one write.
    let mut next = held.clone();
    let Some(entries) = fail_run(act, &mut next, exec)? else {
        return Ok(Outcome::of("unchanged", Some(&held)));
    };
    next.rev = held.rev + 1;
    let write = Write {
        job: next,
        expected_rev: held.rev,
        events: entries,
    };
    match act.store.write(&write) {
        Ok(job) => return Ok(Outcome::of("failed", Some(&job))),
        Err(StoreError::Conflict { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let mut failed = false;
    let job = act.mutate(&held.id, |job| {
        let entries = fail_run(act, job, exec)?;
        failed = entries.is_some();
        Ok(entries)
    })?;
    let outcome = if failed { "failed" } else { "unchanged" };
    Ok(Outcome::of(outcome, Some(&job)))
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
/// (`usecase::link_execution`). A resume clears it ([`Job::apply`]), so the paused run's
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
    Ok(Some(vec![job::JobEvent {
        id: id::fresh('e', act.now),
        job_id: job.id.clone(),
        at: act.now,
        kind: EventKind::Failed,
        actor: act.actor.clone(),
        message: Some(message),
        from_status: Some(from),
        to_status: Some(job.status),
        details,
    }]))
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
