//! Sign-in with development users (`JOBS_DEV_USERS`): sessions through Appwrite's Account API,
//! each user acting with its own role, guests and users without a role refused by `execute`.

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
