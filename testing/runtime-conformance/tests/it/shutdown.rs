//! Graceful shutdown: SIGTERM stops accepting but finishes the request in flight.

use crate::client::Conn;
use crate::support::{spawn_app_with, SECRET};

#[test]
fn sigterm_finishes_the_in_flight_request_then_exits_cleanly() {
    let signals = tempfile::tempdir().unwrap();
    let signal_dir = signals.path().to_str().unwrap().to_owned();
    let mut app = spawn_app_with(&[
        ("OPEN_RUNTIMES_SECRET", SECRET),
        ("CONFORMANCE_SIGNAL_DIR", &signal_dir),
    ]);
    let addr = app.addr;
    let secret = app.secret.clone();
    let in_flight = std::thread::spawn(move || {
        let mut conn = Conn::connect(addr).unwrap();
        conn.send(
            "POST",
            "/",
            &[("x-action", "timeout"), ("x-open-runtimes-secret", &secret)],
            b"",
        )
    });
    // The handler marks its start, then sleeps 3 s: SIGTERM must come while it runs.
    let started = signals.path().join("timeout-started");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !started.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the request never reached the handler"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let rc = std::process::Command::new("kill")
        .args(["-TERM", &app.pid().to_string()])
        .status()
        .unwrap();
    assert!(rc.success());
    let reply = in_flight
        .join()
        .unwrap()
        .expect("in-flight request answered");
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "Successful response.")
    );
    let status = app.wait_for_exit();
    assert!(status.success(), "{status:?}");
    assert!(!app.is_running());
}
