//! The routes themselves: authenticate, validate, call the store or a use case, shape the JSON.
//! Every input check happens before the first write, so a 4xx never leaves a trace in the store.

use openruntimes::Context;
use serde_json::{json, Map, Value};
use shared::http::ApiError;
use shared::job::{actor_user, Event, Job, JobType, Timestamp};
use shared::platform::Platform;
use shared::store::{
    id, Created, JobQuery, JobStore, Order, StoreError, DELTA_OVERLAP_SECONDS, MAX_PAGE,
};
use shared::usecase::{self, Act};

use crate::auth::{self, Caller};
use crate::config::Config;
use crate::query::{self, Params, FILTER_KEYS};
use crate::routes::{self, Matched, Op};
use crate::upstream::UpstreamError;
use crate::view::{self, job_view};
use crate::{allow_value, Reply, Services};

/// Log entries returned with a job's detail; a job with more shows the oldest this many and
/// says so (`eventsTruncated`).
pub const EVENTS_LIMIT: usize = 1_000;

/// Routes and serves one request.
pub fn dispatch(
    ctx: &Context,
    platform: &Platform,
    services: &Services,
    config: &Config,
) -> Result<Reply, ApiError> {
    let now = platform.now();
    let (path, raw_query) = match ctx.req.path.split_once('?') {
        Some((path, query)) => (path, query),
        None => (ctx.req.path.as_str(), ctx.req.query_string.as_str()),
    };
    let (op, job_id) = match routes::route(&ctx.req.method, path) {
        Matched::Route(op, id) => (op, id),
        Matched::Preflight(methods) => return Ok(Reply::Preflight(methods)),
        Matched::MethodNotAllowed(methods) => {
            let err = ApiError::new(
                405,
                "method_not_allowed",
                format!(
                    "{} is not allowed on {path}; allowed: {}",
                    ctx.req.method,
                    allow_value(&methods)
                ),
            );
            return Ok(Reply::Error(
                err,
                vec![("allow".into(), allow_value(&methods))],
            ));
        }
        Matched::NotFound => {
            return Err(ApiError::new(
                404,
                "route_not_found",
                format!("no route {} {path}; see docs/openapi.yaml", ctx.req.method),
            ))
        }
    };

    let caller = authenticate(ctx, services, config, now, op)?;
    let params = Params::parse(raw_query)?;
    let store = platform.store.as_ref();
    match op {
        Op::Me => {
            params.check(&[])?;
            Ok(Reply::Json(
                200,
                json!({
                    "userId": caller.user_id,
                    "role": caller.grant.role,
                    "roleSource": caller.grant.source,
                }),
            ))
        }
        Op::List => {
            params.check(FILTER_KEYS)?;
            let query = query::list_query(&params)?;
            check_cursor(store, &query)?;
            let page = store.list(&query).map_err(store_error)?;
            let jobs: Vec<Value> = page
                .jobs
                .iter()
                .map(|j| job_view(j, now, caller.can_act()))
                .collect();
            Ok(Reply::Json(
                200,
                json!({
                    "jobs": jobs,
                    "nextCursor": page.next_cursor,
                    "serverTime": shared::job::format_timestamp(&now),
                    // What to poll with next: reaches back over writes stamped before this read
                    // that commit after it (shared::store::DELTA_OVERLAP_SECONDS).
                    "updatedSince": shared::job::format_timestamp(
                        &(now - chrono::Duration::seconds(DELTA_OVERLAP_SECONDS))
                    ),
                }),
            ))
        }
        Op::Summary => {
            params.check(&[])?;
            let counts = store.counts().map_err(store_error)?;
            Ok(Reply::Json(
                200,
                json!({"counts": counts, "serverTime": shared::job::format_timestamp(&now)}),
            ))
        }
        Op::Export => export(store, &params, config, &caller, now),
        Op::Detail => {
            params.check(&[])?;
            let id = job_id_of(job_id)?;
            let (job, events) = store
                .job_with_events(id, EVENTS_LIMIT)
                .map_err(store_error)?;
            Ok(Reply::Json(
                200,
                json!({
                    "job": job_view(&job, now, caller.can_act()),
                    "events": events.iter().map(view::event_view).collect::<Vec<_>>(),
                    "eventsTruncated": events.len() >= EVENTS_LIMIT,
                    "auditLogUrl": audit_url(config, &job),
                }),
            ))
        }
        Op::Pause | Op::Resume | Op::Cancel | Op::Retry => {
            params.check(&[])?;
            let id = job_id_of(job_id)?;
            let reason = reason(ctx)?;
            act(
                ctx,
                platform,
                services,
                config,
                &caller,
                op,
                id,
                reason.as_deref(),
            )
        }
    }
}

