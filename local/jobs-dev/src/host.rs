//! Hosts each function of `appwrite.json` in-process behind its own open-runtimes shim
//! (`runtime_shim::Server` on a loopback port), exactly as Appwrite's executor runs it: the gateway
//! speaks the open-runtimes protocol to it (secret, timeout, logging headers), so the function
//! code, its headers and its answers are the deployed ones. Only the platform differs: the
//! embedded store (or, for the cost benchmark, a store per execution on another backend) and the
//! dev server as `APPWRITE_FUNCTION_API_ENDPOINT`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use shared::platform::Platform;
use shared::store::JobStore;

use crate::config::DevConfig;
use crate::functions::Handle;
use crate::manifest::FunctionSpec;

/// Builds the store one execution uses. Locally that is the one embedded store; on Appwrite it
/// is a new `AppwriteStore` per execution (its key is the request's), which benchmarks mimic.
pub type StoreFactory = Arc<dyn Fn() -> Arc<dyn JobStore> + Send + Sync>;

/// The clock the handlers read (`Platform::clock`): the system's, or a simulated one.
pub type Clock = Arc<dyn Fn() -> shared::job::Timestamp + Send + Sync>;

/// One hosted function: where its shim listens and what `appwrite.json` says about it.
pub struct Hosted {
    pub spec: FunctionSpec,
    pub addr: SocketAddr,
    pub secret: String,
    server: runtime_shim::ShutdownHandle,
}

impl Hosted {
    pub fn stop(&self) {
        self.server.shutdown();
    }
}

/// The variables a hosted function sees: what Appwrite injects, the dev roles and worker ids
/// for job-actions, then any `JOBS_*` variable of the dev server's own environment on top.
pub fn variables(config: &DevConfig, function_id: &str, endpoint: &str) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("APPWRITE_FUNCTION_API_ENDPOINT", endpoint.to_owned()),
        ("APPWRITE_FUNCTION_ID", function_id.to_owned()),
        ("APPWRITE_FUNCTION_NAME", function_id.to_owned()),
        ("APPWRITE_FUNCTION_PROJECT_ID", config.project.clone()),
        ("APPWRITE_FUNCTION_DEPLOYMENT", "local".to_owned()),
        ("APPWRITE_FUNCTION_RUNTIME_NAME", "Rust".to_owned()),
        ("APPWRITE_FUNCTION_RUNTIME_VERSION", "1.83".to_owned()),
        ("APPWRITE_VERSION", "local".to_owned()),
        ("JOBS_OPERATOR_LABELS", "jobs-operator".to_owned()),
        ("JOBS_VIEWER_LABELS", "jobs-viewer".to_owned()),
        ("JOBS_OPERATOR_TEAMS", "jobs-operators".to_owned()),
        ("JOBS_VIEWER_TEAMS", "jobs-viewers".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if config.demo {
        // Resume re-triggers the worker of the job's type; locally that is a demo worker.
        for (job_type, worker) in crate::functions::DEMO_WORKERS {
            vars.insert(format!("JOBS_WORKER_{job_type}"), (*worker).to_owned());
        }
    }
    for (k, v) in std::env::vars() {
        if k.starts_with("JOBS_") && !k.starts_with("JOBS_DEV_") {
            vars.insert(k, v);
        }
    }
    vars
}

#[derive(Debug, thiserror::Error)]
#[error("cannot host {function}: {source}")]
pub struct HostError {
    function: String,
    source: runtime_shim::ServeError,
}

/// Starts one shim per function that is both in `appwrite.json` and linked into this binary;
/// `store(function_id)` gives each function its view of the store.
pub async fn start(
    config: &DevConfig,
    specs: &[FunctionSpec],
    linked: &[(&'static str, Handle)],
    store: &dyn Fn(&str) -> StoreFactory,
    clock: Clock,
    endpoint: &str,
    logs_dir: &Path,
) -> Result<HashMap<String, Arc<Hosted>>, HostError> {
    let mut hosted = HashMap::new();
    for spec in specs {
        let Some((_, handle)) = linked.iter().find(|(id, _)| *id == spec.id) else {
            eprintln!(
                "jobs-dev: {} is in appwrite.json but not linked into this binary; skipped",
                spec.id
            );
            continue;
        };
        let vars = variables(config, &spec.id, endpoint);
        let lookup: shared::platform::Lookup = Arc::new(move |name: &str| vars.get(name).cloned());
        let (store, clock) = (store(&spec.id), clock.clone());
        let secret = crate::config::random_key();
        let shim = runtime_shim::Config {
            listen_addr: [127, 0, 0, 1].into(),
            port: 0,
            logs_dir: logs_dir.to_owned(),
            telemetry_dir: logs_dir.to_owned(),
            secret: secret.clone(),
            development: false,
            enforced_headers: Vec::new(),
            shutdown_timeout: Duration::from_secs(5),
        };
        let handle = *handle;
        let server = runtime_shim::Server::bind(shim, move |ctx| {
            let platform = Platform {
                store: store(),
                lookup: lookup.clone(),
                clock: clock.clone(),
            };
            handle(ctx, &platform)
        })
        .await
        .map_err(|source| HostError {
            function: spec.id.clone(),
            source,
        })?;
        hosted.insert(
            spec.id.clone(),
            Arc::new(Hosted {
                spec: spec.clone(),
                addr: server.local_addr(),
                secret,
                server: server.shutdown_handle(),
            }),
        );
    }
    Ok(hosted)
}
