//! The single-job actions (pause, resume, cancel, retry): the audited state change through
//! the use cases, then its side effects (re-triggering the worker, mirroring the campaign row)
//! and the answer. A batch (`batch.rs`) runs each of its jobs through the same code.

use openruntimes::Context;
use serde_json::{json, Map, Value};
use shared::http::ApiError;
use shared::job::{actor_user, Event, Job, JobType, Timestamp};
use shared::platform::Platform;
use shared::store::{Created, StoreError};
use shared::usecase::{self, Act};

use crate::auth::Caller;
use crate::config::Config;
use crate::routes::Op;
use crate::view::job_view;
use crate::{Reply, Services};

/// The `reason` member of an action body (a single action's or a batch's): absent, null or a
/// string.
pub(crate) fn reason_of(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match body.get("reason") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid("reason", "`reason` must be a string")),
    }
}

pub(crate) fn store_error(e: StoreError) -> ApiError {
    usecase::Error::from(e).into()
}

/// Pause, resume, cancel or retry, audited, then the side effects: re-triggering the worker on
/// resume and retry, and mirroring the campaign row's status when configured.
#[allow(clippy::too_many_arguments)]
pub(crate) fn act(
    ctx: &Context,
    platform: &Platform,
    services: &Services,
    config: &Config,
    caller: &Caller,
    op: Op,
    job_id: &str,
    reason: Option<&str>,
) -> Result<Reply, ApiError> {
    let now = platform.now();
    let act = Act::new(platform.store.as_ref(), actor_user(&caller.user_id), now);
    let details = audit_details(caller);
    let after = After {
        ctx,
        services,
        config,
        act: &act,
        now,
    };
    let (status, body) = match control_event(op) {
        Some(event) => {
            let job = usecase::control_with(&act, job_id, event, reason, details)?;
            (200, after.control(op, job))
        }
        None => {
            // The retried job as it ended (its run's unconfirmed claims go to the new worker
            // and decide the warning) and an earlier retry of it, in one read before anything
            // is written, so a failed read leaves nothing half done and a repeated retry costs
            // that read alone.
            let (retried, created) = usecase::retry_once(&act, job_id, reason, details)?;
            after.retry(&retried, created)
        }
    };
    Ok(Reply::Json(status, body))
}

/// The state-machine event of a pause, resume or cancel; `None` for a retry.
pub(crate) fn control_event(op: Op) -> Option<Event> {
    match op {
        Op::Pause => Some(Event::Pause),
        Op::Resume => Some(Event::Resume),
        Op::Cancel => Some(Event::Cancel),
        _ => None,
    }
}

/// What every action records in its log entry's `details` besides actor and reason: the role
/// source that allowed it and the function it came through.
pub(crate) fn audit_details(caller: &Caller) -> Map<String, Value> {
    let mut details = Map::new();
    details.insert("roleSource".into(), caller.grant.source.clone().into());
    details.insert("via".into(), "job-actions".into());
    details
}

/// An action's side effects once its write is done, and the answer a single action gives
/// (status and body); one job's part of a batch is the same answer.
pub(crate) struct After<'a> {
    pub ctx: &'a Context,
    pub services: &'a Services<'a>,
    pub config: &'a Config,
    pub act: &'a Act<'a>,
    pub now: Timestamp,
}

impl After<'_> {
    /// After a pause, resume or cancel wrote `job`: the re-trigger on resume, the campaign
    /// mirror. `{job, trigger, campaign}`.
    pub fn control(&self, op: Op, job: Job) -> Value {
        let (trigger, job) = if op == Op::Resume {
            trigger(self.ctx, self.services, self.config, self.act, job, &[])
        } else {
            (Value::Null, job)
        };
        let campaign = mirror_campaign(self.ctx, self.services, self.config, &job, op);
        json!({"job": job_view(&job, self.now, true), "trigger": trigger, "campaign": campaign})
    }

    /// After a retry of `retried`: a new job is triggered and mirrored (201), an earlier retry
    /// is answered as it is (200). `{job, trigger, campaign, warning}`.
    pub fn retry(&self, retried: &Job, created: Created) -> (u16, Value) {
        let unconfirmed = unconfirmed(retried);
        let (status, trigger, campaign, job) = match created {
            Created::New(job) => {
                let (trigger, job) = trigger(
                    self.ctx,
                    self.services,
                    self.config,
                    self.act,
                    job,
                    &unconfirmed,
                );
                let campaign =
                    mirror_campaign(self.ctx, self.services, self.config, &job, Op::Resume);
                (201, trigger, campaign, job)
            }
            Created::Existing(job) => (
                200,
                json!({
                    "status": "skipped",
                    "message": format!("job `{}` was already retried as `{}`", retried.id, job.id),
                }),
                Value::Null,
                job,
            ),
        };
        let body = json!({
            "job": job_view(&job, self.now, true),
            "trigger": trigger,
            "campaign": campaign,
            "warning": retry_warning(retried, &unconfirmed),
        });
        (status, body)
    }
}

/// The retried job's unconfirmed claims whose range is known and not empty, as the re-trigger
/// body's `unconfirmed` lists them: `{"from": done, "to": claimed, "run"}`, oldest run first.
/// Each range was claimed and answered `continue`, but its run never confirmed it (no later call
/// arrived), so it may or may not have been carried out: the retry's worker re-visits it and
/// skips the units it has a sent mark for (docs/actions.md, Retry).
pub fn unconfirmed(retried: &Job) -> Vec<Value> {
    retried
        .claims
        .iter()
        .filter_map(|c| match (c.done, c.claimed) {
            (Some(from), Some(to)) if to > from => {
                Some(json!({"from": from, "to": to, "run": c.run}))
            }
            _ => None,
        })
        .collect()
}