/// Trigger, user and role checks; returns the caller allowed to perform `op`.
fn authenticate(
    ctx: &Context,
    services: &Services,
    config: &Config,
    now: Timestamp,
    op: Op,
) -> Result<Caller, ApiError> {
    let header = |name: &str| {
        ctx.req
            .headers
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    if let Some(trigger @ ("schedule" | "event")) = header("x-appwrite-trigger") {
        return Err(ApiError::new(
            403,
            "trigger_not_allowed",
            format!("{trigger} executions cannot use the job actions API"),
        ));
    }
    let Some(user_id) = header("x-appwrite-user-id") else {
        return Err(ApiError::new(
            401,
            "unauthenticated",
            "no signed-in user: call this function through createExecution with a user session",
        ));
    };
    let key = format!("{:?}|{user_id}", config.roles);
    let grant = services
        .roles
        .get_or_resolve(&key, now, config.role_cache_ttl, || {
            auth::resolve(&config.roles, services.directory, user_id)
        })
        .map_err(role_lookup_error)?;
    let Some(grant) = grant else {
        return Err(ApiError::new(
            403,
            "forbidden",
            "this user has no Job Manager role (viewer or operator)",
        ));
    };
    let caller = Caller {
        user_id: user_id.to_owned(),
        grant,
    };
    if op.is_action() && !caller.can_act() {
        return Err(ApiError::new(
            403,
            "forbidden",
            "only operators may pause, resume, cancel or retry jobs",
        ));
    }
    Ok(caller)
}

/// A failed role lookup. Appwrite refusing this function's own key (401/403: a key without
/// `users.read` / `teams.read`, a key of another project) will not heal by retrying: 500
/// `appwrite_forbidden`, as the hooks answer it (docs/hooks.md § Errors). Anything else (5xx,
/// 429, timeouts, an unreachable endpoint) is an outage: 503 `roles_unavailable`. The body stays
/// neutral; the cause goes to the error log once, with the request id (`http::error`).
fn role_lookup_error(e: UpstreamError) -> ApiError {
    match e {
        UpstreamError::Refused {
            status: 401 | 403,
            ref message,
        } => ApiError::new(
            500,
            "appwrite_forbidden",
            "Appwrite refused this function's key (missing scope or wrong project)",
        )
        .with_cause(format!("role lookup: {message}")),
        other => ApiError::new(
            503,
            "roles_unavailable",
            "could not check the caller's role; retry shortly",
        )
        .with_cause(format!("role lookup failed: {other}")),
    }
}

/// A job id from the path; one that cannot be an id is as unknown as a missing one.
fn job_id_of(id: Option<&str>) -> Result<&str, ApiError> {
    match id {
        Some(id) if id::is_valid(id) => Ok(id),
        other => Err(ApiError {
            field: Some("jobId".into()),
            ..ApiError::new(
                404,
                "job_not_found",
                format!("job `{}` not found", other.unwrap_or_default()),
            )
        }),
    }
}

/// The optional `reason` of an action body: `{}` / empty body / `{"reason": "..."}`.
fn reason(ctx: &Context) -> Result<Option<String>, ApiError> {
    let body = ctx.req.body_binary();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("body", format!("the body is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ApiError::invalid("body", "the body must be a JSON object"));
    };
    if let Some(key) = map.keys().find(|k| k.as_str() != "reason") {
        return Err(ApiError::invalid(
            key.clone(),
            format!("unknown body field `{key}`; the only field is `reason`"),
        ));
    }
    match map.get("reason") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid("reason", "`reason` must be a string")),
    }
}

/// A cursor must name an existing job that can hold a place in the requested order; checked
/// here (one store read) because backends disagree on what a dangling cursor does.
fn check_cursor(store: &dyn JobStore, query: &JobQuery) -> Result<(), ApiError> {
    let Some(cursor) = &query.cursor else {
        return Ok(());
    };
    let bad = |why: &str| ApiError {
        code: "invalid_cursor",
        ..ApiError::invalid(
            "cursor",
            format!("cursor `{cursor}` {why}; restart from the first page"),
        )
    };
    match store.get(cursor) {
        Ok(job) if query.order == Order::Completed && job.completed_at.is_none() => {
            Err(bad("is not a finished job"))
        }
        Ok(_) => Ok(()),
        Err(StoreError::NotFound(_)) => Err(bad("names no job (deleted or never existed)")),
        Err(e) => Err(store_error(e)),
    }
}

