//! Sign-in with development users (`JOBS_DEV_USERS`): sessions through Appwrite's Account API,
//! each user acting with its own role, guests and users without a role refused by `execute`;
//! a page on another site (a trusted loopback platform) signed in without any cookie, through
//! the `X-Fallback-Cookies` header and the Realtime `authentication` message.

use serde_json::{json, Value};

use crate::{spawn_app_with, App, KEY};

const USERS: &str = r#"[
    {"id": "ops", "email": "ops@example.test", "teams": ["jobs-operators"], "password": "ops-password"},
    {"id": "view", "email": "view@example.test", "teams": ["jobs-viewers"], "password": "view-password"},
    {"id": "new", "email": "new@example.test", "password": "new-password"}
]"#;

fn sign_in(app: &App, email: &str, password: &str) -> (u16, Option<String>) {
    let res = app
        .http
        .post(format!("{}/v1/account/sessions/email", app.url))
        .header("x-appwrite-project", "jobmanager")
        .json(&json!({"email": email, "password": password}))
        .send()
        .unwrap();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("a_session_jobmanager="))
        .map(|c| c.split(';').next().unwrap().to_owned());
    (res.status().as_u16(), cookie)
}

/// `GET /v1/me` of job-actions as the holder of `cookie`: the execution status and the answer.
fn me(app: &App, cookie: Option<&str>) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}/v1/functions/job-actions/executions", app.url))
        .json(&json!({"path": "/v1/me", "method": "GET"}));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().unwrap();
    let status = res.status().as_u16();
    let execution: Value = res.json().unwrap();
    let body = execution["responseBody"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

#[test]
fn each_development_user_signs_in_and_acts_with_its_own_role() {
    let (app, _) = spawn_app_with("operator", &[("JOBS_DEV_USERS", USERS)]);
    let (status, ops) = sign_in(&app, "ops@example.test", "ops-password");
    assert_eq!(status, 201);
    let (status, body) = me(&app, ops.as_deref());
    assert_eq!((status, body["role"].as_str()), (201, Some("operator")));
    assert_eq!(body["userId"], "ops");

    let (_, view) = sign_in(&app, "view@example.test", "view-password");
    assert_eq!(me(&app, view.as_deref()).1["role"], "viewer");

    let account: Value = app
        .http
        .get(format!("{}/v1/account", app.url))
        .header("cookie", view.clone().unwrap())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(account["email"], "view@example.test");
}

#[test]
fn guests_wrong_passwords_and_users_without_a_role_are_refused() {
    let (app, _) = spawn_app_with("operator", &[("JOBS_DEV_USERS", USERS)]);
    assert_eq!(
        sign_in(&app, "ops@example.test", "not-the-password"),
        (401, None)
    );
    // No session: a guest, whom `execute` does not list.
    assert_eq!(me(&app, None).0, 401);
    let (_, new) = sign_in(&app, "new@example.test", "new-password");
    assert_eq!(
        me(&app, new.as_deref()).0,
        401,
        "a user in no team may not execute"
    );
    let account = app
        .http
        .get(format!("{}/v1/account", app.url))
        .send()
        .unwrap();
    assert_eq!(account.status().as_u16(), 401);
}

#[test]
fn signing_out_ends_the_session() {
    let (app, _) = spawn_app_with("operator", &[("JOBS_DEV_USERS", USERS)]);
    let (_, ops) = sign_in(&app, "ops@example.test", "ops-password");
    let out = app
        .http
        .delete(format!("{}/v1/account/sessions/current", app.url))
        .header("cookie", ops.clone().unwrap())
        .send()
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    assert_eq!(me(&app, ops.as_deref()).0, 401);
}

#[test]
fn the_dev_counters_need_the_server_key_and_count_executions_and_store_calls() {
    let (app, _) = spawn_app_with("operator", &[]);
    let refused = app
        .http
        .get(format!("{}/v1/dev/stats", app.url))
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    app.hook(json!({"event": "start", "referenceId": "counted"}));
    let stats: Value = app
        .http
        .get(format!("{}/v1/dev/stats", app.url))
        .header("x-appwrite-key", KEY)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(stats["executions"]["hook-campaign-run"], 1);
    assert!(
        stats["store"]["hook-campaign-run"]["writes"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

/// The page's origin in the cross-site tests: another site than the API's `localhost`.
const PAGE: &str = "http://127.0.0.1:5173";

/// The app's URL with `localhost` for its host, so the page above is on another site.
fn localhost(app: &App) -> String {
    app.url.replace("127.0.0.1", "localhost")
}

/// Signs in from `PAGE`, answering the status and the `X-Fallback-Cookies` header.
fn sign_in_from_page(app: &App, email: &str, password: &str) -> (u16, Option<String>) {
    let res = app
        .http
        .post(format!("{}/v1/account/sessions/email", localhost(app)))
        .header("x-appwrite-project", "jobmanager")
        .header("origin", PAGE)
        .json(&json!({"email": email, "password": password}))
        .send()
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        PAGE,
        "the page may read the answer"
    );
    let fallback = res
        .headers()
        .get("x-fallback-cookies")
        .map(|v| v.to_str().unwrap().to_owned());
    (res.status().as_u16(), fallback)
}

#[test]
fn a_page_on_another_site_signs_in_and_acts_through_the_fallback_header_alone() {
    let (app, _) = spawn_app_with("operator", &[("JOBS_DEV_USERS", USERS)]);
    // The browser's preflight for the SDK's headers.
    let preflight = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/account/sessions/email", localhost(&app)),
        )
        .header("origin", PAGE)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-appwrite-project,x-fallback-cookies",
        )
        .send()
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(allowed.contains("X-Fallback-Cookies") && allowed.contains("X-Appwrite-Project"));
    assert_eq!(
        preflight.headers()["access-control-allow-credentials"],
        "true"
    );

    let (status, fallback) = sign_in_from_page(&app, "ops@example.test", "ops-password");
    assert_eq!(status, 201);
    let fallback = fallback.expect("sign-in from another site answers X-Fallback-Cookies");
    let secret: Value = serde_json::from_str(&fallback).unwrap();
    assert!(secret["a_session_jobmanager"]
        .as_str()
        .is_some_and(|s| s.len() >= 32));

    // No cookie at all: the header names the session, as the Web SDK sends it back.
    let res = app
        .http
        .post(format!(
            "{}/v1/functions/job-actions/executions",
            localhost(&app)
        ))
        .header("origin", PAGE)
        .header("x-fallback-cookies", &fallback)
        .json(&json!({"path": "/v1/me", "method": "GET"}))
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let execution: Value = res.json().unwrap();
    let me: Value = serde_json::from_str(execution["responseBody"].as_str().unwrap()).unwrap();
    assert_eq!(
        (me["userId"].as_str(), me["role"].as_str()),
        (Some("ops"), Some("operator"))
    );

    // Signing out answers an empty fallback, which the SDK stores over the old one.
    let out = app
        .http
        .delete(format!("{}/v1/account/sessions/current", localhost(&app)))
        .header("origin", PAGE)
        .header("x-fallback-cookies", &fallback)
        .send()
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    assert_eq!(out.headers()["x-fallback-cookies"], "[]");
    let account = app
        .http
        .get(format!("{}/v1/account", localhost(&app)))
        .header("origin", PAGE)
        .header("x-fallback-cookies", &fallback)
        .send()
        .unwrap();
    assert_eq!(account.status().as_u16(), 401);
}

type Socket = tokio_tungstenite::tungstenite::WebSocket<std::net::TcpStream>;

/// The next text message of a socket, as JSON.
fn next(socket: &mut Socket) -> Value {
    loop {
        if let tokio_tungstenite::tungstenite::Message::Text(text) = socket.read().unwrap() {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

fn say(socket: &mut Socket, message: Value) -> Value {
    let text = tokio_tungstenite::tungstenite::Message::text(message.to_string());
    socket.send(text).unwrap();
    next(socket)
}

#[test]
fn a_realtime_socket_from_another_site_signs_in_with_an_authentication_message() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (app, _) = spawn_app_with("operator", &[("JOBS_DEV_USERS", USERS)]);
    let (_, fallback) = sign_in_from_page(&app, "view@example.test", "view-password");
    let fallback: Value = serde_json::from_str(&fallback.unwrap()).unwrap();
    let session = fallback["a_session_jobmanager"]
        .as_str()
        .unwrap()
        .to_owned();

    // As a browser opens it: no cookie (blocked), the page's Origin.
    let url = format!("{}/v1/realtime?project=jobmanager", localhost(&app)).replace("http", "ws");
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", PAGE.parse().unwrap());
    let stream = std::net::TcpStream::connect(app.url.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let (mut socket, answer) = tokio_tungstenite::tungstenite::client(request, stream).unwrap();
    assert_eq!(answer.status().as_u16(), 101);
    let connected = next(&mut socket);
    assert_eq!(connected["type"], "connected");
    assert_eq!(connected["data"]["user"], Value::Null, "not signed in yet");

    let wrong = json!({"type": "authentication", "data": {"session": "not-a-session"}});
    assert_eq!(
        say(&mut socket, wrong),
        json!({"type": "error", "data": {"code": 1003, "message": "Session is not valid."}})
    );
    let right = json!({"type": "authentication", "data": {"session": session}});
    let answer = say(&mut socket, right);
    assert_eq!(
        (answer["type"].as_str(), answer["data"]["to"].as_str()),
        (Some("response"), Some("authentication")),
        "{answer}"
    );
    assert_eq!(answer["data"]["user"]["email"], "view@example.test");

    // Signed in, the socket gets the rows its user may read.
    let subscribe = json!({"type": "subscribe", "data": [{
        "subscriptionId": "jobs", "channels": ["tablesdb.jobmanager.tables.jobs.rows"], "queries": [],
    }]});
    assert_eq!(say(&mut socket, subscribe)["data"]["success"], true);
    app.hook(json!({"event": "start", "referenceId": "seen-across-sites"}));
    let event = next(&mut socket);
    assert_eq!(event["type"], "event", "{event}");
    assert_eq!(event["data"]["payload"]["referenceId"], "seen-across-sites");
}
