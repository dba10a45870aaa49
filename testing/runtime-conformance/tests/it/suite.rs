//! The protocol assertions of the public open-runtimes suite (`tests/Base.php`,
//! `tests/Serverless.php`), ported test by test against the shim serving our conformance
//! function. Names follow the PHP test each one ports.

use crate::support::{spawn_app, spawn_secondary_app};

fn no_ws(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

// ---- Base.php ----

#[test]
fn wrong_secret_is_rejected_as_unauthorized() {
    let mut app = spawn_app();
    app.secret = "wrongSecret".into();
    let reply = app.execute("GET", "/", &[("x-action", "plaintextResponse")], b"");
    assert!(matches!(reply.status, 401 | 500));
    assert!(reply.text().contains("Unauthorized"));
}

#[test]
fn empty_secret_is_rejected_as_unauthorized() {
    let mut app = spawn_app();
    app.secret = String::new();
    let reply = app.execute("GET", "/", &[("x-action", "plaintextResponse")], b"");
    assert!(matches!(reply.status, 401 | 500));
    assert!(reply.text().contains("Unauthorized"));
}

#[test]
fn an_empty_server_secret_accepts_any_secret() {
    let mut app = spawn_secondary_app();
    let reply = app.execute("GET", "/", &[("x-action", "plaintextResponse")], b"");
    assert_eq!(reply.status, 200);
    assert!(!reply.body.is_empty());
    app.secret = "wrongSecret".into();
    let reply = app.execute(
        "GET",
        "/",
        &[
            ("x-action", "plaintextResponse"),
            ("x-open-runtimes-secret", "wrong-secret"),
        ],
        b"",
    );
    assert_eq!(reply.status, 200);
    assert!(!reply.body.is_empty());
}

#[test]
fn health_answers_ok() {
    let app = spawn_app();
    let reply = app.execute("GET", "/__opr/health", &[], b"");
    assert_eq!((reply.status, reply.text().as_str()), (200, "OK"));
}

#[test]
fn timings_serve_the_telemetry_file() {
    let app = spawn_app();
    let reply = app.execute("GET", "/__opr/timings", &[], b"");
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-type").unwrap().contains("text/plain"));
    let text = reply.text();
    let timings: std::collections::HashMap<&str, f64> = text
        .trim()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k, v.parse().unwrap()))
        .collect();
    for key in ["local_download", "remote_download", "extract"] {
        assert!(timings.contains_key(key), "{key}");
    }
}

// ---- Serverless.php ----

#[test]
fn plaintext_response() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "plaintextResponse")]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "Hello World 👋");
    assert_eq!(
        no_ws(reply.header("content-type").unwrap()),
        "text/plain;charset=utf-8"
    );
}

#[test]
fn json_response() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "jsonResponse")]);
    assert_eq!(reply.status, 200);
    assert_eq!(
        no_ws(reply.header("content-type").unwrap()),
        "application/json;charset=utf-8"
    );
    let body = reply.json();
    assert_eq!(body["json"], true);
    assert_eq!(body["message"], "Developers are awesome.");

    let sent = r#"{"name":"OpenRntimes","version":3.5,"published":true,"nested":[{"object":1}]}"#;
    let reply = app.execute(
        "POST",
        "/",
        &[("x-action", "requestBodyJson")],
        sent.as_bytes(),
    );
    assert_eq!(reply.status, 200);
    assert!(!reply.text().contains(' '));
    assert!(!reply.text().contains('\n'));
}

#[test]
fn content_type_response() {
    let app = spawn_app();
    let ct = |action| {
        no_ws(
            app.action(&[("x-action", action)])
                .header("content-type")
                .unwrap(),
        )
    };
    assert_eq!(ct("customCharsetResponse"), "text/plain;charset=iso-8859-1");
    assert_eq!(ct("uppercaseCharsetResponse"), "text/plain;charset=utf-8");
    assert_eq!(
        ct("multipartResponse"),
        "multipart/form-data;boundary=12345"
    );
}

