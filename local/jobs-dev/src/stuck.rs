//! `demo-stuck-worker`: a worker that reports a CAMPAIGN_RUN job through the hooks, like the
//! orchestrator, and then hangs past its function timeout, as a worker killed by its timeout
//! (or a crash) would look from outside. Hosted only when the manifest lists it (the
//! end-to-end tests add it with a short `timeout`), so the observer's "a dead worker fails its
//! job at once" path runs for real: execution, timeout, webhook, observer, job.
//!
//! Body: `{"referenceId": "...", "hangMs": 5000}`.

use std::sync::Arc;
use std::time::Duration;

use openruntimes::{Context, Response};
use serde_json::{json, Value};
use shared::hooks::{ProgressRequest, StartRequest};
use shared::platform::Platform;
use shared::tracker::{AppwriteTransport, JobTracker};

/// Its function id (give it `execute: []` and a short `timeout` in the manifest).
pub const FUNCTION_ID: &str = "demo-stuck-worker";

/// Longest hang accepted, so a test's worker never outlives the test by much.
const MAX_HANG_MS: u64 = 60_000;

pub fn handle(context: Context, platform: &Platform) -> Response {
    let body: Value = serde_json::from_slice(&context.req.body_binary()).unwrap_or(Value::Null);
    let reference = body["referenceId"].as_str().unwrap_or("stuck").to_owned();
    let hang = body["hangMs"].as_u64().unwrap_or(5_000).min(MAX_HANG_MS);
    let execution_id = context.req.headers.get("x-appwrite-execution-id").cloned();
    let transport =
        match AppwriteTransport::from_context(&context, &platform.lookup, "hook-campaign-run") {
            Ok(t) => t,
            Err(e) => {
                return context
                    .res
                    .json(json!({"error": e.to_string()}), Some(500), None)
            }
        };
    let mut tracker = JobTracker::new(Arc::new(transport)).execution_id(execution_id);
    let reported = tracker
        .start(StartRequest {
            reference_id: reference,
            total: Some(100),
            ..StartRequest::default()
        })
        .and_then(|_| {
            tracker.progress(ProgressRequest {
                done: Some(10),
                ..ProgressRequest::default()
            })
        });
    if let Err(e) = reported {
        return context
            .res
            .json(json!({"error": e.to_string()}), Some(500), None);
    }
    // The worker "dies" here: its execution outlives the function timeout.
    std::thread::sleep(Duration::from_millis(hang));
    context.res.json(json!({"done": true}), Some(200), None)
}
