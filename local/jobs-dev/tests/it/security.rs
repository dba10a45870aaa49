//! Security through the real HTTP path: the server-only functions (every hook, the sweeper)
//! refuse callers without the server key at Appwrite's executions endpoint, and no key or JWT
//! ever shows in an answer, an execution's logs, a leftover log file, or the dev server's
//! stdout and stderr, including when functions fail. A page on another site reaches the API only
//! as a trusted platform: loopback, and only when calls need a session.

use serde_json::{json, Value};

use crate::captured::Captured;
use shared::job::JobType;

#[test]
fn server_only_functions_refuse_every_caller_without_the_server_key() {
    let key = "authz-server-key-5d1f0e9a7c3b";
    let dev = Captured::start(key, &[]);
    let body = json!({"event": "start", "referenceId": "authz"}).to_string();
    let mut cells = 0;
    let hooks = JobType::ALL.iter().map(|t| t.hook_function());
    for function in hooks.chain(["job-retention"]) {
        for (who, caller_key) in [
            ("the dev user (no key)", None),
            ("a wrong key", Some("guessed-key-0000000000")),
        ] {
            let (status, text) = dev
                .execute(function, caller_key, "POST", "/", &body)
                .unwrap();
            let answer: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                (status, answer["type"].as_str()),
                (401, Some("user_unauthorized")),
                "{function} as {who}: {text}"
            );
            cells += 1;
        }
        // A caller cannot smuggle a user identity or a key in the execution's headers.
        for header in ["x-appwrite-user-id", "x-appwrite-key", "x-appwrite-trigger"] {
            let res = dev
                .http
                .post(format!("{}/v1/functions/{function}/executions", dev.url))
                .header("x-appwrite-key", key)
                .json(&json!({"body": body, "headers": {header: "alice"}}))
                .send()
                .unwrap();
            assert_eq!(res.status(), 400, "{function} with {header}");
            cells += 1;
        }
        // With the key, the function runs (so the refusals above are the gate, not breakage).
        let (status, _) = dev.run(function, "POST", "/", &body);
        assert!(status < 300, "{function} with the key answered {status}");
        cells += 1;
    }
    // The action API is the one function users may execute (`execute` lists the jobs teams).
    let (status, text) = dev
        .execute("job-actions", None, "GET", "/v1/me", "")
        .unwrap();
    assert_eq!(status, 201, "{text}");
    println!("authorization matrix (dev server executions endpoint): {cells} cells");
}

