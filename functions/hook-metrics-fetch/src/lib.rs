//! The METRICS_FETCH hook, called by fetch-aws-metrics through Appwrite's executions API: a thin adapter over
//! the protocol in `shared::hooks` (see `docs/hooks.md`). A short job per run, completed with quota and sending statistics or failed with the error.

use openruntimes::{Context, Response};
use shared::hooks::{self, Hook};
use shared::job::JobType;
use shared::platform::Platform;

/// This function: its job type is fixed here, never taken from a request body.
pub const HOOK: Hook = Hook {
    job_type: JobType::MetricsFetch,
    function_id: JobType::MetricsFetch.hook_function(),
};

/// The Appwrite entry point: builds this execution's platform, then handles the request.
pub fn main(context: Context) -> Response {
    hooks::main(&HOOK, context)
}

/// The handler on an injected platform (the local dev server and tests use SQLite).
pub fn handle(context: Context, platform: &Platform) -> Response {
    hooks::handle(&HOOK, context, platform)
}
