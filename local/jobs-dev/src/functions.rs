//! The function crates this binary links, by Appwrite function id. Each exposes
//! `handle(Context, &Platform) -> Response`, the same entry its deployed `main` calls after
//! building an Appwrite platform; here it gets the embedded SQLite store instead.

use openruntimes::{Context, Response};
use shared::platform::Platform;

/// A function's handler on an injected platform.
pub type Handle = fn(Context, &Platform) -> Response;

/// Every function this binary can host; `appwrite.json` decides which ones run and how.
pub fn linked() -> Vec<(&'static str, Handle)> {
    vec![
        ("hook-campaign-run", hook_campaign_run::handle),
        ("hook-bulk-verify", hook_bulk_verify::handle),
        ("hook-sqs-poll", hook_sqs_poll::handle),
        ("hook-metrics-fetch", hook_metrics_fetch::handle),
        ("job-actions", job_actions::handle),
        ("job-retention", job_retention::handle),
    ]
}

/// The demo worker function re-triggered on resume/retry, per job type (`JOBS_WORKER_<TYPE>`
/// when the demo runs). The demo registers them; the host sets the variables.
pub const DEMO_WORKERS: &[(&str, &str)] = &[
    ("CAMPAIGN_RUN", "demo-worker-campaign-run"),
    ("BULK_VERIFY", "demo-worker-bulk-verify"),
    ("SQS_POLL", "demo-worker-sqs-poll"),
    ("METRICS_FETCH", "demo-worker-metrics-fetch"),
];
