//! `JOBS_DEV_FORWARD`: an execution of a function jobs-dev does not host reaches the runtime at
//! the configured address with the headers Appwrite's executor adds, and its answer becomes the
//! execution document; the development identity may not execute it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use serde_json::{json, Value};

use super::spawn_app_with;

/// A one-request runtime: answers `{"sent":3}` and hands back the request it got (head, body).
fn one_shot_runtime() -> (String, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line.to_ascii_lowercase());
        }
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let answer = r#"{"sent":3}"#;
        write!(
            &stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        tx.send((head, String::from_utf8(body).unwrap())).unwrap();
    });
    (format!("http://{addr}"), rx)
}

#[test]
fn a_forwarded_function_runs_at_its_address_with_appwrites_headers() {
    let (runtime, received) = one_shot_runtime();
    let forward = format!("orchestrator={runtime}");
    let (app, _lines) = spawn_app_with("operator", &[("JOBS_DEV_FORWARD", forward.as_str())]);
    let (status, execution) = app.execute(
        "orchestrator",
        true,
        "POST",
        "/run",
        json!({"campaignId": "c1"}),
    );
    assert_eq!(status, 201, "{execution}");
    assert_eq!(execution["responseStatusCode"], 200);
    assert_eq!(execution["responseBody"], r#"{"sent":3}"#);
    let (head, body) = received.recv().unwrap();
    assert!(head.starts_with("post /run "), "{head}");
    assert_eq!(body, r#"{"campaignId":"c1"}"#);
    let id = execution["$id"].as_str().unwrap();
    for header in [
        format!("x-appwrite-execution-id: {id}"),
        "x-appwrite-key: ephemeral_".to_owned(),
        "x-appwrite-trigger: http".to_owned(),
        "content-type: application/json".to_owned(),
    ] {
        assert!(head.contains(&header), "{header} missing in {head}");
    }
    // The key is the worker's own, like Appwrite's: it may execute the hooks, and nothing its
    // scopes leave out (a worker's function has `executions.write` only).
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("x-appwrite-key: "))
        .unwrap()
        .trim();
    let users = app
        .http
        .get(format!("{}/v1/users/operator", app.url))
        .header("x-appwrite-key", key)
        .send()
        .unwrap();
    assert_eq!(users.status().as_u16(), 401);
    let refusal: Value = users.json().unwrap();
    assert_eq!(refusal["type"], "general_unauthorized_scope", "{refusal}");
    assert_eq!(
        refusal["message"],
        r#"User (role: applications) missing scopes (["users.read"])"#
    );
    let hook = app
        .http
        .post(format!(
            "{}/v1/functions/hook-campaign-run/executions",
            app.url
        ))
        .header("x-appwrite-key", key)
        .json(&json!({"body": "{\"action\":\"start\",\"referenceId\":\"c1\"}"}))
        .send()
        .unwrap();
    assert_eq!(hook.status().as_u16(), 201, "{}", hook.text().unwrap());
}

#[test]
fn the_development_identity_may_not_execute_a_forwarded_function() {
    let (app, _lines) = spawn_app_with(
        "operator",
        &[("JOBS_DEV_FORWARD", "orchestrator=http://127.0.0.1:9")],
    );
    let (status, error) = app.execute("orchestrator", false, "POST", "/", json!({}));
    assert_eq!(
        (status, error["type"].as_str()),
        (401, Some("user_unauthorized"))
    );
}

#[test]
fn an_invalid_forward_is_refused_at_start_naming_the_variable() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jobs-dev"))
        .env("JOBS_DEV_FORWARD", "orchestrator=localhost:3000")
        .env("JOBS_DEV_PORT", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JOBS_DEV_FORWARD"));
}
