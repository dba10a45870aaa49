//! Who may call what: anonymous, no role, viewer, operator, schedule and event triggers.

use job_actions::routes::{Op, ROUTES};
use serde_json::json;
use shared::job::{JobStatus, JobType};

use crate::support::{spawn_app, TestApp, NOBODY, OPERATOR, VIEWER};

/// A concrete path for every route in the table, using `job_id` for `{id}`.
fn every_route(job_id: &str) -> Vec<(&'static str, String, Op)> {
    ROUTES
        .iter()
        .map(|r| (r.method, r.path.replace("{id}", job_id), r.op))
        .collect()
}

fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    user: Option<&str>,
) -> crate::support::TestResponse {
    let req = app.request(method, path);
    match user {
        Some(u) => req.user(u).send(),
        None => req.send(),
    }
}

#[test]
fn anonymous_callers_get_401_on_every_route_and_nothing_is_written() {
    let app = spawn_app(&[]);
    let job = app.seed(JobType::CampaignRun, JobStatus::Paused, "c1");
    let before = app.snapshot();
    for (method, path, _) in every_route(&job.id) {
        let res = send(&app, method, &path, None);
        assert_eq!(res.status, 401, "{method} {path}: {}", res.body);
        assert_eq!(res.code(), "unauthenticated");
        // An empty user id header is what a function-domain call carries: still anonymous.
        let res = app.request(method, &path).user("").send();
        assert_eq!(res.status, 401, "{method} {path} with empty user");
    }
    assert_eq!(app.snapshot(), before);
}

#[test]
fn schedule_and_event_triggers_get_403_on_every_route_even_with_a_user() {
    let app = spawn_app(&[]);
    let job = app.seed(JobType::CampaignRun, JobStatus::Failed, "c1");
    let before = app.snapshot();
    for trigger in ["schedule", "event"] {
        for (method, path, _) in every_route(&job.id) {
            let res = app
                .request(method, &path)
                .user(OPERATOR)
                .header("x-appwrite-trigger", trigger)
                .send();
            assert_eq!(res.status, 403, "{trigger} {method} {path}");
            assert_eq!(res.code(), "trigger_not_allowed");
        }
    }
    assert_eq!(app.snapshot(), before);
    assert!(app.fake.executions.lock().unwrap().is_empty());
}

#[test]
fn a_user_without_a_role_gets_403_on_every_route() {
    let app = spawn_app(&[]);
    let job = app.seed(JobType::BulkVerify, JobStatus::Running, "l1");
    let before = app.snapshot();
    for (method, path, _) in every_route(&job.id) {
        let res = send(&app, method, &path, Some(NOBODY));
        assert_eq!(res.status, 403, "{method} {path}");
        assert_eq!(res.code(), "forbidden");
    }
    assert_eq!(app.snapshot(), before);
}

#[test]
fn nothing_is_open_when_no_roles_are_configured() {
    let app = spawn_app(&[("JOBS_OPERATOR_LABELS", ""), ("JOBS_VIEWER_LABELS", "")]);
    let res = app.get("/v1/jobs").user(OPERATOR).send();
    assert_eq!(res.status, 403);
    assert_eq!(
        app.fake
            .directory_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no role source configured: Appwrite is not even asked"
    );
}

#[test]
fn viewers_read_every_route_but_get_403_on_every_action_and_nothing_is_written() {
    let app = spawn_app(&[]);
    let job = app.seed(JobType::CampaignRun, JobStatus::Paused, "c1");
    let before = app.snapshot();
    for (method, path, op) in every_route(&job.id) {
        let res = send(&app, method, &path, Some(VIEWER));
        if op.is_action() {
            assert_eq!(res.status, 403, "{method} {path}");
            assert_eq!(res.code(), "forbidden");
        } else {
            assert_eq!(res.status, 200, "{method} {path}: {}", res.body);
        }
    }
    assert_eq!(app.snapshot(), before);
}

#[test]
fn operators_may_call_every_route() {
    let app = spawn_app(&[]);
    for (op, status) in [
        (Op::Pause, JobStatus::Running),
        (Op::Resume, JobStatus::Paused),
        (Op::Cancel, JobStatus::Running),
        (Op::Retry, JobStatus::Failed),
    ] {
        let job = app.seed(JobType::CampaignRun, status, &format!("c-{op:?}"));
        let route = ROUTES.iter().find(|r| r.op == op).unwrap();
        let path = route.path.replace("{id}", &job.id);
        let res = send(&app, route.method, &path, Some(OPERATOR));
        assert!(
            res.status == 200 || res.status == 201,
            "{path}: {}",
            res.body
        );
    }
    let job = app.seed(JobType::CampaignRun, JobStatus::Running, "c2");
    for (method, path, op) in every_route(&job.id) {
        if !op.is_action() {
            assert_eq!(
                send(&app, method, &path, Some(OPERATOR)).status,
                200,
                "{path}"
            );
        }
    }
}

#[test]
fn me_reports_the_role_and_what_granted_it() {
    let app = spawn_app(&[("JOBS_OPERATOR_TEAMS", "ops-team")]);
    app.fake
        .members
        .lock()
        .unwrap()
        .push(("ops-team".into(), "tom".into()));
    let cases = [
        (OPERATOR, "operator", "label:jobsoperator"),
        (VIEWER, "viewer", "label:jobsviewer"),
        ("tom", "operator", "team:ops-team"),
    ];
    for (user, role, source) in cases {
        let res = app.get("/v1/me").user(user).send();
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(
            res.json,
            json!({"userId": user, "role": role, "roleSource": source})
        );
    }
}

#[test]
fn roles_are_cached_per_user_for_the_configured_time() {
    let app = spawn_app(&[("JOBS_ROLE_CACHE_SECONDS", "30")]);
    let calls = || {
        app.fake
            .directory_calls
            .load(std::sync::atomic::Ordering::SeqCst)
    };
    assert_eq!(app.get("/v1/me").user(OPERATOR).send().status, 200);
    assert_eq!(calls(), 1);
    // Demoted in Appwrite: still an operator until the cached role expires.
    app.fake
        .labels
        .lock()
        .unwrap()
        .insert(OPERATOR.into(), vec![]);
    app.advance(29);
    assert_eq!(app.get("/v1/me").user(OPERATOR).send().status, 200);
    assert_eq!(calls(), 1);
    app.advance(1);
    assert_eq!(app.get("/v1/me").user(OPERATOR).send().status, 403);
    assert_eq!(calls(), 2);
}

#[test]
fn a_failing_role_lookup_is_503_and_is_not_cached() {
    let app = spawn_app(&[]);
    *app.fake.directory_down.lock().unwrap() = true;
    let res = app.get("/v1/jobs").user(OPERATOR).send();
    assert_eq!(res.status, 503);
    assert_eq!(res.code(), "roles_unavailable");
    assert!(!res.body.contains("fake outage"), "5xx bodies stay neutral");
    *app.fake.directory_down.lock().unwrap() = false;
    assert_eq!(app.get("/v1/jobs").user(OPERATOR).send().status, 200);
}
