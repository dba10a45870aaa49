//! The CAMPAIGN_RUN hook, called by the orchestrator through Appwrite's executions API: a thin adapter over
//! the protocol in `shared::hooks` (see `docs/hooks.md`). The job mirrors one campaign run; a `pause` answer stops the current execution and a resume re-triggers the orchestrator with the job id, which picks up from the saved checkpoint.

use openruntimes::{Context, Response};
use shared::hooks::{self, Hook};
use shared::job::JobType;
use shared::platform::Platform;

/// This function: its job type is fixed here, never taken from a request body.
pub const HOOK: Hook = Hook {
    job_type: JobType::CampaignRun,
    function_id: JobType::CampaignRun.hook_function(),
};

/// The Appwrite entry point: builds this execution's platform, then handles the request.
pub fn main(context: Context) -> Response {
    hooks::main(&HOOK, context)
}

/// The handler on an injected platform (the local dev server and tests use SQLite).
pub fn handle(context: Context, platform: &Platform) -> Response {
    hooks::handle(&HOOK, context, platform)
}
