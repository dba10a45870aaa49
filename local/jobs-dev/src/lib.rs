//! Job Manager on a laptop: one process hosting every function of `appwrite.json` through the
//! open-runtimes shim on the embedded SQLite store, Appwrite's executions endpoint in front of
//! them, the scheduler for CRON functions, the dashboard, and optional demo workers.
//!
//! [`start`] is what the `jobs-dev` binary and the end-to-end tests call; see `docs/local.md`.

pub mod account;
pub mod config;
pub mod cron;
pub mod dashboard;
pub mod demo;
pub mod domain;
pub mod forward;
pub mod functions;
pub mod gateway;
pub mod host;
pub mod keys;
pub mod manifest;
pub mod messaging;
pub mod realtime;
pub mod standalone;
pub mod stuck;
pub mod webhook;
pub mod wire;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::{DevConfig, Role};
use gateway::Gateway;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the job store: {0}")]
    Store(String),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Host(#[from] host::HostError),
}

/// Locks `mutex`, taking over a poisoned one: what this crate guards (maps, queues and counters
/// of the dev server) stays usable after a holder panicked, and one failed request must not
/// fail every later one. The crate's one lock helper.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running dev server.
pub struct Dev {
    pub addr: SocketAddr,
    pub config: DevConfig,
    /// The function ids hosted, with their schedules.
    pub functions: Vec<(String, String)>,
    stop: watch::Sender<bool>,
    gateway: Arc<Gateway>,
    demo: Option<demo::Demo>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Dev {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops demo workers, the scheduler, the HTTP front and every hosted function.
    pub async fn stop(self) {
        if let Some(demo) = &self.demo {
            demo.stop();
        }
        self.stop.send_replace(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
        }
        for hosted in self.gateway.hosted() {
            hosted.stop();
        }
    }
}

/// What the hosted functions run on instead of the defaults (the embedded SQLite store, the
/// system clock, the CRON scheduler). The cost benchmark puts them on the fake Appwrite with a
/// store per execution, as deployed, on a simulated clock, and drives the schedules itself.
#[derive(Clone, Default)]
pub struct Backend {
    pub store: Option<host::StoreFactory>,
    pub clock: Option<host::Clock>,
    pub no_schedules: bool,
}

/// Opens the store, hosts the functions, binds the front and starts the scheduler (and the demo
/// workers when configured). Returns once everything accepts requests.
pub async fn start(config: DevConfig) -> Result<Dev, StartError> {
    start_on(config, Backend::default()).await
}

/// [`start`] on another [`Backend`].
pub async fn start_on(config: DevConfig, backend: Backend) -> Result<Dev, StartError> {
    let data = &config.data_dir;
    let logs_dir = data.join("logs");
    std::fs::create_dir_all(&logs_dir).map_err(|source| StartError::DataDir {
        path: logs_dir.display().to_string(),
        source,
    })?;
    let store: host::StoreFactory = match backend.store {
        Some(factory) => factory,
        None => {
            let store = sqlite_store::SqliteStore::open(data.join("jobs.sqlite"))
                .map_err(|e| StartError::Store(e.to_string()))?;
            let store: Arc<dyn shared::store::JobStore> = Arc::new(store);
            Arc::new(move || store.clone())
        }
    };
    let clock: host::Clock = backend.clock.unwrap_or_else(|| Arc::new(chrono::Utc::now));
    let specs = manifest::load(&config.manifest)?;

    let addr = SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;
    // Functions call back into this server (re-triggering workers, looking up users), by
    // loopback even when the front listens on every interface.
    let endpoint = format!("http://127.0.0.1:{}/v1", addr.port());

    // Every function writes through a store that publishes row changes to the Realtime hub
    // and counts its calls, so tests and benchmarks can say what a dashboard tab costs.
    let tables = manifest::load_tables(&config.manifest)?;
    let database = tables
        .first()
        .map_or_else(|| "jobmanager".to_owned(), |t| t.database_id.clone());
    let readers = tables
        .iter()
        .map(|t| (t.id.clone(), t.read_roles()))
        .collect();
    let hub = Arc::new(realtime::Hub::new(&config.project, &database, readers));
    let counters = Arc::new(realtime::StoreCounters::default());
    let wrap = |function: &str| -> host::StoreFactory {
        let (store, hub, counters) = (store.clone(), hub.clone(), counters.clone());
        let function = function.to_owned();
        Arc::new(move || -> Arc<dyn shared::store::JobStore> {
            Arc::new(realtime::NotifyingStore::new(
                store(),
                hub.clone(),
                counters.clone(),
                &function,
            ))
        })
    };
    let mut hosted = host::start(
        &config,
        &specs,
        &functions::linked(),
        &wrap,
        clock,
        &endpoint,
        &logs_dir,
    )
    .await?;
    for forward in &config.forward {
        hosted.insert(
            forward.function_id.clone(),
            Arc::new(host::Hosted::forwarded(forward)),
        );
    }
    let gateway = Arc::new(Gateway::new(config.clone(), hosted, logs_dir));
    if let Some(webhook) = webhook::Webhook::from_config(&config, &endpoint) {
        gateway.set_webhook(webhook);
    }
    gateway.attach_realtime(hub, counters);
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(accept(
        listener,
        gateway.clone(),
        stop_rx.clone(),
    ))];
    if !backend.no_schedules {
        tasks.extend(cron::spawn(gateway.clone(), stop_rx));
    }
    let demo = config.demo.then(|| {
        let demo = demo::Demo::new(&endpoint, &config.project, &config.key);
        demo.start(&gateway);
        demo.start_schedules(gateway.clone());
        demo
    });
    let mut functions: Vec<(String, String)> = gateway
        .hosted()
        .map(|h| (h.spec.id.clone(), h.spec.schedule.clone()))
        .collect();
    functions.sort();
    Ok(Dev {
        addr,
        config,
        functions,
        stop,
        gateway,
        demo,
        tasks,
    })
}

async fn accept(listener: TcpListener, gateway: Arc<Gateway>, mut stop: watch::Receiver<bool>) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(_) => continue,
            },
            _ = stop.wait_for(|s| *s) => return,
        };
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let gateway = gateway.clone();
                async move {
                    Ok::<_, Infallible>(gateway.route(req).await.unwrap_or_else(|e| match e {}))
                }
            });
            // Upgrades: `/v1/realtime` is a WebSocket.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}
