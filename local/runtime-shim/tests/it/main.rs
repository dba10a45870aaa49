//! The embedding API: servers started inside the test's own tokio runtime on port 0, as the
//! local dev server hosts several functions in one process. The protocol itself is tested
//! end to end in `testing/runtime-conformance/tests`.

use openruntimes::{Context, Response};
use runtime_shim::{Config, Server};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

/// Generous: only a broken server takes this long.
const DEADLINE: Duration = Duration::from_secs(30);

fn config(logs: &std::path::Path) -> Config {
    Config {
        listen_addr: "127.0.0.1".parse().unwrap(),
        port: 0,
        logs_dir: logs.join("logs"),
        telemetry_dir: logs.join("missing-telemetry"),
        ..Config::default()
    }
}

/// Sends one request on a fresh connection and returns (status, head, body).
fn request(addr: SocketAddr, path: &str, headers: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n{headers}\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

async fn get(addr: SocketAddr, path: &'static str, headers: &'static str) -> (u16, String, String) {
    tokio::task::spawn_blocking(move || request(addr, path, headers))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_server_on_port_0_serves_a_closure_and_reports_its_address() {
    let dir = tempfile::tempdir().unwrap();
    let greeting = String::from("hello from a closure");
    let server = Server::bind(config(dir.path()), move |ctx: Context| {
        ctx.res.text(greeting.clone(), None, None)
    })
    .await
    .unwrap();
    assert_ne!(server.local_addr().port(), 0);
    let (status, head, body) = get(server.local_addr(), "/", "").await;
    assert_eq!((status, body.as_str()), (200, "hello from a closure"));
    assert!(head.contains("content-type: text/plain; charset=utf-8"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_in_one_process_serve_their_own_handlers() {
    let dir = tempfile::tempdir().unwrap();
    let a = Server::bind(config(dir.path()), |ctx: Context| {
        ctx.res.text("a", None, None)
    })
    .await
    .unwrap();
    let b: runtime_shim::Handler =
        std::sync::Arc::new(|ctx: Context| ctx.res.text("b", None, None));
    let b = Server::bind_handler(config(dir.path()), b).await.unwrap();
    assert_eq!(get(a.local_addr(), "/", "").await.2, "a");
    assert_eq!(get(b.local_addr(), "/", "").await.2, "b");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_accepting_waits_for_the_request_in_flight_then_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (started_tx, started_rx) = mpsc::sync_channel(1);
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let server = Server::bind(config(dir.path()), move |ctx: Context| {
        let _ = started_tx.try_send(());
        // Blocks until the test lets it go: the request is in flight for as long as it likes.
        let _ = release_rx.lock().unwrap().recv();
        ctx.res.text("finished", None, None)
    })
    .await
    .unwrap();
    let addr = server.local_addr();
    let in_flight = tokio::spawn(get(addr, "/", ""));
    tokio::task::spawn_blocking(move || started_rx.recv_timeout(DEADLINE).unwrap())
        .await
        .unwrap();

    server.shutdown_handle().shutdown();
    assert!(
        eventually(|| TcpStream::connect(addr).is_err()).await,
        "the listener was not closed"
    );
    // The listener is gone, and the server would have stopped in the same step had it not
    // waited for its connections: polled once, it must still be draining.
    let mut stopped = std::pin::pin!(server.stopped());
    tokio::select! {
        biased;
        _ = &mut stopped => panic!("the server stopped with a request in flight"),
        _ = std::future::ready(()) => {}
    }

    release_tx.send(()).unwrap();
    let (status, _, body) = in_flight.await.unwrap();
    assert_eq!((status, body.as_str()), (200, "finished"));
    stopped.await;
    assert!(TcpStream::connect(addr).is_err());
}

/// Set in the child process the test below starts.
const PANIC_HOOK_CHILD: &str = "RUNTIME_SHIM_PANIC_HOOK_CHILD";

#[test]
fn an_embedded_server_leaves_the_host_programs_panic_hook_alone() {
    // A panic hook is process-wide and other tests bind servers in parallel, so the check
    // runs in a fresh process of this binary where nothing else has happened.
    if std::env::var_os(PANIC_HOOK_CHILD).is_none() {
        let name = "an_embedded_server_leaves_the_host_programs_panic_hook_alone";
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--test-threads=1"])
            .env(PANIC_HOOK_CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&child.stdout);
        assert!(
            child.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&child.stderr)
        );
        return;
    }

    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(message) = info.payload().downcast_ref::<&str>() {
            SEEN.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(message.to_string());
        }
        previous(info);
    }));
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let server = Server::bind(config(dir.path()), |_: Context| -> Response {
            panic!("seen by the host's hook");
        })
        .await
        .unwrap();
        // Still caught and answered as before.
        assert_eq!(get(server.local_addr(), "/", "").await.0, 500);
        server.shutdown().await;
    });
    let seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    assert!(
        seen.iter().any(|m| m == "seen by the host's hook"),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_files_are_json_lines_in_the_configured_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::bind(config(dir.path()), |ctx: Context| {
        ctx.log("hello");
        ctx.error("oops");
        ctx.res.empty()
    })
    .await
    .unwrap();
    let (status, head, _) = get(
        server.local_addr(),
        "/",
        "x-open-runtimes-log-id: probe\r\n",
    )
    .await;
    assert_eq!(status, 204);
    assert!(head.contains("x-open-runtimes-log-id: probe"));
    let logs = std::fs::read_to_string(dir.path().join("logs/probe_logs.log")).unwrap();
    let entry: serde_json::Value = serde_json::from_str(logs.lines().next().unwrap()).unwrap();
    assert_eq!(entry["message"], "hello");
    assert_eq!(entry["type"], "log");
    assert_eq!(entry["stream"], "stdout");
    assert!(entry["timestamp"].is_u64());
    let errors = std::fs::read_to_string(dir.path().join("logs/probe_errors.log")).unwrap();
    assert!(errors.contains(r#""type":"error""#) && errors.contains("oops"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_timings_file_gives_500_with_an_empty_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::bind(config(dir.path()), |ctx: Context| ctx.res.empty())
        .await
        .unwrap();
    let (status, _, body) = get(server.local_addr(), "/__opr/timings", "").await;
    assert_eq!((status, body.as_str()), (500, ""));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_gets_500_and_the_next_request_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::bind(config(dir.path()), |ctx: Context| -> Response {
        if ctx.req.path == "/panic" {
            panic!("boom");
        }
        ctx.res.text("fine", None, None)
    })
    .await
    .unwrap();
    let (status, head, body) = get(
        server.local_addr(),
        "/panic",
        "x-open-runtimes-log-id: p\r\n",
    )
    .await;
    assert_eq!((status, body.as_str()), (500, ""));
    assert!(head.contains("x-open-runtimes-log-id: p"));
    let errors = std::fs::read_to_string(dir.path().join("logs/p_errors.log")).unwrap();
    assert!(errors.contains(r#""message":"boom""#));
    assert_eq!(get(server.local_addr(), "/", "").await.2, "fine");
    server.shutdown().await;
}

#[test]
fn a_port_already_in_use_is_a_bind_error_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.port = taken.local_addr().unwrap().port();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(Server::bind(cfg, |ctx: Context| ctx.res.empty()))
        .err()
        .expect("bind fails");
    assert!(err
        .to_string()
        .contains(&taken.local_addr().unwrap().to_string()));
}
