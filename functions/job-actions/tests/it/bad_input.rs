//! Bad input of every kind: a 4xx naming the problem, never a 5xx, nothing written.

use serde_json::json;
use shared::job::{JobStatus, JobType};

use crate::support::{spawn_app, OPERATOR};

#[test]
fn every_bad_input_is_a_4xx_naming_the_problem_and_writes_nothing() {
    let app = spawn_app(&[("JOBS_WORKER_CAMPAIGN_RUN", "orchestrator")]);
    let paused = app.seed(JobType::CampaignRun, JobStatus::Paused, "c1");
    let p = &paused.id;
    let cases: Vec<(&str, String, &str, u16, &str, &str)> = vec![
        // method, path, body, status, code, field
        (
            "GET",
            "/v1/jobs?colour=red".into(),
            "",
            400,
            "invalid_input",
            "colour",
        ),
        (
            "GET",
            "/v1/jobs?type=EMAIL".into(),
            "",
            400,
            "invalid_input",
            "type",
        ),
        (
            "GET",
            "/v1/jobs?status=running".into(),
            "",
            400,
            "invalid_input",
            "status",
        ),
        (
            "GET",
            "/v1/jobs?scope=recent".into(),
            "",
            400,
            "invalid_input",
            "scope",
        ),
        (
            "GET",
            "/v1/jobs?from=last-week".into(),
            "",
            400,
            "invalid_input",
            "from",
        ),
        (
            "GET",
            "/v1/jobs?to=2026-02-30T00:00:00Z".into(),
            "",
            400,
            "invalid_input",
            "to",
        ),
        (
            "GET",
            "/v1/jobs?updatedSince=1732870000".into(),
            "",
            400,
            "invalid_input",
            "updatedSince",
        ),
        (
            "GET",
            "/v1/jobs?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z".into(),
            "",
            400,
            "invalid_input",
            "to",
        ),
        (
            "GET",
            "/v1/jobs?limit=0".into(),
            "",
            400,
            "invalid_input",
            "limit",
        ),
        (
            "GET",
            "/v1/jobs?limit=lots".into(),
            "",
            400,
            "invalid_input",
            "limit",
        ),
        (
            "GET",
            "/v1/jobs?cursor=%2Fetc%2Fpasswd".into(),
            "",
            400,
            "invalid_cursor",
            "cursor",
        ),
        (
            "GET",
            "/v1/jobs?cursor=jdeadbeef".into(),
            "",
            400,
            "invalid_cursor",
            "cursor",
        ),
        (
            "GET",
            "/v1/jobs/export?format=xlsx".into(),
            "",
            400,
            "invalid_input",
            "format",
        ),
        (
            "GET",
            "/v1/jobs/export?cursor=jgone".into(),
            "",
            400,
            "invalid_cursor",
            "cursor",
        ),
        (
            "GET",
            "/v1/jobs/summary?type=SQS_POLL".into(),
            "",
            400,
            "invalid_input",
            "type",
        ),
        (
            "GET",
            format!("/v1/jobs/{p}?verbose=1"),
            "",
            400,
            "invalid_input",
            "verbose",
        ),
        (
            "GET",
            "/v1/jobs/jnope".into(),
            "",
            404,
            "job_not_found",
            "jobId",
        ),
        (
            "GET",
            "/v1/jobs/..%2F..".into(),
            "",
            404,
            "job_not_found",
            "jobId",
        ),
        (
            "POST",
            "/v1/jobs/jnope/resume".into(),
            "",
            404,
            "job_not_found",
            "jobId",
        ),
        (
            "POST",
            "/v1/jobs/jnope/retry".into(),
            "",
            404,
            "job_not_found",
            "jobId",
        ),
        (
            "POST",
            format!("/v1/jobs/{p}/resume"),
            "{not json",
            400,
            "invalid_input",
            "body",
        ),
        (
            "POST",
            format!("/v1/jobs/{p}/resume"),
            "[1]",
            400,
            "invalid_input",
            "body",
        ),
        (
            "POST",
            format!("/v1/jobs/{p}/resume"),
            r#"{"reason":7}"#,
            400,
            "invalid_input",
            "reason",
        ),
        (
            "POST",
            format!("/v1/jobs/{p}/cancel"),
            r#"{"force":true}"#,
            400,
            "invalid_input",
            "force",
        ),
        (
            "POST",
            format!("/v1/jobs/{p}/resume?now=1"),
            "",
            400,
            "invalid_input",
            "now",
        ),
        ("GET", "/v1/jobz".into(), "", 404, "route_not_found", ""),
        ("GET", "/jobs".into(), "", 404, "route_not_found", ""),
        (
            "POST",
            format!("/v1/jobs/{p}/delete"),
            "",
            404,
            "route_not_found",
            "",
        ),
        (
            "DELETE",
            format!("/v1/jobs/{p}"),
            "",
            405,
            "method_not_allowed",
            "",
        ),
        (
            "GET",
            format!("/v1/jobs/{p}/resume"),
            "",
            405,
            "method_not_allowed",
            "",
        ),
        ("PUT", "/v1/jobs".into(), "", 405, "method_not_allowed", ""),
    ];
    let before = app.snapshot();
    for (method, path, body, status, code, field) in cases {
        let res = app.request(method, &path).user(OPERATOR).body(body).send();
        assert_eq!(res.status, status, "{method} {path}: {}", res.body);
        assert_eq!(res.code(), code, "{method} {path}");
        assert_eq!(res.field(), field, "{method} {path}");
        assert!(!res.json["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(app.snapshot(), before);
    assert!(app.fake.executions.lock().unwrap().is_empty());
}

#[test]
fn page_sizes_above_500_are_capped_not_refused() {
    let app = spawn_app(&[]);
    let jobs: Vec<shared::job::Job> = {
        let template = app.seed(JobType::SqsPoll, JobStatus::Completed, "poll");
        (0..600)
            .map(|i| {
                let mut j = template.clone();
                j.id = format!("bulk{i:04}");
                j.created_at = template.created_at + chrono::Duration::milliseconds(i);
                j
            })
            .collect()
    };
    app.store
        .inner
        .bulk_load(jobs.into_iter().map(|j| (j, Vec::new())))
        .unwrap();
    let res = app.get("/v1/jobs?limit=1000000").user(OPERATOR).send();
    assert_eq!(res.status, 200);
    assert_eq!(res.job_ids().len(), 500);
    assert!(res.json["nextCursor"].is_string());
}

#[test]
fn wrong_methods_answer_405_with_the_allowed_methods() {
    let app = spawn_app(&[]);
    let res = app.request("DELETE", "/v1/jobs/j1").user(OPERATOR).send();
    assert_eq!(res.status, 405);
    assert_eq!(res.headers["allow"], "GET, OPTIONS");
    let res = app.get("/v1/jobs/j1/pause").user(OPERATOR).send();
    assert_eq!(res.headers["allow"], "POST, OPTIONS");
}

#[test]
fn an_invalid_configuration_is_a_neutral_500_that_names_nothing() {
    let app = spawn_app(&[("JOBS_ROLE_CACHE_SECONDS", "forever")]);
    let res = app.get("/v1/jobs").user(OPERATOR).send();
    assert_eq!(res.status, 500);
    assert_eq!(
        res.json,
        json!({"error": {"code": "misconfigured", "message": "the function is misconfigured", "field": null},
               "requestId": "unknown"})
    );
}

#[test]
fn cors_preflight_and_responses_carry_the_configured_origin_only() {
    let app = spawn_app(&[("JOBS_CORS_ORIGINS", "https://mailer.example")]);
    let res = app
        .request("OPTIONS", "/v1/jobs/j1/pause")
        .header("origin", "https://mailer.example")
        .send();
    assert_eq!(res.status, 204, "preflights need no user");
    assert_eq!(
        res.headers["access-control-allow-origin"],
        "https://mailer.example"
    );
    assert_eq!(res.headers["allow"], "POST, OPTIONS");
    let res = app
        .get("/v1/jobs")
        .user(OPERATOR)
        .header("origin", "https://evil.example")
        .send();
    assert_eq!(res.status, 200);
    assert!(!res.headers.contains_key("access-control-allow-origin"));
    let res = app
        .get("/v1/jobs")
        .header("origin", "https://mailer.example")
        .send();
    assert_eq!(res.status, 401);
    assert_eq!(
        res.headers["access-control-allow-origin"],
        "https://mailer.example"
    );

    let app = spawn_app(&[]);
    let res = app
        .request("OPTIONS", "/v1/jobs")
        .header("origin", "https://mailer.example")
        .send();
    assert!(
        !res.headers.contains_key("access-control-allow-origin"),
        "off by default"
    );
}
