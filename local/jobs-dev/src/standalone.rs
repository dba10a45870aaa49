//! One function as its own open-runtimes server, for self-hosted custom runtimes and for
//! trying a function alone. With Appwrite's variables present (`APPWRITE_FUNCTION_API_ENDPOINT`)
//! it serves the deployed entry point, which builds an Appwrite store from each request's key;
//! otherwise it serves the same handler on the embedded SQLite store at `JOBS_SQLITE_PATH`
//! (default `.data/jobs.sqlite`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use openruntimes::{Context, Response};
use shared::platform::{env_lookup, Platform};
use sqlite_store::SqliteStore;

use crate::functions::Handle;

/// Serves `deployed` (Appwrite) or `handle` on SQLite through the shim until SIGTERM/SIGINT.
pub fn serve(deployed: fn(Context) -> Response, handle: Handle) -> ExitCode {
    if std::env::var_os("APPWRITE_FUNCTION_API_ENDPOINT").is_some() {
        return runtime_shim::serve(deployed);
    }
    let path = std::env::var_os("JOBS_SQLITE_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".data/jobs.sqlite"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("cannot create {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    let store = match SqliteStore::open(&path) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("cannot open the job store {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let platform = Platform::new(Arc::new(store), env_lookup());
    runtime_shim::serve(move |context| handle(context, &platform))
}