#[test]
fn redirect_response() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "redirectResponse")]);
    assert_eq!(reply.status, 301);
    assert!(reply.body.is_empty());
    assert_eq!(reply.header("location"), Some("https://github.com/"));
}

#[test]
fn empty_response() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "emptyResponse")]);
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
}

#[test]
fn no_response() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "noResponse")]);
    assert_eq!(reply.status, 500);
    assert!(reply.body.is_empty());
    assert!(app
        .errors(&reply.log_id())
        .contains("Return statement missing."));
}

#[test]
fn double_response() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "doubleResponse")]);
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "This should be returned.")
    );
}

#[test]
fn headers_response() {
    let app = spawn_app();
    let reply = app.action(&[
        ("x-action", "headersResponse"),
        ("x-open-runtimes-custom-in-header", "notMissing"),
        ("cookie", "cookieName=cookieValue; cookie2=value2; cookie3=value=3; cookie4=val:ue4; cookie5=value5"),
    ]);
    assert_eq!((reply.status, reply.text().as_str()), (200, "OK"));
    assert_eq!(reply.header("first-header"), Some("first-value"));
    assert_eq!(reply.header("second-header"), Some("missing"));
    let cookies: Vec<&str> = reply.header("cookie").unwrap().split("; ").collect();
    assert_eq!(
        cookies,
        [
            "cookieName=cookieValue",
            "cookie2=value2",
            "cookie3=value=3",
            "cookie4=val:ue4",
            "cookie5=value5"
        ]
    );
    assert_eq!(reply.header("x-open-runtimes-custom-out-header"), None);
}

#[test]
fn status_response() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "statusResponse")]);
    assert_eq!((reply.status, reply.text().as_str()), (404, "FAIL"));
}

#[test]
fn exception_is_logged_with_the_entrypoint_name() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "nonExistingAction")]);
    assert_eq!(reply.status, 500);
    assert!(reply.body.is_empty());
    let id = reply.log_id();
    assert_eq!(app.logs(&id), "");
    assert!(app.errors(&id).contains("Unknown action"));
    assert!(app.errors(&id).contains("lib.rs"));
}

#[test]
fn error_handling_keeps_logs_written_before_a_panic() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "errorTest")]);
    let id = reply.log_id();
    assert_eq!(reply.status, 500);
    assert!(reply.body.is_empty());
    assert!(app.logs(&id).contains("Before error..."));
    assert!(app.errors(&id).contains("Error!"));
    // One entry for the panic, no "thread panicked" noise captured from stderr.
    assert!(!app.errors(&id).contains("panicked"));
}

#[test]
fn request_method() {
    let app = spawn_app();
    for method in ["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"] {
        let reply = app.execute(method, "/", &[("x-action", "requestMethod")], b"");
        assert_eq!((reply.status, reply.text().as_str()), (200, method));
    }
}

