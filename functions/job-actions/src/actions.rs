//! The routes themselves: authenticate, validate, call the store or a use case, shape the JSON.
//! Every input check happens before the first write, so a 4xx never leaves a trace in the store.

use openruntimes::Context;
use serde_json::{json, Value};
use shared::http::ApiError;
use shared::job::{Job, Timestamp};
use shared::platform::Platform;
use shared::store::{id, JobQuery, JobStore, Order, StoreError, DELTA_OVERLAP_SECONDS, MAX_PAGE};

use crate::auth::{self, Caller};
use crate::batch;
use crate::config::Config;
use crate::control::{act, reason_of, store_error};
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
        Op::Batch => {
            params.check(&[])?;
            batch::serve(ctx, platform, services, config, &caller)
        }
        Op::Schedules => {
            params.check(&[])?;
            crate::schedules::serve(ctx, platform, &caller, op, None, None)
        }
        Op::ScheduleRun | Op::ScheduleEnable | Op::ScheduleDisable => {
            params.check(&[])?;
            let reason = reason(ctx)?;
            crate::schedules::serve(ctx, platform, &caller, op, job_id, reason.as_deref())
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
            if op.is_schedule_action() {
                "only operators may run, enable or disable schedules"
            } else {
                "only operators may pause, resume, cancel or retry jobs"
            },
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
    reason_of(&map)
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
