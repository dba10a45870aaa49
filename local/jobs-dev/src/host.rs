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
    /// `None` for a forwarded function, whose runtime is not ours to stop.
    server: Option<runtime_shim::ShutdownHandle>,
}

impl Hosted {
    pub fn stop(&self) {
        if let Some(server) = &self.server {
            server.shutdown();
        }
    }

    /// A function of `JOBS_DEV_FORWARD`: executed at its own address, without a secret.
    pub fn forwarded(forward: &crate::forward::Forward) -> Hosted {
        Hosted {
            spec: forward.spec(),
            addr: forward.addr,
            secret: String::new(),
            server: None,
        }
    }
}

/// `deploy.json`: the variables the deploy sets on each function (job-actions' roles). jobs-dev
/// sets the same, so its `execute` gate and job-actions disagree exactly when production would.
const DEPLOY_CONFIG: &str = include_str!("../../../deploy.json");

/// The variables `deploy.json` gives `function_id`.
fn deployed_variables(function_id: &str) -> Vec<(String, String)> {
    let parsed: serde_json::Value = match serde_json::from_str(DEPLOY_CONFIG) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("jobs-dev: deploy.json is not JSON ({e}); its variables are not set");
            return Vec::new();
        }
    };
    parsed["variables"][function_id]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// The variables a hosted function sees: what Appwrite injects, those of `deploy.json` (the
/// roles of job-actions), the demo worker ids, then any `JOBS_*` variable of the dev server's
/// own environment on top.
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
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(deployed_variables(function_id))
    .collect();
    if config.demo {
        // Resume re-triggers the worker of the job's type; locally that is a demo worker.
        for (job_type, worker) in crate::functions::DEMO_WORKERS {
            vars.insert(format!("JOBS_WORKER_{job_type}"), (*worker).to_owned());
        }
    }
    if function_id == job_observer::FUNCTION_ID {
        // The observer accepts what the local webhook signs (`crate::webhook`).
        if let Some(webhook) = crate::webhook::Webhook::from_config(config, endpoint) {
            vars.extend(webhook.observer_variables());
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
pub enum HostError {
    #[error("cannot host {function}: {source}")]
    Serve {
        function: String,
        source: runtime_shim::ServeError,
    },
    #[error("cannot host {function}: no secret for its runtime: {source}")]
    Secret {
        function: String,
        source: shared::random::Unavailable,
    },
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
        let secret = crate::config::random_key().map_err(|source| HostError::Secret {
            function: spec.id.clone(),
            source,
        })?;
        let shim = runtime_shim::Config {
            listen_addr: [127, 0, 0, 1].into(),
            port: 0,
            logs_dir: logs_dir.to_owned(),
            telemetry_dir: logs_dir.to_owned(),
            secret: secret.clone(),
            development: false,
            enforced_headers: Vec::new(),
            shutdown_timeout: Duration::from_secs(5),
            max_handlers: runtime_shim::config::DEFAULT_MAX_HANDLERS,
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
        .map_err(|source| HostError::Serve {
            function: spec.id.clone(),
            source,
        })?;
        hosted.insert(
            spec.id.clone(),
            Arc::new(Hosted {
                spec: spec.clone(),
                addr: server.local_addr(),
                secret,
                server: Some(server.shutdown_handle()),
            }),
        );
    }
    Ok(hosted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_actions_gets_the_roles_deploy_json_gives_it() {
        let config = DevConfig::from_lookup(|_| None).unwrap();
        let actions = variables(&config, "job-actions", "http://127.0.0.1:1/v1");
        let deployed = deployed_variables("job-actions");
        assert!(
            deployed.iter().any(|(k, _)| k == "JOBS_OPERATOR_TEAMS"),
            "{deployed:?}"
        );
        for (k, v) in deployed {
            assert_eq!(actions.get(&k), Some(&v), "{k}");
        }
    }
}