#[test]
fn request_url() {
    let app = spawn_app();
    let port = app.addr.port();
    let reply = app.action(&[("x-action", "requestUrl")]);
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["port"], port);
    assert_eq!(body["path"], "/");
    assert!(body["query"].as_object().unwrap().is_empty());
    assert_eq!(body["queryString"], "");
    assert_eq!(body["scheme"], "http");
    assert_eq!(body["host"], "127.0.0.1");
    assert_eq!(body["url"], format!("http://127.0.0.1:{port}/"));

    let reply = app.execute(
        "POST",
        "/a/b?c=d&e=f#something",
        &[
            ("x-action", "requestUrl"),
            ("x-forwarded-proto", "https"),
            ("host", "www.mydomain.com:3001"),
        ],
        b"",
    );
    let body = reply.json();
    assert_eq!(body["port"], 3001);
    assert_eq!(body["path"], "/a/b");
    assert_eq!(body["query"].as_object().unwrap().len(), 2);
    assert_eq!(body["query"]["c"], "d");
    assert_eq!(body["query"]["e"], "f");
    assert_eq!(body["queryString"], "c=d&e=f");
    assert_eq!(body["scheme"], "https");
    assert_eq!(body["host"], "www.mydomain.com");
    assert_eq!(body["url"], "https://www.mydomain.com:3001/a/b?c=d&e=f");

    let body = app
        .action(&[("x-action", "requestUrl"), ("host", "www.mydomain.com:80")])
        .json();
    assert_eq!(
        (body["port"].as_u64(), body["host"].as_str()),
        (Some(80), Some("www.mydomain.com"))
    );
    assert_eq!(body["url"], "http://www.mydomain.com/");

    let body = app
        .execute(
            "POST",
            "/?a=b&c==d&e=f=g=&h&i=j&&k",
            &[("x-action", "requestUrl")],
            b"",
        )
        .json();
    assert_eq!(body["query"]["a"], "b");
    assert_eq!(body["query"]["c"], "=d");
    assert_eq!(body["query"]["h"], "");
    assert_eq!(body["query"]["i"], "j");
    assert_eq!(body["query"]["k"], "");
    assert!(body["query"].get("l").is_none());

    for (host, proto, port, url) in [
        ("myapp.com", "https", 443, "https://myapp.com/"),
        ("myapp.com:443", "https", 443, "https://myapp.com/"),
        ("myapp.com:80", "https", 80, "https://myapp.com:80/"),
        ("myapp.com:80", "http", 80, "http://myapp.com/"),
    ] {
        let body = app
            .action(&[
                ("x-action", "requestUrl"),
                ("host", host),
                ("x-forwarded-proto", proto),
            ])
            .json();
        assert_eq!(body["host"], "myapp.com");
        assert_eq!(body["port"], port);
        assert_eq!(body["url"], url);
    }
}

#[test]
fn request_headers() {
    let app = spawn_app();
    let reply = app.action(&[
        ("x-action", "requestHeaders"),
        ("x-first-header", "first-value"),
        ("x-open-runtimes-custom-header", "should-be-hidden"),
    ]);
    assert_eq!(reply.status, 200);
    assert_eq!(
        no_ws(reply.header("content-type").unwrap()),
        "application/json;charset=utf-8"
    );
    let body = reply.json();
    assert_eq!(body["x-action"], "requestHeaders");
    assert_eq!(body["x-first-header"], "first-value");
    assert!(body.get("x-open-runtimes-custom-header").is_none());

    let body = app
        .action(&[("x-action", "requestHeaders"), ("X-UpPeRcAsE-KeY", "value")])
        .json();
    assert_eq!(body["x-uppercase-key"], "value");
    assert!(body.get("X-UpPeRcAsE-KeY").is_none());
}

#[test]
fn request_body_text() {
    let app = spawn_app();
    let body = "Hello 👋".as_bytes();
    for (action, content_type) in [
        ("requestBodyText", "text/plain"),
        ("requestBodyTextAuto", "text/plain"),
        ("requestBodyTextAuto", "application/xhtml+xml"),
        ("requestBodyTextAuto", "not-application/json"),
        ("requestBodyTextAuto", "not-video/mp4"),
        ("requestBodyTextAuto", "application/octet-stream"),
        ("requestBodyTextAuto", "audio/mpeg"),
        ("requestBodyTextAuto", "font/ttf"),
        ("requestBodyTextAuto", "image/png"),
        ("requestBodyTextAuto", "video/mp4"),
    ] {
        let reply = app.execute(
            "POST",
            "/",
            &[("x-action", action), ("content-type", content_type)],
            body,
        );
        assert_eq!(
            (reply.status, reply.body.as_slice()),
            (200, body),
            "{content_type}"
        );
    }
    let reply = app.execute("POST", "/", &[("x-action", "requestBodyText")], b"");
    assert_eq!((reply.status, reply.text().as_str()), (200, ""));
}