#[test]
fn keys_and_jwts_never_appear_in_answers_logs_or_server_output() {
    let key = format!("sekret-key-{}-3b9e71c4a0f2", std::process::id());
    let wrong = "sekret-wrongkey-8c2d5e0f1a7b".to_owned();
    // The development identity's JWT the gateway hands job-actions (`local-jwt.<user>`).
    let jwt = "local-jwt.dev-user".to_owned();
    // Resume re-triggers a worker that does not exist: an error path that logs.
    let mut dev = Captured::start(&key, &[("JOBS_WORKER_CAMPAIGN_RUN", "no-such-worker")]);
    let mut answers = String::new();
    let mut calls = 0;
    let mut record = |(status, text): (u16, String)| {
        calls += 1;
        answers.push_str(&text);
        answers.push('\n');
        status
    };
    let started = dev.run(
        "hook-campaign-run",
        "POST",
        "/",
        &json!({"event": "start", "referenceId": "camp-secret", "total": 10}).to_string(),
    );
    let id = started.1["job"]["$id"].as_str().unwrap().to_owned();
    let hook_bodies = [
        json!({"event": "progress", "jobId": id, "done": 3}).to_string(),
        "{not json".to_owned(),
        json!({"event": "progress", "jobId": "kmissing", "done": 1}).to_string(),
        json!({"event": "fail", "jobId": id, "error": ""}).to_string(),
    ];
    for body in &hook_bodies {
        for caller in [Some(key.as_str()), Some(wrong.as_str()), None] {
            record(
                dev.execute("hook-campaign-run", caller, "POST", "/", body)
                    .unwrap(),
            );
        }
        record(
            dev.execute("hook-campaign-run", Some(&key), "GET", "/", body)
                .unwrap(),
        );
    }
    for (method, path, body) in [
        ("GET", "/v1/me".to_owned(), ""),
        ("GET", "/v1/jobs?limit=5".to_owned(), ""),
        ("GET", "/v1/jobs?cursor=jnope".to_owned(), ""),
        ("POST", format!("/v1/jobs/{id}/pause"), "{}"),
        ("POST", format!("/v1/jobs/{id}/resume"), "{}"),
        ("POST", format!("/v1/jobs/{id}/resume"), "{bad"),
        ("POST", format!("/v1/jobs/{id}/cancel"), "{}"),
        ("POST", format!("/v1/jobs/{id}/retry"), "{}"),
        ("GET", format!("/v1/jobs/{id}"), ""),
        ("DELETE", "/v1/jobs".to_owned(), ""),
    ] {
        for caller in [None, Some(wrong.as_str())] {
            record(
                dev.execute("job-actions", caller, method, &path, body)
                    .unwrap(),
            );
        }
    }
    for caller in [Some(key.as_str()), Some(wrong.as_str()), None] {
        record(
            dev.execute("job-retention", caller, "POST", "/", "")
                .unwrap(),
        );
    }
    // Async executions are read back through the executions API.
    let res = dev
        .http
        .post(format!(
            "{}/v1/functions/hook-campaign-run/executions",
            dev.url
        ))
        .header("x-appwrite-key", &key)
        .json(&json!({"async": true, "body": "{broken"}))
        .send()
        .unwrap();
    let doc: Value = res.json().unwrap();
    // Read it back once it has finished (polled: an async execution ends when it ends).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let read_back = loop {
        let res = dev
            .http
            .get(format!(
                "{}/v1/functions/hook-campaign-run/executions/{}",
                dev.url,
                doc["$id"].as_str().unwrap()
            ))
            .header("x-appwrite-key", &key)
            .send()
            .unwrap();
        let (status, text) = (res.status().as_u16(), res.text().unwrap());
        let done = serde_json::from_str::<Value>(&text)
            .map(|d| d["status"] == "completed" || d["status"] == "failed")
            .unwrap_or(true);
        if done || std::time::Instant::now() > deadline {
            break (status, text);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    record(read_back);
    // Other routes of the dev server's Appwrite slice.
    for path in ["/v1/users/dev-user", "/v1/teams/jobs-operators/memberships"] {
        let res = dev
            .http
            .get(format!("{}{path}", dev.url))
            .header("x-appwrite-key", &wrong)
            .send()
            .unwrap();
        record((res.status().as_u16(), res.text().unwrap()));
    }

    dev.stop();
    let mut files = String::new();
    let mut file_count = 0;
    for entry in std::fs::read_dir(dev.data.path().join("logs")).unwrap() {
        files.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
        file_count += 1;
    }
    let stdout = dev.stdout.lock().unwrap().clone();
    let stderr = dev.stderr.lock().unwrap().clone();
    let secrets = [key.as_str(), wrong.as_str(), jwt.as_str()];
    let mut leaks = Vec::new();
    for (what, text) in [
        ("answers", &answers),
        ("log files", &files),
        ("stdout", &stdout),
        ("stderr", &stderr),
    ] {
        for secret in secrets {
            if text.contains(secret) {
                leaks.push(format!("{secret} in {what}"));
            }
        }
    }
    println!(
        "secrets (dev server): {calls} calls; scanned {} bytes of answers (with execution logs), \
         {file_count} leftover log files, {} bytes stdout, {} bytes stderr; leaks: {}",
        answers.len(),
        stdout.len(),
        stderr.len(),
        leaks.len()
    );
    // The scan saw the error paths it is about.
    assert!(answers.contains("no-such-worker") || answers.contains("worker"));
    assert!(answers.contains("user_unauthorized"));
    assert!(leaks.is_empty(), "{leaks:?}");
}

#[test]
fn only_loopback_pages_are_trusted_across_sites_and_only_when_calls_need_a_session() {
    let users = r#"[{"id": "ops", "email": "ops@example.test", "teams": ["jobs-operators"], "password": "ops-password"}]"#;
    let post = |app: &crate::App, origin: &str| {
        app.http
            .post(format!(
                "{}/v1/functions/job-actions/executions",
                app.url.replace("127.0.0.1", "localhost")
            ))
            .header("origin", origin)
            .header("sec-fetch-site", "cross-site")
            .json(&json!({"path": "/v1/me", "method": "GET"}))
            .send()
            .unwrap()
    };
    let (signed, _) = crate::spawn_app_with("operator", &[("JOBS_DEV_USERS", users)]);
    for origin in [
        "https://evil.example",
        "http://127.0.0.1.evil.example",
        "http://10.0.0.7:5173",
    ] {
        let res = post(&signed, origin);
        assert_eq!(res.status().as_u16(), 403, "{origin}");
        assert!(
            res.headers().get("access-control-allow-origin").is_none(),
            "{origin}"
        );
    }
    // A trusted page reaches Appwrite's checks: without a session it is a guest, whom
    // `execute` refuses, and the page may read that answer.
    let guest = post(&signed, "http://127.0.0.1:5173");
    assert_eq!(guest.status().as_u16(), 401);
    assert_eq!(
        guest.headers()["access-control-allow-origin"],
        "http://127.0.0.1:5173"
    );

    // Without sign-in every browser call would be the password-less development identity.
    let (open, _) = crate::spawn_app_with("operator", &[]);
    assert_eq!(post(&open, "http://127.0.0.1:5173").status().as_u16(), 403);
}
