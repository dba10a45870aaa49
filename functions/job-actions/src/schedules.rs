//! The Schedules routes (docs/schedules.md): `GET /v1/schedules` lists every scheduled function
//! of the project with its health, `POST /v1/schedules/{functionId}/run|enable|disable` act on
//! one, audited. Reached after the same trigger, user and role checks as the job routes (a
//! viewer reads, an operator acts); the rules and the Appwrite calls are `shared::schedules`',
//! made with this execution's key (scopes `functions.read`, `functions.write`,
//! `executions.read`, `executions.write`, `rows.read`, `rows.write`).

use openruntimes::Context;
use serde_json::json;
use shared::appwrite::{AppwriteClient, AppwriteConfig, AppwriteError};
use shared::http::ApiError;
use shared::job::actor_user;
use shared::platform::Platform;
use shared::schedules::{self, OpError, Rules};

use crate::auth::Caller;
use crate::routes::Op;
use crate::Reply;

/// Serves one Schedules route for an authenticated `caller` (operators only for the actions,
/// checked before). `reason` is the action body's, already validated.
pub fn serve(
    ctx: &Context,
    platform: &Platform,
    caller: &Caller,
    op: Op,
    function_id: Option<&str>,
    reason: Option<&str>,
) -> Result<Reply, ApiError> {
    let now = platform.now();
    let rules = Rules::from_lookup(|k| platform.var(k)).map_err(|e| {
        ApiError::new(500, "misconfigured", "the function is misconfigured")
            .with_cause(e.to_string())
    })?;
    let client = AppwriteConfig::from_context(ctx, &platform.lookup)
        .map(AppwriteClient::new)
        .map_err(|e| {
            ApiError::new(
                503,
                "misconfigured",
                "Appwrite is not reachable from this execution",
            )
            .with_cause(e.to_string())
        })?;
    let actor = actor_user(&caller.user_id);
    match op {
        Op::Schedules => {
            let board = schedules::list(&client, &rules, now).map_err(appwrite_error)?;
            Ok(Reply::Json(200, board.view()))
        }
        Op::ScheduleRun => {
            let id = function_id_of(function_id)?;
            let (execution_id, status) =
                schedules::run_now(&client, id, &actor, reason, now).map_err(op_error)?;
            Ok(Reply::Json(
                202,
                json!({"functionId": id, "executionId": execution_id, "status": status}),
            ))
        }
        Op::ScheduleEnable | Op::ScheduleDisable => {
            let id = function_id_of(function_id)?;
            let enabled = op == Op::ScheduleEnable;
            let (schedule, audit) =
                schedules::set_enabled(&client, id, enabled, &actor, reason, &rules, now)
                    .map_err(op_error)?;
            Ok(Reply::Json(200, schedule.view(&audit)))
        }
        _ => Err(ApiError::new(500, "internal", "internal error")),
    }
}

/// A function id from the path; one that cannot be an Appwrite id names no function.
fn function_id_of(id: Option<&str>) -> Result<&str, ApiError> {
    match id {
        Some(id) if shared::store::id::is_valid(id) => Ok(id),
        other => Err(not_found(other.unwrap_or_default())),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError {
        field: Some("functionId".into()),
        ..ApiError::new(
            404,
            "schedule_not_found",
            format!("no scheduled function `{id}`"),
        )
    }
}

fn op_error(e: OpError) -> ApiError {
    match e {
        OpError::NotFound(id) => not_found(&id),
        OpError::Appwrite(e) => appwrite_error(e),
    }
}

/// Appwrite refusing this function's key (401/403: a scope missing from `appwrite.json`) will
/// not heal by retrying: 500 `appwrite_forbidden`, as the role lookup answers it. Anything else
/// is an outage: 503 `schedules_unavailable`. The body stays neutral; the cause is logged once.
fn appwrite_error(e: AppwriteError) -> ApiError {
    match e.status() {
        Some(401 | 403) => ApiError::new(
            500,
            "appwrite_forbidden",
            "Appwrite refused this function's key (missing scope or wrong project)",
        ),
        _ => ApiError::new(
            503,
            "schedules_unavailable",
            "could not read or change the schedules; retry shortly",
        ),
    }
    .with_cause(format!("schedules: {e}"))
}