#[test]
fn request_body_json() {
    let app = spawn_app();
    let sent = r#"{"key1":"OK 👋","key2":true,"key3":3}"#.as_bytes();
    for (action, content_type) in [
        ("requestBodyJson", "application/json"),
        ("requestBodyJsonAuto", "application/json"),
        ("requestBodyJsonAuto", "ApPlIcAtIoN/JSON"),
        ("requestBodyJson", "text/plain"),
    ] {
        let reply = app.execute(
            "POST",
            "/",
            &[("x-action", action), ("content-type", content_type)],
            sent,
        );
        assert_eq!(reply.status, 200, "{action} {content_type}");
        let body = reply.json();
        assert_eq!(body["key1"], "OK 👋");
        assert_eq!(body["key2"], true);
        assert_eq!(body["key3"], 3);
    }
    let reply = app.execute(
        "POST",
        "/",
        &[
            ("x-action", "requestBodyJsonAuto"),
            ("content-type", "application/json"),
        ],
        b"",
    );
    assert_eq!((reply.status, reply.text().as_str()), (200, "{}"));
}

#[test]
fn request_body_binary() {
    let app = spawn_app();
    let bytes = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
    for content_type in ["application/octet-stream", "text/plain"] {
        let reply = app.execute(
            "POST",
            "/",
            &[
                ("x-action", "requestBodyBinary"),
                ("content-type", content_type),
            ],
            &bytes,
        );
        assert_eq!((reply.status, reply.body.as_slice()), (200, &bytes[..]));
    }
    let reply = app.execute(
        "POST",
        "/",
        &[
            ("x-action", "requestBodyBinary"),
            ("content-type", "text/plain"),
        ],
        &[0, 10, 255],
    );
    assert_eq!(
        (reply.status, reply.body.as_slice()),
        (200, &[0u8, 10, 255][..])
    );
}

#[test]
fn env_vars() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "envVars")]);
    assert_eq!(reply.status, 200);
    assert_eq!(
        no_ws(reply.header("content-type").unwrap()),
        "application/json;charset=utf-8"
    );
    let body = reply.json();
    assert_eq!(body["var"], "customValue");
    assert!(body["emptyVar"].is_null());
}

#[test]
fn logs() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "logs")]);
    let id = reply.log_id();
    let (logs, errors) = (app.logs(&id), app.errors(&id));
    assert_eq!(id.len(), 20);
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
    for expected in [
        "Debug log",
        "42",
        "4.2",
        "true",
        "Native log",
        "Native logs detected.",
        "objectKey",
        "objectValue",
        "arrayValue",
        "Log+With+Plus+Symbol",
        "\n",
        "... Log truncated due to size limit (8000 characters)",
    ] {
        assert!(logs.contains(expected), "logs lack {expected:?}: {logs}");
    }
    assert!(errors.contains("Error log"));
    assert!(errors.contains("... Log truncated due to size limit (8000 characters)"));
    assert!(logs.split('\n').count() >= 9);
    assert!(!errors.split('\n').next().unwrap().is_empty());

    let second = app.action(&[("x-action", "logs")]).log_id();
    assert_eq!(second.len(), 20);
    assert_ne!(id, second);

    let reply = app.action(&[
        ("x-action", "logs"),
        ("x-open-runtimes-logging", "disabled"),
        ("x-open-runtimes-log-id", "noLogs"),
    ]);
    assert_eq!(reply.header("x-open-runtimes-log-id"), Some(""));
    assert_eq!(app.logs("noLogs"), "");
    assert_eq!(app.errors("noLogs"), "");
    assert!(!app.logs_dir.join("noLogs_logs.log").exists());

    let reply = app.action(&[("x-action", "logs"), ("x-open-runtimes-logging", "enabled")]);
    let id = reply.log_id();
    assert!(!id.is_empty());
    assert!(app.logs(&id).contains("Debug log"));
    assert!(app.errors(&id).contains("Error log"));

    let reply = app.action(&[
        ("x-action", "logs"),
        ("x-open-runtimes-log-id", "customLogs"),
    ]);
    assert_eq!(reply.log_id(), "customLogs");
    assert!(app.logs("customLogs").contains("Debug log"));
    assert!(app.errors("customLogs").contains("Error log"));
}

