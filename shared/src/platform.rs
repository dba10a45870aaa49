//! What a function needs from the place it runs: a job store, configuration and a clock.
//! On Appwrite the store is built per execution from the request's key; locally the same
//! handlers get the embedded store. Handlers never read the process environment directly.

use std::sync::Arc;

use crate::job::Timestamp;
use crate::store::JobStore;

/// Looks up a configuration variable by name.
pub use crate::config::Lookup;

/// Everything a handler depends on, injected.
#[derive(Clone)]
pub struct Platform {
    pub store: Arc<dyn JobStore>,
    pub lookup: Lookup,
    pub clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
}

impl Platform {
    pub fn new(store: Arc<dyn JobStore>, lookup: Lookup) -> Self {
        Platform {
            store,
            lookup,
            clock: Arc::new(chrono::Utc::now),
        }
    }

    pub fn var(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn now(&self) -> Timestamp {
        crate::job::millis((self.clock)())
    }
}

/// The process environment as a [`Lookup`].
pub fn env_lookup() -> Lookup {
    Arc::new(|name| std::env::var(name).ok())
}

/// The production platform for one execution: the Appwrite store built from the request's
/// `x-appwrite-key` and the function's environment. A missing or invalid variable is a 500
/// naming it (never its value).
pub fn appwrite_platform(
    context: &openruntimes::Context,
) -> Result<Platform, crate::http::ApiError> {
    let lookup = env_lookup();
    let store = crate::store::appwrite::AppwriteStore::from_context(context, &lookup)
        .map_err(|e| crate::http::ApiError::new(500, "invalid_config", e.to_string()))?;
    Ok(Platform::new(Arc::new(store), lookup))
}
