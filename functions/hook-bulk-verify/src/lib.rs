//! The BULK_VERIFY hook, called by bulk-verify-leads through Appwrite's executions API: a thin adapter over
//! the protocol in `shared::hooks` (see `docs/hooks.md`). One job per verification batch, with valid / invalid / risky / unknown counts as its result.

use openruntimes::{Context, Response};
use shared::hooks::{self, Hook};
use shared::job::JobType;
use shared::platform::Platform;

/// This function: its job type is fixed here, never taken from a request body.
pub const HOOK: Hook = Hook {
    job_type: JobType::BulkVerify,
    function_id: JobType::BulkVerify.hook_function(),
};

/// The Appwrite entry point: builds this execution's platform, then handles the request.
pub fn main(context: Context) -> Response {
    hooks::main(&HOOK, context)
}

/// The handler on an injected platform (the local dev server and tests use SQLite).
pub fn handle(context: Context, platform: &Platform) -> Response {
    hooks::handle(&HOOK, context, platform)
}