fn store_error(e: StoreError) -> ApiError {
    usecase::Error::from(e).into()
}

fn export(
    store: &dyn JobStore,
    params: &Params,
    config: &Config,
    caller: &Caller,
    now: Timestamp,
) -> Result<Reply, ApiError> {
    let mut keys = FILTER_KEYS.to_vec();
    keys.push("format");
    params.check(&keys)?;
    let csv = match params.get("format") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("`{other}` is not one of csv, json"),
            ))
        }
    };
    let mut query = query::job_query(params, config.export_max_rows, config.export_max_rows)?;
    check_cursor(store, &query)?;
    let max = query.limit;
    let mut rows = Vec::new();
    let truncated = loop {
        query.limit = (max - rows.len()).min(MAX_PAGE);
        let page = store.list(&query).map_err(store_error)?;
        rows.extend(page.jobs.iter().map(|j| job_view(j, now, caller.can_act())));
        match page.next_cursor {
            Some(next) if rows.len() < max => query.cursor = Some(next),
            Some(_) => break true,
            None => break false,
        }
    };
    let stamp = now.format("%Y%m%dT%H%M%SZ");
    let (content_type, filename, body) = if csv {
        (
            "text/csv; charset=utf-8",
            format!("jobs-{stamp}.csv"),
            view::csv(&rows).into_bytes(),
        )
    } else {
        let body = serde_json::to_vec(&rows)
            .map_err(|_| ApiError::new(500, "internal", "internal error"))?;
        ("application/json", format!("jobs-{stamp}.json"), body)
    };
    Ok(Reply::Download {
        content_type,
        filename,
        body,
        truncated,
    })
}

/// The audit-log link for a job, from the configured template.
fn audit_url(config: &Config, job: &Job) -> Option<String> {
    let template = config.audit_log_url.as_ref()?;
    Some(
        template
            .replace("{jobId}", &shared::url::segment(&job.id))
            .replace("{referenceId}", &shared::url::segment(&job.reference_id)),
    )
}

/// Pause, resume, cancel or retry, audited, then the side effects: re-triggering the worker on
/// resume and retry, and mirroring the campaign row's status when configured.
#[allow(clippy::too_many_arguments)]
fn act(
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
    let mut details = Map::new();
    details.insert("roleSource".into(), caller.grant.source.clone().into());
    details.insert("via".into(), "job-actions".into());
    let event = match op {
        Op::Pause => Event::Pause,
        Op::Resume => Event::Resume,
        Op::Cancel => Event::Cancel,
        _ => {
            // The retried job as it ended (its run's unconfirmed claims go to the new worker
            // and decide the warning) and an earlier retry of it, in one read before anything
            // is written, so a failed read leaves nothing half done and a repeated retry costs
            // that read alone.
            let (retried, created) = usecase::retry_once(&act, job_id, reason, details)?;
            let unconfirmed = unconfirmed(&retried);
            let (status, trigger, campaign, job) = match created {
                Created::New(job) => {
                    let (trigger, job) = trigger(ctx, services, config, &act, job, &unconfirmed);
                    let campaign = mirror_campaign(ctx, services, config, &job, Op::Resume);
                    (201, trigger, campaign, job)
                }
                Created::Existing(job) => (
                    200,
                    json!({
                        "status": "skipped",
                        "message": format!("job `{job_id}` was already retried as `{}`", job.id),
                    }),
                    Value::Null,
                    job,
                ),
            };
            return Ok(Reply::Json(
                status,
                json!({
                    "job": job_view(&job, now, true),
                    "trigger": trigger,
                    "campaign": campaign,
                    "warning": retry_warning(&retried, &unconfirmed),
                }),
            ));
        }
    };
    let job = usecase::control_with(&act, job_id, event, reason, details)?;
    let (trigger, job) = if op == Op::Resume {
        trigger(ctx, services, config, &act, job, &[])
    } else {
        (Value::Null, job)
    };
    let campaign = mirror_campaign(ctx, services, config, &job, op);
    Ok(Reply::Json(
        200,
        json!({"job": job_view(&job, now, true), "trigger": trigger, "campaign": campaign}),
    ))
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
