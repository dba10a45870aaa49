//! `handle` against a fake Appwrite speaking the REST wire format over a real socket: the role
//! lookup (`GET /v1/users/{id}`, memberships) and the worker trigger
//! (`POST /v1/functions/{id}/executions`) carry the request's key and Appwrite's shapes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use job_actions::handle;
use openruntimes::{Context, Logger};
use serde_json::{json, Value};
use shared::job::{JobStatus, JobType};
use shared::platform::Platform;
use shared::store::memory::MemoryStore;
use shared::store::JobStore;
use shared::usecase::{self, Act, Start};

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: String,
}

/// Serves canned Appwrite answers on 127.0.0.1 and records every request.
fn fake_appwrite() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let target = parts.next().unwrap_or_default().to_owned();
            let mut headers = HashMap::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let (status, answer) = if target.starts_with("/v1/users/wire-op") {
                (200, json!({"$id": "wire-op", "labels": ["jobsoperator"]}))
            } else if target.starts_with("/v1/users/") {
                (
                    404,
                    json!({"message": "User not found", "code": 404, "type": "user_not_found"}),
                )
            } else if target.starts_with("/v1/teams/ops/memberships") {
                (
                    200,
                    json!({"total": 0, "memberships": [
                        {"$id": "m1", "userId": "wire-team", "teamId": "ops", "roles": [], "confirm": true}
                    ]}),
                )
            } else if target.starts_with("/v1/functions/orchestrator/executions") {
                (
                    202,
                    json!({"$id": "exec-42", "status": "waiting", "responseStatusCode": 0, "responseBody": ""}),
                )
            } else {
                (
                    404,
                    json!({"message": "not found", "code": 404, "type": "general_route_not_found"}),
                )
            };
            log.lock().unwrap().push(Seen {
                method,
                target,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let text = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (base, seen)
}

fn request(method: &str, path: &str, user: &str) -> Context {
    let mut ctx = Context::new(Logger::new("disabled", Some("wire".into())).unwrap());
    ctx.req.method = method.into();
    ctx.req.path = path.into();
    ctx.req.headers = HashMap::from([
        ("x-appwrite-user-id".to_owned(), user.to_owned()),
        ("x-appwrite-trigger".to_owned(), "http".to_owned()),
        ("x-appwrite-key".to_owned(), "ephemeral-key".to_owned()),
    ]);
    ctx
}

#[test]
fn handle_checks_roles_and_triggers_the_worker_through_appwrites_rest_api() {
    let (base, seen) = fake_appwrite();
    let vars: HashMap<String, String> = [
        ("APPWRITE_FUNCTION_API_ENDPOINT", base.as_str()),
        ("APPWRITE_FUNCTION_PROJECT_ID", "mailer"),
        ("JOBS_OPERATOR_LABELS", "jobsoperator"),
        ("JOBS_OPERATOR_TEAMS", "ops"),
        ("JOBS_WORKER_CAMPAIGN_RUN", "orchestrator"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let store = Arc::new(MemoryStore::new());
    let platform = Platform::new(store.clone(), Arc::new(move |k| vars.get(k).cloned()));
    let act = Act::new(store.as_ref(), "function:orchestrator", platform.now());
    let job = usecase::start(
        &act,
        JobType::CampaignRun,
        Start {
            reference_id: "camp-1".into(),
            ..Start::default()
        },
    )
    .unwrap()
    .job;
    usecase::control(&act, &job.id, shared::job::Event::Pause, None).unwrap();

    let res = handle(
        request("POST", &format!("/v1/jobs/{}/resume", job.id), "wire-op"),
        &platform,
    );
    let body: Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(res.status_code, 200, "{body}");
    assert_eq!(body["trigger"]["executionId"], "exec-42");
    assert_eq!(store.get(&job.id).unwrap().status, JobStatus::Queued);

    let seen = seen.lock().unwrap().clone();
    let user = &seen[0];
    assert_eq!(
        (user.method.as_str(), user.target.as_str()),
        ("GET", "/v1/users/wire-op")
    );
    assert_eq!(user.headers["x-appwrite-key"], "ephemeral-key");
    assert_eq!(user.headers["x-appwrite-project"], "mailer");
    let exec = &seen[1];
    assert_eq!(exec.method, "POST");
    assert_eq!(exec.target, "/v1/functions/orchestrator/executions");
    let sent: Value = serde_json::from_str(&exec.body).unwrap();
    assert_eq!(sent["async"], true);
    let inner: Value = serde_json::from_str(sent["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        inner,
        json!({"event": "start", "jobId": job.id, "run": 2, "referenceId": "camp-1",
               "checkpoint": null})
    );

    // A confirmed team membership grants the role; an unknown user has none.
    let res = handle(request("GET", "/v1/me", "wire-team"), &platform);
    assert_eq!(
        res.status_code,
        200,
        "{}",
        String::from_utf8_lossy(&res.body)
    );
    let res = handle(request("GET", "/v1/me", "wire-stranger"), &platform);
    assert_eq!(res.status_code, 403);
}
