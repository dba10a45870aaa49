//! The scheduled retention and stall sweeper: a thin adapter over `shared::retention`. Each run
//! marks stalled jobs FAILED, prunes finished jobs beyond the newest N in bounded batches
//! within a time budget, and answers (and logs) `{deleted, markedStalled, remainingBacklog,
//! durationMs}`. Configuration and defaults: `docs/retention.md`.

use openruntimes::{Context, Response};
use serde_json::json;
use shared::http::{self, ApiError};
use shared::platform::{self, Platform};
use shared::retention::{self, RetentionConfig};

/// The Appwrite entry point: builds this execution's platform, then sweeps.
pub fn main(context: Context) -> Response {
    match platform::appwrite_platform(&context) {
        Ok(platform) => handle(context, &platform),
        Err(err) => http::error(&context, &err),
    }
}

/// One sweep on an injected platform (the local dev server and tests use SQLite).
pub fn handle(context: Context, platform: &Platform) -> Response {
    match sweep(&context, platform) {
        Ok(report) => http::json(&context, 200, &report),
        Err(err) => http::error(&context, &err),
    }
}

fn sweep(context: &Context, platform: &Platform) -> Result<retention::Report, ApiError> {
    // Scheduled runs, plus manual runs by a server (API key or another function); never users.
    shared::hooks::require_server_caller(context, &["schedule", "http"])?;
    // Read before any store call, so a bad variable deletes nothing.
    let config = RetentionConfig::from_lookup(|name| platform.var(name)).map_err(|e| {
        ApiError::new(500, "invalid_config", e.to_string()).with_extra(json!({
            "variables": e.variables()
        }))
    })?;
    let clock = || platform.now();
    let report = retention::sweep(&*platform.store, &config, &clock).map_err(ApiError::from)?;
    context.log(json!({"retention": report}));
    Ok(report)
}