#[test]
#[ignore = "testLibrary calls an internet API (dummyjson.com); the official runtime fails it offline too"]
fn library() {}

#[test]
fn invalid_json() {
    let app = spawn_app();
    let json = [
        ("x-action", "requestBodyJson"),
        ("content-type", "application/json"),
    ];
    let reply = app.execute("POST", "/", &json, br#"{"invaludJson:true}"#);
    assert_eq!((reply.status, reply.text().as_str()), (500, ""));
    assert!(app.errors(&reply.log_id()).to_lowercase().contains("json"));
    assert_eq!(app.execute("POST", "/", &json, b"").status, 500);
    let reply = app.execute("POST", "/", &json, b"{}");
    assert_eq!((reply.status, reply.text().as_str()), (200, "{}"));
}

#[test]
fn timeout() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "timeout"), ("x-open-runtimes-timeout", "1")]);
    assert_eq!((reply.status, reply.text().as_str()), (500, ""));
    let id = reply.log_id();
    assert!(app.errors(&id).contains("Execution timed out."));
    assert!(app.logs(&id).contains("Timeout start."));
    assert!(!app.logs(&id).contains("Timeout end."));

    let reply = app.action(&[("x-action", "timeout"), ("x-open-runtimes-timeout", "5")]);
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "Successful response.")
    );
    let id = reply.log_id();
    assert!(app.logs(&id).contains("Timeout start."));
    assert!(app.logs(&id).contains("Timeout end."));

    let reply = app.action(&[("x-action", "timeout"), ("x-open-runtimes-timeout", "abcd")]);
    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.text(),
        "Header \"x-open-runtimes-timeout\" must be an integer greater than 0."
    );
}

