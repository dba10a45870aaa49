//! Owns the HTTP server: the accept loop, one hyper HTTP/1.1 connection per task, the
//! per-request sequence of the protocol (system routes → logger → timeout → secret → headers
//! → URL → body → handler → response, the official order), and graceful shutdown.
//!
//! The handler and everything that does synchronous IO (native capture, log files) run on
//! the handler pool (`pool.rs`), so async workers only parse and write HTTP. That is why logging
//! costs us little while the official runtime, which creates its log files on the worker
//! threads, drops to ~1.5k req/s with logging on.

use crate::capture::{self, Session};
use crate::config::Config;
use crate::lock;
use crate::logs::{LogSink, LogsDirError};
use crate::pool::Pool;
use crate::protocol::{self, MAX_BODY_BYTES};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use openruntimes::{Context, Logger, LoggerType};
use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

/// A type-erased handler with the official signature, shareable across servers.
pub type Handler = Arc<dyn Fn(Context) -> openruntimes::Response + Send + Sync + 'static>;

/// The line the open-runtimes lifecycle scripts wait for.
pub const STARTUP_LINE: &str = "HTTP server successfully started!";

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    LogsDir(#[from] LogsDirError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Reads the environment, serves `handler` until SIGTERM/SIGINT, then finishes in-flight
/// requests. Made for two-line binaries: `fn main() -> ExitCode { runtime_shim::serve(f) }`.
pub fn serve<H>(handler: H) -> ExitCode
where
    H: Fn(Context) -> openruntimes::Response + Send + Sync + 'static,
{
    serve_handler(Arc::new(handler))
}

/// [`serve`] for an already type-erased handler.
pub fn serve_handler(handler: Handler) -> ExitCode {
    match run_until_signal(handler) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run_until_signal(handler: Handler) -> Result<(), ServeError> {
    let config = Config::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let result = runtime.block_on(async {
        let server = Server::bind_handler(config, handler).await?;
        println!("{STARTUP_LINE}");
        println!("Listening on http://{}", server.local_addr());
        shutdown_signal().await;
        server.shutdown().await;
        Ok(())
    });
    // A handler stuck past the shutdown timeout must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// Resolves on SIGTERM (what Appwrite's executor and process managers send) or Ctrl-C.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// A running server inside the caller's tokio runtime.
pub struct Server {
    local_addr: SocketAddr,
    stop: ShutdownHandle,
    stopped: watch::Receiver<bool>,
}

/// Asks a server to stop accepting and finish its in-flight requests. Cheap to clone.
#[derive(Clone)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }
}

impl Server {
    /// Binds `config.listen_addr:config.port` (port 0 picks a free one) and starts serving on
    /// the current tokio runtime. Does not print the startup line; [`serve`] does.
    pub async fn bind<H>(config: Config, handler: H) -> Result<Server, ServeError>
    where
        H: Fn(Context) -> openruntimes::Response + Send + Sync + 'static,
    {
        Server::bind_handler(config, Arc::new(handler)).await
    }

    /// [`Server::bind`] for an already type-erased handler.
    pub async fn bind_handler(config: Config, handler: Handler) -> Result<Server, ServeError> {
        // Checked here too, for configurations built without `from_lookup`.
        if let Some(problem) = config.exposure_problem() {
            return Err(crate::config::ConfigError(vec![problem]).into());
        }
        install_panic_hook();
        let logs = LogSink::new(&config.logs_dir)?;
        let addr = SocketAddr::new(config.listen_addr, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { addr, source })?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let (stopped_tx, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            handler,
            logs,
            timings_path: config.telemetry_dir.join("timings.txt"),
            config,
            pool: Pool::new("opr-handler"),
        });
        tokio::spawn(async move {
            accept_loop(listener, shared, stop_rx).await;
            let _ = stopped_tx.send(true);
        });
        Ok(Server {
            local_addr,
            stop: ShutdownHandle(Arc::new(stop_tx)),
            stopped,
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.stop.clone()
    }

    /// Stops accepting, lets in-flight requests finish (bounded by the configured shutdown
    /// timeout), and returns when the server is down.
    pub async fn shutdown(self) {
        self.stop.shutdown();
        self.stopped().await;
    }

    /// Waits until the server has stopped (after a [`ShutdownHandle::shutdown`]).
    pub async fn stopped(mut self) {
        let _ = self.stopped.wait_for(|done| *done).await;
    }
}

struct Shared {
    handler: Handler,
    config: Config,
    logs: LogSink,
    timings_path: PathBuf,
    pool: Pool,
}

/// Counts open connections so shutdown can wait for them.
#[derive(Default)]
struct Connections {
    open: AtomicUsize,
    idle: Notify,
}

struct ConnectionGuard(Arc<Connections>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let connections = Arc::new(Connections::default());
    loop {
        let stream = tokio::select! {
            _ = stop_requested(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Running out of fds must not end the server; back off and retry.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        connections.open.fetch_add(1, Ordering::SeqCst);
        let guard = ConnectionGuard(Arc::clone(&connections));
        let shared = Arc::clone(&shared);
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _guard = guard;
            let service = service_fn(move |req| handle(req, Arc::clone(&shared)));
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop_requested(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    let grace = shared.config.shutdown_timeout;
    let drained = async {
        loop {
            let idle = connections.idle.notified();
            if connections.open.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    };
    let _ = tokio::time::timeout(grace, drained).await;
}

/// Resolves once shutdown was asked for (or every handle was dropped).
async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    // An error means every handle was dropped: nobody can ask anymore, so stop too.
    let _ = stop.wait_for(|s| *s).await;
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    match parts.uri.path() {
        "/__opr/health" => return Ok(health()),
        "/__opr/timings" => return Ok(timings(&shared).await),
        _ => {}
    }
    let headers = &parts.headers;
    let header_str = |name: &str| headers.get(name).map(|v| v.to_str().ok());

    let logging = header_str("x-open-runtimes-logging")
        .flatten()
        .unwrap_or("")
        .to_owned();
    let timeout = match header_str("x-open-runtimes-timeout") {
        Some(None) => return Ok(protocol::plain(500, protocol::INVALID_TIMEOUT)),
        Some(Some(v)) => protocol::parse_timeout(Some(v)),
        None => Ok(None),
    };
    let Ok(timeout) = timeout else {
        return Ok(protocol::plain(500, protocol::INVALID_TIMEOUT));
    };
    let secret = &shared.config.secret;
    if !secret.is_empty() {
        let given = headers
            .get("x-open-runtimes-secret")
            .map(|v| v.as_bytes())
            .unwrap_or(b"");
        if !protocol::secret_matches(secret, given) {
            return Ok(protocol::plain(401, protocol::UNAUTHORIZED));
        }
    }
    let declared_len = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Ok(protocol::plain(500, protocol::BODY_TOO_LARGE));
    }

    let log_id = match headers.get(protocol::LOG_ID_HEADER) {
        Some(v) => protocol::sanitize_log_id(v.as_bytes()),
        None if shared.config.development => "dev".to_owned(),
        None => protocol::generate_log_id(SystemTime::now(), fastrand::u32(..)),
    };
    // The Rust runtime echoes the id unless logging is exactly `disabled`.
    let log_id_header = if logging == "disabled" {
        String::new()
    } else {
        log_id.clone()
    };
    // `Logger::new` cannot fail in the pinned types crate; answer like the official runtime's
    // internal-error path if a future version makes it fallible.
    let Ok(logger) = Logger::new(&logging, Some(log_id.clone())) else {
        return Ok(protocol::plain(500, ""));
    };

    let mut context = Context::new(logger.clone());
    context.req.headers = protocol::handler_headers(headers, &shared.config.enforced_headers);
    context.req.method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let host = headers
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let url = protocol::request_url(
        headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok()),
        host,
        &path,
        &query,
    );
    context.req.url = url.url;
    context.req.scheme = url.scheme;
    context.req.host = url.host;
    context.req.port = url.port;
    context.req.query = protocol::parse_query(&query);
    context.req.path = path;
    context.req.query_string = query;

    let invocation = Arc::new(Invocation {
        enabled: protocol::logging_enabled(&logging),
        logger,
        log_id,
        log_id_header,
        sink: shared.logs.clone(),
        capture: Mutex::new(None),
        ended: AtomicBool::new(false),
    });

    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => context.req.set_body_binary(collected.to_bytes().to_vec()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Ok(protocol::plain(500, protocol::BODY_TOO_LARGE));
        }
        Err(_) => {
            return Ok(invocation
                .fail_off_thread(&shared.pool, protocol::BODY_READ_ERROR)
                .await)
        }
    }

    let handler = Arc::clone(&shared.handler);
    let task = shared.pool.run({
        let invocation = Arc::clone(&invocation);
        move || invocation.run(&handler, context)
    });
    let joined = match timeout {
        Some(secs) => match tokio::time::timeout(Duration::from_secs(secs), task).await {
            Ok(joined) => joined,
            Err(_) => {
                return Ok(invocation
                    .give_up_off_thread(&shared.pool, protocol::TIMED_OUT)
                    .await)
            }
        },
        None => task.await,
    };
    Ok(match joined {
        Some(response) => response,
        None => {
            invocation
                .give_up_off_thread(&shared.pool, protocol::JOIN_ERROR)
                .await
        }
    })
}

fn health() -> Response<Full<Bytes>> {
    protocol::plain(200, "OK")
}

async fn timings(shared: &Shared) -> Response<Full<Bytes>> {
    match tokio::fs::read(&shared.timings_path).await {
        Ok(content) => {
            let mut response = Response::new(Full::new(Bytes::from(content)));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
        Err(_) => {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    }
}

/// One handler call and its logs. The log files are written exactly once, by whichever comes
/// first: the handler returning, or the timeout giving up on it (later logs are then dropped,
/// as in the official runtime).
struct Invocation {
    enabled: bool,
    logger: Logger,
    log_id: String,
    log_id_header: String,
    sink: LogSink,
    capture: Mutex<Option<Session>>,
    ended: AtomicBool,
}

thread_local! {
    /// Set while this thread runs a handler, so the panic hook stays silent for its panics.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

impl Invocation {
    /// Runs on a blocking thread: capture, call, catch, build the response, write the logs.
    fn run(&self, handler: &Handler, context: Context) -> Response<Full<Bytes>> {
        let running = capture::Running::enter();
        if self.enabled {
            *lock(&self.capture) = running.try_capture();
        }
        let res = context.res.clone();
        IN_HANDLER.with(|flag| flag.set(true));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(context)));
        IN_HANDLER.with(|flag| flag.set(false));
        let output = outcome.unwrap_or_else(|payload| {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "Unknown panic".to_owned());
            self.logger.write(vec![message], LoggerType::Error, false);
            res.text("", Some(500), None)
        });
        let response = match protocol::build_response(output, &self.log_id_header) {
            Ok(response) => response,
            Err(message) => {
                self.logger.write(vec![message], LoggerType::Error, false);
                self.internal_error()
            }
        };
        self.finish(None);
        drop(running);
        response
    }

    /// Ends capture (if still open), logs `error`, writes the files — once.
    fn finish(&self, error: Option<&str>) {
        let captured = lock(&self.capture).take().map(Session::finish);
        if self.ended.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(captured) = captured {
            for (bytes, kind) in [
                (captured.stdout, LoggerType::Log),
                (captured.stderr, LoggerType::Error),
            ] {
                for line in String::from_utf8_lossy(&bytes).lines() {
                    if !line.is_empty() {
                        self.logger.write(vec![line.to_owned()], kind.clone(), true);
                    }
                }
            }
        }
        if let Some(error) = error {
            self.logger
                .write(vec![error.to_owned()], LoggerType::Error, false);
        }
        if self.enabled {
            self.sink.end(&self.logger, &self.log_id);
        }
    }

    /// The handler did not answer in time (or its task died): log why, write the files off
    /// the async thread, answer 500 with an empty body as the official runtime does.
    async fn give_up_off_thread(
        self: &Arc<Self>,
        pool: &Pool,
        error: &'static str,
    ) -> Response<Full<Bytes>> {
        let this = Arc::clone(self);
        let _ = pool.run(move || this.finish(Some(error))).await;
        let output = openruntimes::ContextResponse::new().text("", Some(500), None);
        protocol::build_response(output, &self.log_id_header)
            .unwrap_or_else(|_| self.internal_error())
    }

    /// An error before the handler ran (unreadable body): logged, 500 with the log id.
    async fn fail_off_thread(
        self: &Arc<Self>,
        pool: &Pool,
        error: &'static str,
    ) -> Response<Full<Bytes>> {
        let this = Arc::clone(self);
        let _ = pool.run(move || this.finish(Some(error))).await;
        self.internal_error()
    }

    /// The official runtime's internal-error reply: 500, `text/plain`, empty, with the log id.
    fn internal_error(&self) -> Response<Full<Bytes>> {
        let mut response = protocol::plain(500, "");
        if let Ok(value) = hyper::header::HeaderValue::from_str(&self.log_id_header) {
            response
                .headers_mut()
                .insert(protocol::LOG_ID_HEADER, value);
        }
        response
    }
}

/// Silences panics raised inside handlers (they are logged as one error entry instead), and
/// leaves every other panic to the previously installed hook. Installed once per process.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_HANDLER.with(|flag| flag.get()) {
                previous(info);
            }
        }));
    });
}
