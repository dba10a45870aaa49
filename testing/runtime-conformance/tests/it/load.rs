//! No request is ever lost: many keep-alive connections with logging enabled all get answers.
//! There are no timing assertions; the client's read timeout only turns a hang into a failure.

use crate::support::spawn_app;

#[test]
fn twenty_thousand_requests_over_16_keep_alive_connections_with_logging_all_get_answers() {
    const CONNECTIONS: usize = 16;
    const REQUESTS: usize = 20_000;
    let app = spawn_app();
    let answered: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CONNECTIONS)
            .map(|worker| {
                let app = &app;
                scope.spawn(move || {
                    let mut conn = app.conn();
                    let mut ok = 0;
                    for _ in (worker..REQUESTS).step_by(CONNECTIONS) {
                        let reply = conn
                            .send(
                                "POST",
                                "/",
                                &[
                                    ("x-action", "plaintextResponse"),
                                    ("x-open-runtimes-secret", &app.secret),
                                ],
                                b"",
                            )
                            .expect("every request is answered");
                        assert_eq!(reply.status, 200);
                        assert_eq!(reply.log_id().len(), 20);
                        ok += 1;
                    }
                    ok
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(answered, REQUESTS);
    // Every request with logging enabled left its two files.
    assert_eq!(
        std::fs::read_dir(&app.logs_dir).unwrap().count(),
        2 * REQUESTS
    );
    app.assert_healthy();
}

#[test]
fn concurrent_requests_that_print_natively_never_hang() {
    let app = spawn_app();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let mut conn = app.conn();
                for _ in 0..200 {
                    let reply = conn
                        .send(
                            "POST",
                            "/",
                            &[
                                ("x-action", "logs"),
                                ("x-open-runtimes-secret", &app.secret),
                            ],
                            b"",
                        )
                        .expect("answered");
                    assert_eq!(reply.status, 200);
                }
            });
        }
    });
    // After the storm, capture still works for a lone request.
    let reply = app.action(&[("x-action", "logs")]);
    assert!(app.logs(&reply.log_id()).contains("Native log"));
}
