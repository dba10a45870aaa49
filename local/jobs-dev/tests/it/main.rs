//! End to end: the real `jobs-dev` binary on a free port with a temporary data folder, driven
//! over HTTP exactly as workers (hooks, with the server key) and the dashboard (the action API,
//! as the development identity) drive it.

mod accounts;
mod alerts;
mod appwrite_shapes;
mod captured;
mod cost;
mod forward;
mod identities;
mod load;
mod observer;
mod schedules;
mod security;
mod tracker;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const KEY: &str = "e2e-test-server-key-0123456789";

/// A running `jobs-dev` process, stopped with SIGTERM on drop.
struct App {
    child: Child,
    url: String,
    http: reqwest::blocking::Client,
    _data: tempfile::TempDir,
}

fn spawn_app(role: &str) -> App {
    spawn_app_with(role, &[]).0
}

/// Starts jobs-dev with extra variables; also answers a channel of its later stdout lines.
fn spawn_app_with(role: &str, vars: &[(&str, &str)]) -> (App, std::sync::mpsc::Receiver<String>) {
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_jobs-dev"));
    // No demo unless a test asks for it (`JOBS_DEV_DEMO` among `vars`, set after).
    command.env("JOBS_DEV_DEMO", "0");
    for (k, v) in vars {
        command.env(k, v);
    }
    let mut child = command
        .env("JOBS_DEV_PORT", "0")
        .env("JOBS_DEV_DATA_DIR", data.path())
        .env("JOBS_DEV_KEY", KEY)
        .env("JOBS_DEV_ROLE", role)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("jobs-dev starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.split("ready at ").nth(1) {
                let _ = tx.send(
                    url.trim_end_matches(" (Ctrl-C to stop)")
                        .trim_end_matches("/jobs")
                        .to_owned(),
                );
            }
            let _ = lines_tx.send(line);
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("jobs-dev prints its URL");
    let app = App {
        child,
        url,
        http: reqwest::blocking::Client::new(),
        _data: data,
    };
    (app, lines)
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl App {
    /// `POST /v1/functions/{id}/executions`; `key` chooses server or development identity.
    fn execute(
        &self,
        function: &str,
        key: bool,
        method: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/v1/functions/{function}/executions", self.url))
            .header("x-appwrite-project", "jobmanager")
            .json(&json!({
                "body": if body.is_null() { String::new() } else { body.to_string() },
                "async": false, "path": path, "method": method,
                "headers": {"content-type": "application/json"},
            }));
        if key {
            req = req.header("x-appwrite-key", KEY);
        }
        let res = req.send().unwrap();
        (res.status().as_u16(), res.json().unwrap())
    }

    /// Runs a function and answers its own status and parsed JSON body.
    fn call(
        &self,
        function: &str,
        key: bool,
        method: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let (status, execution) = self.execute(function, key, method, path, body);
        assert_eq!(status, 201, "execution refused: {execution}");
        let code = execution["responseStatusCode"].as_u64().unwrap() as u16;
        let text = execution["responseBody"].as_str().unwrap();
        (code, serde_json::from_str(text).unwrap_or(Value::Null))
    }

    fn hook(&self, body: Value) -> Value {
        let (code, answer) = self.call("hook-campaign-run", true, "POST", "/", body);
        assert!(code < 300, "hook answered {code}: {answer}");
        answer
    }

    /// The execution document `id` of `function`, read with the server key.
    fn execution(&self, function: &str, id: &str) -> Value {
        self.http
            .get(format!(
                "{}/v1/functions/{function}/executions/{id}",
                self.url
            ))
            .header("x-appwrite-key", KEY)
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    fn action(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        self.call("job-actions", false, method, path, body)
    }
}

#[test]
fn the_dashboard_is_served_at_jobs_and_job_detail_paths() {
    let app = spawn_app("operator");
    let page = app.http.get(format!("{}/jobs", app.url)).send().unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("/assets/app.js"));
    assert_eq!(
        app.http
            .get(format!("{}/jobs/j_123", app.url))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .get(format!("{}/assets/list.js", app.url))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .get(format!("{}/nope", app.url))
            .send()
            .unwrap()
            .status(),
        404
    );
}

#[test]
fn a_job_goes_through_hooks_and_the_action_api_with_its_log() {
    let app = spawn_app("operator");
    let started = app.hook(json!({"event": "start", "referenceId": "camp-e2e", "total": 10}));
    let id = started["job"]["$id"].as_str().unwrap().to_owned();
    assert_eq!(started["control"], "continue");

    let progressed =
        app.hook(json!({"event": "progress", "jobId": id, "done": 5, "message": "5/10 sent"}));
    assert_eq!(progressed["job"]["progress"], 50);

    let (code, paused) = app.action(
        "POST",
        &format!("/v1/jobs/{id}/pause"),
        json!({"reason": "e2e pause"}),
    );
    assert_eq!(code, 200, "{paused}");
    assert_eq!(paused["job"]["status"], "PAUSED");
    // The worker learns it on its next report.
    assert_eq!(
        app.hook(json!({"event": "progress", "jobId": id, "done": 6}))["control"],
        "pause"
    );

    let (code, resumed) = app.action("POST", &format!("/v1/jobs/{id}/resume"), json!({}));
    assert_eq!(
        (code, resumed["job"]["status"].as_str()),
        (200, Some("QUEUED"))
    );
    let (code, cancelled) = app.action(
        "POST",
        &format!("/v1/jobs/{id}/cancel"),
        json!({"reason": "wrong list"}),
    );
    assert_eq!(
        (code, cancelled["job"]["status"].as_str()),
        (200, Some("CANCELLED"))
    );
    let (code, again) = app.action("POST", &format!("/v1/jobs/{id}/cancel"), json!({}));
    assert_eq!(
        (code, again["error"]["code"].as_str()),
        (409, Some("invalid_transition"))
    );

    let (code, retried) = app.action("POST", &format!("/v1/jobs/{id}/retry"), json!({}));
    assert_eq!(code, 201, "{retried}");
    assert_eq!(retried["job"]["retryOf"], id.as_str());

    let (code, detail) = app.action("GET", &format!("/v1/jobs/{id}"), Value::Null);
    assert_eq!(code, 200);
    let events = detail["events"].as_array().unwrap();
    let cancel = events
        .iter()
        .find(|e| e["kind"] == "cancelled")
        .expect("a cancel event");
    assert_eq!(cancel["actor"], "user:dev-user");
    assert_eq!(cancel["message"], "wrong list");

    let (code, list) = app.action("GET", "/v1/jobs?type=CAMPAIGN_RUN&limit=10", Value::Null);
    assert_eq!(code, 200);
    assert_eq!(list["jobs"].as_array().unwrap().len(), 2);
}

#[test]
fn hooks_need_the_server_key_and_a_viewer_cannot_act() {
    let app = spawn_app("viewer");
    let (status, refused) = app.execute(
        "hook-campaign-run",
        false,
        "POST",
        "/",
        json!({"event": "start", "referenceId": "x"}),
    );
    assert_eq!(
        (status, refused["type"].as_str()),
        (401, Some("user_unauthorized"))
    );

    let id = app.hook(json!({"event": "start", "referenceId": "camp-viewer"}))["job"]["$id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, me) = app.action("GET", "/v1/me", Value::Null);
    assert_eq!(me["role"], "viewer");
    let (_, list) = app.action("GET", "/v1/jobs", Value::Null);
    assert_eq!(list["jobs"][0]["actions"], json!([]));
    let (code, _) = app.action("POST", &format!("/v1/jobs/{id}/cancel"), json!({}));
    assert_eq!(code, 403);
}

#[test]
fn execution_requests_are_validated_like_appwrite() {
    let app = spawn_app("operator");
    let res = app
        .http
        .post(format!("{}/v1/functions/job-actions/executions", app.url))
        .json(&json!({"path": "/v1/me", "headers": {"x-appwrite-user-id": "someone-else"}}))
        .send()
        .unwrap();
    assert_eq!(res.status(), 400);
    let (status, _) = app.execute("no-such-function", true, "GET", "/", Value::Null);
    assert_eq!(status, 404);
    let wrong_key = app
        .http
        .post(format!("{}/v1/functions/job-actions/executions", app.url))
        .header("x-appwrite-key", "guessed-key")
        .json(&json!({"path": "/v1/me", "method": "GET"}))
        .send()
        .unwrap();
    assert_eq!(wrong_key.status(), 401);
}

#[test]
fn async_executions_answer_202_and_can_be_read_back() {
    let app = spawn_app("operator");
    let res = app
        .http
        .post(format!("{}/v1/functions/hook-campaign-run/executions", app.url))
        .header("x-appwrite-key", KEY)
        .json(&json!({"async": true, "body": json!({"event": "start", "referenceId": "camp-async"}).to_string()}))
        .send()
        .unwrap();
    assert_eq!(res.status(), 202);
    let execution: Value = res.json().unwrap();
    assert_eq!(execution["status"], "waiting");
    let id = execution["$id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let doc = app.execution("hook-campaign-run", id);
        if doc["status"] == "completed" {
            assert!(doc["responseStatusCode"].as_u64().unwrap() < 300);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "async execution never finished: {doc}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn scheduled_functions_run_on_their_cron() {
    let manifest_dir = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../appwrite.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(repo).unwrap()).unwrap();
    for f in manifest["functions"].as_array_mut().unwrap() {
        if f["$id"] == "job-retention" {
            // Six fields: every second, so the test need not wait for a minute boundary.
            f["schedule"] = json!("* * * * * *");
        }
    }
    let path = manifest_dir.path().join("appwrite.json");
    std::fs::write(&path, manifest.to_string()).unwrap();
    let (_app, lines) =
        spawn_app_with("operator", &[("JOBS_DEV_MANIFEST", path.to_str().unwrap())]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("a scheduled run is reported");
        if line.contains("scheduled job-retention") {
            assert!(line.contains("→ 200"), "{line}");
            break;
        }
    }
}

#[test]
fn a_cross_site_post_is_refused_before_it_reaches_a_function() {
    let app = spawn_app("operator");
    let post = |origin: Option<&str>| {
        let mut req = app
            .http
            .post(format!("{}/v1/functions/job-actions/executions", app.url))
            .json(&json!({"body": "", "async": false, "path": "/v1/jobs/j1/cancel", "method": "POST"}));
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req.send().unwrap()
    };
    let refused = post(Some("https://evil.example"));
    assert_eq!(refused.status().as_u16(), 403);
    let own = post(Some(app.url.as_str()));
    assert_eq!(
        own.status().as_u16(),
        201,
        "the dashboard's own origin passes"
    );
}

/// Sends a Realtime WebSocket upgrade (as a browser would, with `origin` if given) and answers
/// the status code of the handshake's answer.
fn realtime_upgrade(app: &App, origin: Option<&str>) -> u16 {
    use std::io::{Read, Write};
    let authority = app.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
    write!(
        stream,
        "GET /v1/realtime?project=jobmanager&channels[]=rows HTTP/1.1\r\nHost: {authority}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{origin}\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") && stream.read(&mut byte).unwrap() == 1 {
        head.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&head).into_owned();
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {line:?}"))
}

#[test]
fn a_realtime_upgrade_from_another_site_is_refused_and_one_from_the_dashboard_or_a_tool_opens() {
    let app = spawn_app("operator");
    assert_eq!(realtime_upgrade(&app, Some("https://evil.example")), 403);
    assert_eq!(
        realtime_upgrade(&app, Some(app.url.as_str())),
        101,
        "the dashboard's own origin opens"
    );
    assert_eq!(
        realtime_upgrade(&app, None),
        101,
        "a tool without Origin opens"
    );
    // The execution documents are job data too: a page on another site may not read them.
    let read = app
        .http
        .get(format!(
            "{}/v1/functions/job-actions/executions/none",
            app.url
        ))
        .header("origin", "https://evil.example")
        .send()
        .unwrap();
    assert_eq!(read.status().as_u16(), 403);
}