#[test]
fn deprecated_methods() {
    let app = spawn_app();
    for (body, content_type) in [
        ("Hello", "text/plain"),
        (r#"{"hello":"world"}"#, "application/json"),
        (r#"{"hello":"world"}"#, "application/unknown"),
    ] {
        let reply = app.execute(
            "POST",
            "/",
            &[
                ("x-action", "deprecatedMethods"),
                ("content-type", content_type),
            ],
            body.as_bytes(),
        );
        assert_eq!((reply.status, reply.text().as_str()), (200, body));
    }
}

#[test]
fn deprecated_methods_untyped_body() {
    let app = spawn_app();
    let reply = app.execute(
        "POST",
        "/",
        &[("x-action", "deprecatedMethodsUntypedBody")],
        b"Hello",
    );
    assert_eq!((reply.status, reply.text().as_str()), (200, "50"));
}

#[test]
fn deprecated_methods_bytes_body() {
    let app = spawn_app();
    let reply = app.execute(
        "POST",
        "/",
        &[("x-action", "deprecatedMethodsBytesBody")],
        b"Hello",
    );
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("image/png"));
    assert_eq!(
        format!("{:x}", md5::compute(&reply.body)),
        "2a8fdeea08e939e9a7c05653544a1374"
    );
}

#[test]
fn binary_response() {
    let app = spawn_app();
    for (n, middle) in [(1, 10u8), (2, 20), (3, 30), (4, 40), (5, 50)] {
        let reply = app.action(&[("x-action", &format!("binaryResponse{n}"))]);
        assert_eq!(
            (reply.status, reply.body.as_slice()),
            (200, &[0, middle, 255][..])
        );
    }
}

/// Deterministic pseudo-random bytes standing in for the suite's zip fixtures.
fn fixture(len: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(0x2545_F491_4F6C_DD1D);
    (0..len).map(|_| rng.u8(..)).collect()
}

#[test]
fn binary_response_large() {
    let app = spawn_app();
    let body = fixture(17 * 1024 * 1024);
    let md5 = format!("{:x}", md5::compute(&body));
    for method in ["PUT", "POST"] {
        let reply = app.execute(method, "/", &[("x-action", "binaryResponseLarge")], &body);
        assert_eq!((reply.status, reply.text()), (200, md5.clone()));
        assert_eq!(reply.header("x-method"), Some(method));
    }

    let too_big = fixture(23 * 1024 * 1024);
    for method in ["PUT", "POST"] {
        let reply = crate::robustness::send_while_reading(&app, method, &too_big);
        assert!(matches!(reply.status, 500 | 413));
    }

    for headers in [
        &[("x-action", "plaintextResponse"), ("content-length", "0")][..],
        &[("x-action", "plaintextResponse")][..],
    ] {
        assert_eq!(app.execute("GET", "/", headers, b"").status, 200);
    }
    // No content-length at all (a GET without a body).
    let mut conn = app.conn();
    let reply = conn
        .send_raw(
            format!(
                "GET / HTTP/1.1\r\nhost: x\r\nx-action: plaintextResponse\r\nx-open-runtimes-secret: {}\r\n\r\n",
                app.secret
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(reply.status, 200);
}

#[test]
fn enforced_headers() {
    let app = spawn_app();
    for headers in [
        &[("x-action", "enforcedHeaders")][..],
        &[
            ("x-action", "enforcedHeaders"),
            ("x-custom", "IS_IGNORED"),
            ("x-custom-uppercase", "IS_IGNORED"),
            ("x-open-runtimes-custom", "IS_IGNORED"),
        ][..],
        &[
            ("x-action", "enforcedHeaders"),
            ("X-CUSTOM-UPPERCASE", "IS_IGNORED"),
        ][..],
    ] {
        let reply = app.action(headers);
        assert_eq!(reply.status, 200);
        let body = reply.json();
        assert_eq!(body["x-custom"], "value");
        assert_eq!(body["x-custom-uppercase"], "Value2");
        assert_eq!(body["x-open-runtimes-custom"], "248");
    }
}

#[test]
fn start_logs() {
    let app = spawn_app();
    assert_eq!(app.action(&[("x-action", "plaintextResponse")]).status, 200);
    assert!(app.stdout().contains("HTTP server successfully started!"));
}

#[test]
#[ignore = "testSystemCommands checks that the Docker image ships `script`; there is no image here"]
fn system_commands() {}

#[test]
fn spread_operator_logs() {
    let app = spawn_app();
    let reply = app.action(&[("x-action", "spreadOperatorLogs")]);
    assert_eq!((reply.status, reply.text().as_str()), (200, "OK"));
    let id = reply.log_id();
    for text in [app.logs(&id), app.errors(&id)] {
        assert!(text.contains("engine:"));
        assert!(text.contains("open-runtimes"));
        assert_eq!(text.matches(' ').count(), 1, "{text}");
    }
}

#[test]
fn dev_log_files() {
    let app = spawn_secondary_app();
    let reply = app.action(&[
        ("x-action", "logs"),
        ("x-open-runtimes-logging", "disabled"),
    ]);
    assert_eq!(reply.header("x-open-runtimes-log-id"), Some(""));
    assert_eq!(app.logs("dev"), "");
    assert_eq!(app.errors("dev"), "");

    let reply = app.action(&[("x-action", "logs"), ("x-open-runtimes-logging", "enabled")]);
    assert_eq!(reply.log_id(), "dev");
    assert!(app.logs("dev").contains("Debug log"));
    assert!(app.errors("dev").contains("Error log"));

    let reply = app.action(&[
        ("x-action", "logs"),
        ("x-open-runtimes-logging", "enabled"),
        ("x-open-runtimes-log-id", "myLog"),
    ]);
    assert_eq!(reply.log_id(), "myLog");
    assert!(app.logs("myLog").contains("Debug log"));
    assert!(app.errors("myLog").contains("Error log"));
}

#[test]
fn set_cookie() {
    let app = spawn_app();
    for action in ["setCookie", "setCookie2"] {
        let reply = app.action(&[("x-action", action)]);
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.all("set-cookie"),
            ["cookie=value; path=/", "cookie2=value2; path=/"]
        );
        assert_eq!(reply.header("some-header"), Some("some-value"));
    }
}