/// The retry answer's `warning`, when work may repeat (or be missing): the retried job failed
/// as "outcome unknown" (its worker ended without its final report), or holds an unconfirmed
/// claim that covers work (any but a known empty range). `null` otherwise. Each sentence says
/// what is known and what the new run does about it.
pub fn retry_warning(retried: &Job, unconfirmed: &[Value]) -> Value {
    let outcome_unknown = retried
        .error_message
        .as_deref()
        .is_some_and(|e| e.starts_with(shared::observer::OUTCOME_UNKNOWN_PREFIX));
    let unsettled = retried.claims.iter().any(shared::observer::covers_work);
    if !(outcome_unknown || unsettled) {
        return Value::Null;
    }
    let mut parts = Vec::new();
    if outcome_unknown {
        parts.push("the previous run ended without its final report (outcome unknown)".to_owned());
    }
    if !unconfirmed.is_empty() {
        let ranges: Vec<String> = unconfirmed
            .iter()
            .map(|r| format!("units {}–{} of run {}", r["from"], r["to"], r["run"]))
            .collect();
        parts.push(format!(
            "its last claim ({}) was never confirmed, so it may or may not have been carried out; \
             the re-trigger body lists it as `unconfirmed` for the worker to re-check: a unit \
             with a sent mark is skipped, one done without a mark is done again",
            ranges.join(", ")
        ));
    } else if unsettled {
        parts.push(
            "its last claim was never confirmed, so it may or may not have been carried out, and \
             it names no unit range to re-check; the worker resumes from the claim's checkpoint"
                .to_owned(),
        );
    } else {
        parts.push(
            "what it did after its last report is unknown; the worker resumes from the stored \
             checkpoint, so work done after it is done again"
                .to_owned(),
        );
    }
    // Without a range to re-check, a claim that was not carried out is skipped, not repeated.
    let risk = if unsettled && unconfirmed.is_empty() {
        "work may be missing"
    } else {
        "work may repeat"
    };
    Value::String(format!("{risk}: {}", parts.join("; ")))
}

/// Starts the job's worker asynchronously with the re-trigger body, itself a valid `start`
/// request carrying the job's id, run, reference and checkpoint (docs/hooks.md § Runs), and for
/// a retry the retried job's `unconfirmed` claims when it has any, then links the execution
/// Appwrite answered to the job's run (`usecase::link_execution`), so the observer fails the job
/// at once if that execution dies before its `start`. A failure of either does not undo the
/// action: the job stays QUEUED (the stall sweeper fails it if no worker ever reports), and the
/// answer says what happened. Returns the answer's `trigger` and the job as it now is.
fn trigger(
    ctx: &Context,
    services: &Services,
    config: &Config,
    act: &Act,
    job: Job,
    unconfirmed: &[Value],
) -> (Value, Job) {
    let Some(function_id) = config.worker(job.job_type) else {
        let answer = json!({
            "status": "not_configured",
            "message": format!(
                "JOBS_WORKER_{} is not set: start the worker yourself with jobId `{}`",
                job.job_type, job.id
            ),
        });
        return (answer, job);
    };
    let mut body = json!({
        "event": "start",
        "jobId": job.id,
        "run": job.run,
        "referenceId": job.reference_id,
        "checkpoint": job.checkpoint,
    });
    if !unconfirmed.is_empty() {
        body["unconfirmed"] = Value::Array(unconfirmed.to_vec());
    }
    match services
        .executions
        .create_execution(function_id, &body.to_string())
    {
        Ok(execution_id) => {
            let answer = json!({
                "status": "triggered",
                "functionId": function_id,
                "executionId": execution_id,
            });
            match usecase::link_execution(act, &job, &execution_id) {
                Ok(Some(linked)) => (answer, linked),
                // The worker's own `start` came first (or the job moved on): nothing to link.
                Ok(None) => (answer, job),
                Err(e) => {
                    ctx.error(format!(
                        "job {}: could not link execution {execution_id} of {function_id} to run \
                         {}, so only the stall sweeper fails the job if it dies before its \
                         start: {e}",
                        job.id, job.run
                    ));
                    (answer, job)
                }
            }
        }
        Err(e) => {
            ctx.error(format!(
                "could not trigger {function_id} for job {}: {e}",
                job.id
            ));
            let answer =
                json!({"status": "failed", "functionId": function_id, "message": e.to_string()});
            (answer, job)
        }
    }
}

/// Mirrors a campaign job's action onto the campaign row, when configured for that action.
fn mirror_campaign(
    ctx: &Context,
    services: &Services,
    config: &Config,
    job: &Job,
    op: Op,
) -> Value {
    if job.job_type != JobType::CampaignRun {
        return Value::Null;
    }
    let Some(campaign) = &config.campaign else {
        return Value::Null;
    };
    let value = match op {
        Op::Pause => &campaign.on_pause,
        Op::Resume => &campaign.on_resume,
        Op::Cancel => &campaign.on_cancel,
        _ => &None,
    };
    let Some(value) = value else {
        return Value::Null;
    };
    let mut data = Map::new();
    data.insert(campaign.field.clone(), Value::from(value.as_str()));
    match services.rows.update_row(
        &campaign.database,
        &campaign.table,
        &job.reference_id,
        &Value::Object(data),
    ) {
        Ok(()) => json!({"status": "updated", "value": value}),
        Err(e) => {
            ctx.error(format!(
                "could not set campaign {} status: {e}",
                job.reference_id
            ));
            json!({"status": "failed", "message": e.to_string()})
        }
    }
}
