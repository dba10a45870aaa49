//! Owns the HTTP server: the accept loop (with a bounded backoff on errors), one hyper HTTP/1.1
//! connection per task, the per-request sequence of the protocol (system routes → logger →
//! timeout → secret → headers → URL → body → handler → response, the official order; the
//! handler cap, `cap.rs`, is checked just before the handler), and graceful shutdown, which ends
//! with the handler pool's.
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
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
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
///
/// It owns the process it is called from, so it also sets the process's panic hook: panics
/// inside handlers (already logged as one error entry each) are kept off stderr, every other
/// panic goes to the hook that was there before. [`Server::bind`] never touches the hook.
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
    silence_handler_panics();
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
    /// Lets tests look at the cap and the pool of a real server.
    #[cfg(test)]
    shared: Arc<Shared>,
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
            cap: Arc::new(Semaphore::new(config.max_handlers)),
            config,
            pool: Pool::new("opr-handler"),
        });
        #[cfg(test)]
        let for_tests = Arc::clone(&shared);
        tokio::spawn(async move {
            let pool = shared.pool.clone();
            accept_loop(listener, shared, stop_rx).await;
            // Idle threads go now rather than after their keep-alive; handlers still running
            // past the shutdown timeout finish on their threads, which then leave too.
            pool.shutdown();
            let _ = stopped_tx.send(true);
        });
        Ok(Server {
            local_addr,
            stop: ShutdownHandle(Arc::new(stop_tx)),
            stopped,
            #[cfg(test)]
            shared: for_tests,
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
    /// timeout), sends the idle handler threads away, and returns when the server is down.
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
    /// Handlers running at once (`OPEN_RUNTIMES_MAX_HANDLERS`): a permit is taken before a
    /// handler is handed to the pool and travels with it to its thread, so it is returned when
    /// the handler's work there is done, never when its request merely timed out (docs/runtime.md,
    /// "Bounds").
    cap: Arc<Semaphore>,
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

/// The pause after a failed `accept`: [`Backoff::FIRST`], doubling with every failure in a
/// row up to [`Backoff::MOST`], back to the first after a success. Running out of fds must
/// neither end the server nor make it spin; once fds are back, it accepts within a second.
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MOST: Duration = Duration::from_secs(1);

    fn new() -> Backoff {
        Backoff { next: Self::FIRST }
    }

    /// How long to wait after this failure.
    fn failed(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(Self::MOST);
        pause
    }

    fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let connections = Arc::new(Connections::default());
    let mut backoff = Backoff::new();
    loop {
        let stream = tokio::select! {
            _ = stop_requested(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    backoff.succeeded();
                    stream
                }
                Err(_) => {
                    let pause = backoff.failed();
                    tokio::select! {
                        _ = stop_requested(&mut stop) => break,
                        _ = tokio::time::sleep(pause) => continue,
                    }
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

/// One request, in the protocol's order: system routes, then the header checks, the handler's
/// context, the body, and the handler under the cap and the timeout.
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

    let logging = protocol::header_str(headers, "x-open-runtimes-logging")
        .flatten()
        .unwrap_or("")
        .to_owned();
    let Ok(timeout) = protocol::requested_timeout(headers) else {
        return Ok(protocol::plain(500, protocol::INVALID_TIMEOUT));
    };
    if !protocol::secret_accepted(&shared.config.secret, headers) {
        return Ok(protocol::plain(401, protocol::UNAUTHORIZED));
    }
    if protocol::declared_too_large(headers) {
        return Ok(protocol::plain(500, protocol::BODY_TOO_LARGE));
    }

    let log_id = protocol::request_log_id(headers, shared.config.development);
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
    protocol::fill_request(&mut context, &parts, &shared.config.enforced_headers);

    let invocation = Arc::new(Invocation {
        enabled: protocol::logging_enabled(&logging),
        logger,
        log_id,
        log_id_header,
        sink: shared.logs.clone(),
        capture: Mutex::new(None),
        ended: AtomicBool::new(false),
    });

    if let ControlFlow::Break(answer) = read_body(body, &mut context, &invocation, &shared).await {
        return Ok(answer);
    }
    Ok(run_handler(&shared, invocation, context, timeout).await)
}

/// Reads the body, at most [`MAX_BODY_BYTES`], into the context; breaks with the answer to
/// give instead when it is too large or unreadable.
async fn read_body(
    body: Incoming,
    context: &mut Context,
    invocation: &Arc<Invocation>,
    shared: &Shared,
) -> ControlFlow<Response<Full<Bytes>>> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => {
            context.req.set_body_binary(collected.to_bytes().to_vec());
            ControlFlow::Continue(())
        }
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            ControlFlow::Break(protocol::plain(500, protocol::BODY_TOO_LARGE))
        }
        Err(_) => ControlFlow::Break(
            invocation
                .fail_off_thread(&shared.pool, protocol::BODY_READ_ERROR)
                .await,
        ),
    }
}

/// Runs the handler on the pool under the cap and the requested timeout, and answers with
/// its response, or with the protocol's reply when the cap is full or the handler gives none.
async fn run_handler(
    shared: &Shared,
    invocation: Arc<Invocation>,
    context: Context,
    timeout: Option<u64>,
) -> Response<Full<Bytes>> {
    // Refused before any log file exists, like the other rejections: a caller over the cap
    // must not cost file IO on the threads the cap protects.
    let Ok(permit) = Arc::clone(&shared.cap).try_acquire_owned() else {
        return protocol::plain(503, protocol::BUSY);
    };
    let handler = Arc::clone(&shared.handler);
    let task = shared.pool.run({
        let invocation = Arc::clone(&invocation);
        move || {
            // Held on the handler's thread until the handler and its log files are done, so a
            // timed-out handler that is still running keeps counting. Returned before the
            // answer goes back, so a caller's next request finds it free.
            let _permit = permit;
            invocation.run(&handler, context)
        }
    });
    let joined = match timeout {
        Some(secs) => match tokio::time::timeout(Duration::from_secs(secs), task).await {
            Ok(joined) => joined,
            Err(_) => {
                return invocation
                    .give_up_off_thread(&shared.pool, protocol::TIMED_OUT)
                    .await
            }
        },
        None => task.await,
    };
    match joined {
        Some(response) => response,
        None => {
            invocation
                .give_up_off_thread(&shared.pool, protocol::JOIN_ERROR)
                .await
        }
    }
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
    /// Set while this thread runs a handler, so the hook [`serve`] sets stays silent for its
    /// panics.
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

    /// Logs `error` and writes the files on a pool thread, never on the async one.
    async fn finish_off_thread(self: &Arc<Self>, pool: &Pool, error: &'static str) {
        let this = Arc::clone(self);
        let _ = pool.run(move || this.finish(Some(error))).await;
    }

    /// The handler did not answer in time (or its task died): log why, write the files off
    /// the async thread, answer 500 with an empty body as the official runtime does.
    async fn give_up_off_thread(
        self: &Arc<Self>,
        pool: &Pool,
        error: &'static str,
    ) -> Response<Full<Bytes>> {
        self.finish_off_thread(pool, error).await;
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
        self.finish_off_thread(pool, error).await;
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
/// leaves every other panic to the previously installed hook. Only [`serve`] calls it: it owns
/// the process; an embedding program keeps its own hook, and handler panics there are printed
/// as that hook prints them. Installed once per process.
fn silence_handler_panics() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::{mpsc, Condvar};
    use std::time::Instant;

    /// Generous: only a broken server takes this long.
    const DEADLINE: Duration = Duration::from_secs(30);

    /// Handler permits out now, of `max`.
    fn taken(cap: &Semaphore, max: usize) -> usize {
        max - cap.available_permits()
    }

    /// Holds handlers until the test opens it; stays open after.
    #[derive(Default)]
    struct Gate {
        open: Mutex<bool>,
        opened: Condvar,
    }

    impl Gate {
        fn wait(&self) {
            let mut open = lock(&self.open);
            while !*open {
                open = self
                    .opened
                    .wait(open)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        }

        fn open(&self) {
            *lock(&self.open) = true;
            self.opened.notify_all();
        }
    }

    /// A server on port 0 whose handler says it started, then waits at `gate`.
    async fn gated_server(
        logs: &std::path::Path,
        max_handlers: usize,
        gate: &Arc<Gate>,
    ) -> (Server, mpsc::Receiver<()>) {
        let (started, starts) = mpsc::channel();
        let started = Mutex::new(started);
        let gate = Arc::clone(gate);
        let config = Config {
            port: 0,
            logs_dir: logs.to_owned(),
            telemetry_dir: logs.to_owned(),
            max_handlers,
            ..Config::default()
        };
        let server = Server::bind(config, move |ctx: Context| {
            let _ = lock(&started).send(());
            gate.wait();
            ctx.res.text("done", None, None)
        })
        .await
        .unwrap();
        (server, starts)
    }

    /// One request on a fresh connection, off the async workers: (status, body).
    async fn get(addr: SocketAddr, headers: &'static str) -> (u16, String) {
        tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.set_read_timeout(Some(DEADLINE)).unwrap();
            write!(
                stream,
                "GET / HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n{headers}\r\n"
            )
            .unwrap();
            let mut raw = String::new();
            stream.read_to_string(&mut raw).unwrap();
            let (head, body) = raw.split_once("\r\n\r\n").unwrap();
            (head[9..12].parse().unwrap(), body.to_owned())
        })
        .await
        .unwrap()
    }

    /// Waits (off the async workers) for `n` handlers to say they started.
    async fn started(starts: mpsc::Receiver<()>, n: usize) -> mpsc::Receiver<()> {
        tokio::task::spawn_blocking(move || {
            for _ in 0..n {
                starts.recv_timeout(DEADLINE).expect("a handler started");
            }
            starts
        })
        .await
        .unwrap()
    }

    /// Waits until `condition` holds, polling; false if it still does not at the deadline.
    async fn eventually(condition: impl Fn() -> bool) -> bool {
        let until = Instant::now() + DEADLINE;
        while Instant::now() < until {
            if condition() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        condition()
    }

    #[test]
    fn accept_errors_back_off_from_10_ms_doubling_to_1_s_and_a_success_starts_over() {
        let mut backoff = Backoff::new();
        let pauses: Vec<u64> = (0..9)
            .map(|_| backoff.failed().as_millis() as u64)
            .collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed(), Duration::from_millis(10));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_over_the_handler_cap_get_503_and_handler_threads_stay_within_it() {
        const CAP: usize = 3;
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new(Gate::default());
        let (server, starts) = gated_server(dir.path(), CAP, &gate).await;
        let addr = server.local_addr();

        let held: Vec<_> = (0..CAP).map(|_| tokio::spawn(get(addr, ""))).collect();
        let _starts = started(starts, CAP).await;
        // Every slot is taken by a handler that cannot return: the rest are turned away at
        // once, without a thread.
        for _ in 0..3 * CAP {
            assert_eq!(get(addr, "").await, (503, protocol::BUSY.to_owned()));
        }
        assert_eq!(server.shared.pool.threads(), CAP);
        assert_eq!(taken(&server.shared.cap, CAP), CAP);

        gate.open();
        for request in held {
            assert_eq!(request.await.unwrap(), (200, "done".to_owned()));
        }
        // The slots were returned before the answers went back.
        assert_eq!(taken(&server.shared.cap, CAP), 0);
        assert_eq!(get(addr, "").await, (200, "done".to_owned()));
        server.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_timed_out_handler_keeps_its_slot_until_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new(Gate::default());
        let (server, starts) = gated_server(dir.path(), 1, &gate).await;
        let addr = server.local_addr();

        // 1 s is the shortest timeout the protocol can ask for.
        let timed_out = get(addr, "x-open-runtimes-timeout: 1\r\n").await;
        assert_eq!(timed_out, (500, String::new()));
        let _starts = started(starts, 1).await;
        assert_eq!(get(addr, "").await, (503, protocol::BUSY.to_owned()));

        gate.open();
        assert!(
            eventually(|| taken(&server.shared.cap, 1) == 0).await,
            "the slot came back when the handler returned"
        );
        assert_eq!(get(addr, "").await, (200, "done".to_owned()));
        server.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutting_the_server_down_shuts_its_handler_pool_down() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new(Gate::default());
        gate.open();
        let (server, _starts) = gated_server(dir.path(), 4, &gate).await;
        assert_eq!(get(server.local_addr(), "").await.0, 200);
        let shared = Arc::clone(&server.shared);
        assert_eq!(shared.pool.threads(), 1);

        server.shutdown().await;
        assert!(
            shared.pool.execute(Box::new(|| {})).is_err(),
            "the pool takes no more work"
        );
        // Well before the pool's 10 s keep-alive would have sent it away.
        assert!(eventually(|| shared.pool.threads() == 0).await);
    }
}
