//! The SQS_POLL hook, called by sqs-poller through Appwrite's executions API: a thin adapter over
//! the protocol in `shared::hooks` (see `docs/hooks.md`). One long-lived polling job per poller: each scheduled run starts (picking up the active job or replacing a finished one) and heartbeats; a `pause` answer tells the poller to skip polling.

use openruntimes::{Context, Response};
use shared::hooks::{self, Hook};
use shared::job::JobType;
use shared::platform::Platform;

/// This function: its job type is fixed here, never taken from a request body.
pub const HOOK: Hook = Hook {
    job_type: JobType::SqsPoll,
    function_id: JobType::SqsPoll.hook_function(),
};

/// The Appwrite entry point: builds this execution's platform, then handles the request.
pub fn main(context: Context) -> Response {
    hooks::main(&HOOK, context)
}

/// The handler on an injected platform (the local dev server and tests use SQLite).
pub fn handle(context: Context, platform: &Platform) -> Response {
    hooks::handle(&HOOK, context, platform)
}
