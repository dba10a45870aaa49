//! Graceful shutdown: SIGTERM stops accepting but finishes the request in flight.

use crate::client::Conn;
use crate::support::spawn_app;

#[test]
fn sigterm_finishes_the_in_flight_request_then_exits_cleanly() {
    let mut app = spawn_app();
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
    // Give the request time to reach the handler, which then sleeps 3 s. A process gives no
    // hook to observe that; the in-process test in runtime/tests observes it exactly.
    std::thread::sleep(std::time::Duration::from_millis(1000));
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
