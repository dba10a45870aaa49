//! The execution observer: the target of a project webhook on the execution events of the
//! observed functions (`docs/observer.md`). It verifies Appwrite's signature before reading
//! anything, refuses stale events, then applies the event through `shared::observer`: a worker
//! whose execution died fails its job at once; an un-adopted function's execution is mirrored
//! as a job. Answers fast: one event costs a read and at most one write.
//!
//! `execute` is `["any"]` in `appwrite.json` because Appwrite lets a function's domain receive
//! a request only then (appwrite 1.9.6 `app/controllers/general.php`): the signature is the gate.

pub mod signature;

use openruntimes::{Context, Response};
use serde_json::json;
use shared::http::{self, ApiError};
use shared::job::actor_function;
use shared::observer::{self, Execution, ObserverConfig};
use shared::platform::{self, Platform};
use shared::usecase::Act;

/// This function's id: the actor of the entries it writes.
pub const FUNCTION_ID: &str = "job-observer";

/// The Appwrite entry point: builds this execution's platform, then handles the delivery.
pub fn main(context: Context) -> Response {
    match platform::appwrite_platform(&context) {
        Ok(platform) => handle(context, &platform),
        Err(err) => http::error(&context, &err),
    }
}

/// One webhook delivery on an injected platform (the local dev server and tests use SQLite).
pub fn handle(context: Context, platform: &Platform) -> Response {
    match observe(&context, platform) {
        Ok(outcome) => http::json(&context, 200, &outcome),
        Err(err) => http::error(&context, &err),
    }
}

fn observe(ctx: &Context, platform: &Platform) -> Result<observer::Outcome, ApiError> {
    if !ctx.req.method.eq_ignore_ascii_case("POST") {
        return Err(ApiError::new(
            405,
            "method_not_allowed",
            format!("the observer accepts POST, not `{}`", ctx.req.method),
        ));
    }
    let config = ObserverConfig::from_lookup(|name| platform.var(name)).map_err(|e| {
        ApiError::new(500, "invalid_config", e.to_string())
            .with_extra(json!({"variables": e.variables()}))
    })?;
    let body = ctx.req.body_binary();
    let signed = ctx
        .req
        .headers
        .get(signature::HEADER)
        .is_some_and(|sig| signature::verify(&config.url, &body, &config.secret, sig));
    if !signed {
        // Nothing about the request is read or written before this point.
        return Err(unauthorized(
            "invalid_signature",
            "missing or invalid X-Appwrite-Webhook-Signature",
        ));
    }
    let execution = Execution::parse(&body)?;
    let now = platform.now();
    if execution.is_stale(now, config.max_age) {
        return Err(unauthorized(
            "stale_event",
            format!(
                "the event is older than {} s ({})",
                config.max_age.num_seconds(),
                observer::MAX_AGE_VAR
            ),
        ));
    }
    let observed = observer::observed(|name| platform.var(name), &execution.function_id)?;
    let act = Act::new(&*platform.store, actor_function(FUNCTION_ID), now);
    let outcome = observer::observe(&act, observed, &execution).map_err(ApiError::from)?;
    ctx.log(json!({
        "execution": execution.id, "function": execution.function_id,
        "status": execution.status.as_str(), "outcome": outcome,
    }));
    Ok(outcome)
}

fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        field: Some("x-appwrite-webhook-signature".into()),
        ..ApiError::new(401, code, message)
    }
}
