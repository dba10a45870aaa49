//! The bad-input matrix: every class of malformed input sent to every endpoint (the four hooks,
//! each action route, the sweeper), each answered with its documented 4xx and an
//! `{"error": {"code", "message", "field"}}` body, never a 5xx, and nothing written: the whole
//! store (every job with its `rev`, every log entry) is compared before and after each case.

use serde_json::json;
use shared::job::{JobStatus, JobType};

use crate::world::{Endpoint, Req, World, OPERATOR};

/// One row of the matrix.
struct Case {
    class: &'static str,
    endpoint: Endpoint,
    req: Req,
    status: u16,
    code: &'static str,
    /// The member or parameter the error names; `None` when the error is about the request
    /// as a whole (not JSON, unknown route, wrong method).
    field: Option<&'static str>,
}

fn case(
    class: &'static str,
    endpoint: Endpoint,
    req: Req,
    (status, code, field): (u16, &'static str, Option<&'static str>),
) -> Case {
    Case {
        class,
        endpoint,
        req,
        status,
        code,
        field,
    }
}

const MIB: usize = 1024 * 1024;

fn invalid(field: &'static str) -> (u16, &'static str, Option<&'static str>) {
    (400, "invalid_input", Some(field))
}

/// Every malformed class a hook can receive, aimed at `job` (a RUNNING job of the hook's type)
/// and `foreign` (a RUNNING job of another type).
fn hook_cases(endpoint: Endpoint, job: &str, foreign: &str) -> Vec<Case> {
    let post = |body: String| Req::server("POST", "/", body);
    let raw = |body: &[u8]| Req::server("POST", "/", body.to_vec());
    let bad_json = (400, "invalid_json", None);
    let long = |n: usize| "r".repeat(n);
    let big = json!({"blob": "x".repeat(70_000)});
    let mut cases =
        vec![
        case("invalid JSON", endpoint, raw(b"{not json"), bad_json),
        case(
            "invalid JSON",
            endpoint,
            post(format!(r#"{{"event":"progress","jobId":"{job}""#)),
            bad_json,
        ),
        case("invalid JSON", endpoint, raw(b"\xff\xfe\x00{"), bad_json),
        case("invalid JSON", endpoint, raw(b""), invalid("event")),
        case("invalid JSON", endpoint, raw(b"[1,2]"), invalid("event")),
        case("invalid JSON", endpoint, raw(b"\"start\""), invalid("event")),
        case(
            "wrong types",
            endpoint,
            post(json!({"event": "progress", "jobId": job, "done": "ten"}).to_string()),
            invalid("done"),
        ),
        case(
            "wrong types",
            endpoint,
            post(json!({"event": "start", "referenceId": 5}).to_string()),
            invalid("referenceId"),
        ),
        case(
            "wrong types",
            endpoint,
            post(json!({"event": "heartbeat", "jobId": job, "details": [1]}).to_string()),
            invalid("details"),
        ),
        case(
            "wrong types",
            endpoint,
            post(json!({"event": "complete", "jobId": 7}).to_string()),
            invalid("jobId"),
        ),
        case(
            "wrong types",
            endpoint,
            post(json!({"event": 3, "jobId": job}).to_string()),
            invalid("event"),
        ),
        case(
            "wrong types",
            endpoint,
            post(json!({"event": "progress", "jobId": job, "percent": "half"}).to_string()),
            invalid("percent"),
        ),
        case(
            "missing fields",
            endpoint,
            post(json!({"event": "progress"}).to_string()),
            invalid("jobId"),
        ),
        case(
            "missing fields",
            endpoint,
            post(json!({"event": "fail", "jobId": job}).to_string()),
            invalid("error"),
        ),
        case(
            "missing fields",
            endpoint,
            post(json!({"event": "start"}).to_string()),
            invalid("referenceId"),
        ),
        case(
            "missing fields",
            endpoint,
            post(json!({"jobId": job, "done": 60}).to_string()),
            invalid("event"),
        ),
        case(
            "unknown fields",
            endpoint,
            post(json!({"event": "progress", "jobId": job, "pct": 5}).to_string()),
            invalid("pct"),
        ),
        case(
            "unknown fields",
            endpoint,
            post(json!({"event": "start", "referenceId": "r1", "type": "SQS_POLL"}).to_string()),
            invalid("type"),
        ),
        case(
            "unknown fields",
            endpoint,
            post(json!({"event": "complete", "jobId": job, "status": "COMPLETED"}).to_string()),
            invalid("status"),
        ),
        case(
            "out-of-range numbers",
            endpoint,
            post(json!({"event": "progress", "jobId": job, "percent": 150}).to_string()),
            invalid("percent"),
        ),
        case(
            "out-of-range numbers",
            endpoint,
            post(json!({"event": "progress", "jobId": job, "percent": -0.5}).to_string()),
            invalid("percent"),
        ),
        case(
            "out-of-range numbers",
            endpoint,
            post(json!({"event": "progress", "jobId": job, "done": -1}).to_string()),
            invalid("done"),
        ),
        case(
            "out-of-range numbers",
            endpoint,
            post(format!(
                r#"{{"event":"progress","jobId":"{job}","done":18446744073709551616}}"#
            )),
            invalid("done"),
        ),
        case(
            "out-of-range numbers",
            endpoint,
            post(json!({"event": "progress", "jobId": job, "done": 300}).to_string()),
            invalid("done"),
        ),
        case(
            "out-of-range numbers",
            endpoint,
            post(json!({"event": "progress", "jobId": job, "done": 60, "percent": 10}).to_string()),
            invalid("percent"),
        ),
        case(
            "huge strings",
            endpoint,
            post(json!({"event": "start", "referenceId": long(256)}).to_string()),
            invalid("referenceId"),
        ),
        case(
            "huge strings",
            endpoint,
            post(json!({"event": "start", "referenceId": long(MIB)}).to_string()),
            invalid("referenceId"),
        ),
        case(
            "huge strings",
            endpoint,
            post(json!({"event": "heartbeat", "jobId": long(10_000)}).to_string()),
            invalid("jobId"),
        ),
        case(
            "huge strings",
            endpoint,
            post(json!({"event": "start", "referenceId": "r1", "metadata": big}).to_string()),
            invalid("metadata"),
        ),
        case(
            "huge strings",
            endpoint,
            post(json!({"event": "paused", "jobId": job, "checkpoint": big}).to_string()),
            invalid("checkpoint"),
        ),
        case(
            "control characters",
            endpoint,
            post(json!({"event": "start", "referenceId": "camp\u{0}aign"}).to_string()),
            invalid("referenceId"),
        ),
        case(
            "control characters",
            endpoint,
            post(json!({"event": "heartbeat", "jobId": format!("{job}\n")}).to_string()),
            invalid("jobId"),
        ),
        case(
            "control characters",
            endpoint,
            post(json!({"event": "heartbeat", "jobId": job}).to_string())
                .header("x-job-caller", "orches\u{7}trator"),
            invalid("x-job-caller"),
        ),
        case(
            "control characters",
            endpoint,
            post(json!({"event": "fail", "jobId": job, "error": " \t\n "}).to_string()),
            invalid("error"),
        ),
        case(
            "invalid enum strings",
            endpoint,
            post(json!({"event": "finish", "jobId": job}).to_string()),
            invalid("event"),
        ),
        case(
            "invalid enum strings",
            endpoint,
            post(json!({"event": "PROGRESS", "jobId": job}).to_string()),
            invalid("event"),
        ),
        case(
            "unknown ids",
            endpoint,
            post(json!({"event": "progress", "jobId": "kdoesnotexist", "done": 1}).to_string()),
            (404, "job_not_found", Some("jobId")),
        ),
        case(
            "unknown ids",
            endpoint,
            post(json!({"event": "start", "referenceId": "r1", "jobId": "kgone"}).to_string()),
            (404, "job_not_found", Some("jobId")),
        ),
        case(
            "unknown ids",
            endpoint,
            post(json!({"event": "complete", "jobId": foreign}).to_string()),
            invalid("jobId"),
        ),
        case(
            "unknown ids",
            endpoint,
            post(json!({"event": "heartbeat", "jobId": "../../etc/passwd"}).to_string()),
            invalid("jobId"),
        ),
        case(
            "oversize bodies",
            endpoint,
            raw(&vec![b'{'; 2 * MIB]),
            bad_json,
        ),
        case(
            "oversize bodies",
            endpoint,
            post(
                json!({"event": "complete", "jobId": job, "result": {"log": "x".repeat(2 * MIB)}})
                    .to_string(),
            ),
            invalid("result"),
        ),
    ];
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        cases.push(case(
            "wrong methods",
            endpoint,
            Req::server(
                method,
                "/",
                json!({"event": "heartbeat", "jobId": job}).to_string(),
            ),
            (405, "method_not_allowed", None),
        ));
    }
    cases
}

/// Every malformed class the action API can receive; `paused` is a PAUSED job (so a valid
/// resume would write: only the bad input stops it).
fn action_cases(paused: &str) -> Vec<Case> {
    let a = Endpoint::Actions;
    let get = |path: String| Req::user(OPERATOR, "GET", &path, Vec::new());
    let post = |path: String, body: &[u8]| Req::user(OPERATOR, "POST", &path, body.to_vec());
    let p = paused;
    let long = |n: usize| "q".repeat(n);
    let mut cases = vec![
        case(
            "invalid JSON",
            a,
            post(format!("/v1/jobs/{p}/resume"), b"{not json"),
            invalid("body"),
        ),
        case(
            "invalid JSON",
            a,
            post(format!("/v1/jobs/{p}/pause"), b"[1]"),
            invalid("body"),
        ),
        case(
            "invalid JSON",
            a,
            post(format!("/v1/jobs/{p}/cancel"), b"\xff\xfe"),
            invalid("body"),
        ),
        case(
            "wrong types",
            a,
            post(format!("/v1/jobs/{p}/resume"), br#"{"reason":7}"#),
            invalid("reason"),
        ),
        case(
            "wrong types",
            a,
            post(format!("/v1/jobs/{p}/cancel"), br#"{"reason":["a"]}"#),
            invalid("reason"),
        ),
        case(
            "wrong types",
            a,
            get("/v1/jobs?limit=lots".into()),
            invalid("limit"),
        ),
        // Nothing in the action API is required; an empty value counts as absent
        // (`URLSearchParams` forms send `status=` for "any"), so these are plain reads.
        case(
            "missing fields",
            a,
            get("/v1/jobs?status=".into()),
            (200, "", None),
        ),
        case(
            "missing fields",
            a,
            get("/v1/jobs?type".into()),
            (200, "", None),
        ),
        case(
            "unknown fields",
            a,
            get("/v1/jobs?colour=red".into()),
            invalid("colour"),
        ),
        case(
            "unknown fields",
            a,
            get(format!("/v1/jobs/{p}?verbose=1")),
            invalid("verbose"),
        ),
        case(
            "unknown fields",
            a,
            post(format!("/v1/jobs/{p}/cancel"), br#"{"force":true}"#),
            invalid("force"),
        ),
        case(
            "unknown fields",
            a,
            post(format!("/v1/jobs/{p}/resume?now=1"), b""),
            invalid("now"),
        ),
        case(
            "unknown fields",
            a,
            get("/v1/jobs?limit=5&limit=6".into()),
            invalid("limit"),
        ),
        case(
            "out-of-range numbers",
            a,
            get("/v1/jobs?limit=0".into()),
            invalid("limit"),
        ),
        case(
            "out-of-range numbers",
            a,
            get("/v1/jobs?limit=-5".into()),
            invalid("limit"),
        ),
        case(
            "out-of-range numbers",
            a,
            get("/v1/jobs?limit=99999999999999999999999".into()),
            invalid("limit"),
        ),
        case(
            "huge strings",
            a,
            get(format!("/v1/jobs?q={}", long(256))),
            invalid("q"),
        ),
        case(
            "huge strings",
            a,
            get(format!("/v1/jobs?q={}", long(MIB))),
            invalid("q"),
        ),
        case(
            "huge strings",
            a,
            get(format!("/v1/jobs?cursor={}", long(10_000))),
            (400, "invalid_cursor", Some("cursor")),
        ),
        case(
            "control characters",
            a,
            get("/v1/jobs?q=camp%00aign".into()),
            invalid("q"),
        ),
        case(
            "control characters",
            a,
            get("/v1/jobs?q=a%0Ab".into()),
            invalid("q"),
        ),
        case(
            "control characters",
            a,
            get("/v1/jobs/j%0A1".into()),
            (404, "job_not_found", Some("jobId")),
        ),
        case(
            "invalid enum strings",
            a,
            get("/v1/jobs?type=EMAIL".into()),
            invalid("type"),
        ),
        case(
            "invalid enum strings",
            a,
            get("/v1/jobs?status=running".into()),
            invalid("status"),
        ),
        case(
            "invalid enum strings",
            a,
            get("/v1/jobs?scope=recent".into()),
            invalid("scope"),
        ),
        case(
            "invalid enum strings",
            a,
            get("/v1/jobs/export?format=xlsx".into()),
            invalid("format"),
        ),
        case(
            "invalid enum strings",
            a,
            get("/v1/jobs/summary?type=SQS_POLL".into()),
            invalid("type"),
        ),
        case(
            "malformed dates",
            a,
            get("/v1/jobs?from=last-week".into()),
            invalid("from"),
        ),
        case(
            "malformed dates",
            a,
            get("/v1/jobs?to=2026-02-30T00:00:00Z".into()),
            invalid("to"),
        ),
        case(
            "malformed dates",
            a,
            get("/v1/jobs?updatedSince=1732870000".into()),
            invalid("updatedSince"),
        ),
        case(
            "malformed dates",
            a,
            get("/v1/jobs/export?from=2026-13-01T00:00:00Z".into()),
            invalid("from"),
        ),
        case(
            "reversed ranges",
            a,
            get("/v1/jobs?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z".into()),
            invalid("to"),
        ),
        case(
            "reversed ranges",
            a,
            get("/v1/jobs/export?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z".into()),
            invalid("to"),
        ),
        case(
            "bad cursors",
            a,
            get("/v1/jobs?cursor=%2Fetc%2Fpasswd".into()),
            (400, "invalid_cursor", Some("cursor")),
        ),
        case(
            "bad cursors",
            a,
            get("/v1/jobs?cursor=jdeadbeef".into()),
            (400, "invalid_cursor", Some("cursor")),
        ),
        case(
            "bad cursors",
            a,
            get("/v1/jobs/export?cursor=jgone".into()),
            (400, "invalid_cursor", Some("cursor")),
        ),
        case(
            "unknown ids",
            a,
            get("/v1/jobs/jnope".into()),
            (404, "job_not_found", Some("jobId")),
        ),
        case(
            "unknown ids",
            a,
            get("/v1/jobs/..%2F..".into()),
            (404, "job_not_found", Some("jobId")),
        ),
        case(
            "unknown routes",
            a,
            get("/v1/jobz".into()),
            (404, "route_not_found", None),
        ),
        case(
            "unknown routes",
            a,
            get("/".into()),
            (404, "route_not_found", None),
        ),
        case(
            "unknown routes",
            a,
            post(format!("/v1/jobs/{p}/delete"), b""),
            (404, "route_not_found", None),
        ),
        case(
            "unknown routes",
            a,
            post("/v1/jobs//pause".into(), b""),
            (404, "route_not_found", None),
        ),
        case(
            "unknown routes",
            a,
            get(format!("/v1/jobs/{p}/events/1")),
            (404, "route_not_found", None),
        ),
        case(
            "wrong methods",
            a,
            Req::user(OPERATOR, "DELETE", &format!("/v1/jobs/{p}"), Vec::new()),
            (405, "method_not_allowed", None),
        ),
        case(
            "wrong methods",
            a,
            get(format!("/v1/jobs/{p}/resume")),
            (405, "method_not_allowed", None),
        ),
        case(
            "wrong methods",
            a,
            Req::user(OPERATOR, "PUT", "/v1/jobs", Vec::new()),
            (405, "method_not_allowed", None),
        ),
        case(
            "wrong methods",
            a,
            post("/v1/me".into(), b"{}"),
            (405, "method_not_allowed", None),
        ),
        case(
            "oversize bodies",
            a,
            post(format!("/v1/jobs/{p}/resume"), &vec![b'['; 2 * MIB]),
            invalid("body"),
        ),
        case(
            "oversize bodies",
            a,
            post(
                format!("/v1/jobs/{p}/resume?x={}", long(MIB)),
                br#"{"reason":"ok"}"#,
            ),
            invalid("x"),
        ),
    ];
    // Every action on an unknown job.
    for action in ["pause", "resume", "cancel", "retry"] {
        cases.push(case(
            "unknown ids",
            a,
            post(format!("/v1/jobs/knope/{action}"), b""),
            (404, "job_not_found", Some("jobId")),
        ));
    }
    cases
}

#[test]
fn every_malformed_input_class_on_every_endpoint_is_a_documented_4xx_and_writes_nothing() {
    let world = World::new();
    let running: Vec<(JobType, String)> = JobType::ALL
        .iter()
        .map(|t| (*t, world.seed(*t, JobStatus::Running, "live").id))
        .collect();
    let paused = world
        .seed(JobType::CampaignRun, JobStatus::Paused, "held")
        .id;
    world.seed(JobType::BulkVerify, JobStatus::Completed, "done");

    let mut cases = Vec::new();
    for endpoint in Endpoint::HOOKS {
        let Endpoint::Hook(t) = endpoint else {
            unreachable!()
        };
        let job = &running.iter().find(|(k, _)| *k == t).unwrap().1;
        let foreign = &running.iter().find(|(k, _)| *k != t).unwrap().1;
        cases.extend(hook_cases(endpoint, job, foreign));
    }
    cases.extend(action_cases(&paused));

    let mut failures = Vec::new();
    let mut per_class: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in &cases {
        *per_class.entry(c.class).or_default() += 1;
        let before = world.snapshot();
        let res = world.call(c.endpoint, &c.req);
        let label = format!(
            "[{}] {} {} {} ({} body bytes)",
            c.class,
            c.endpoint.name(),
            c.req.method,
            c.req.path.chars().take(80).collect::<String>(),
            c.req.body.len()
        );
        if res.status >= 500 {
            failures.push(format!("{label}: 5xx {}", res.body));
        }
        let message = res.json["error"]["message"].as_str().unwrap_or("");
        if (res.status, res.code(), res.field()) != (c.status, c.code, c.field)
            || (message.is_empty() && c.status >= 400)
        {
            failures.push(format!(
                "{label}: expected {} {} {:?}, got {} {}",
                c.status,
                c.code,
                c.field,
                res.status,
                res.body.chars().take(300).collect::<String>()
            ));
        }
        if world.snapshot() != before {
            failures.push(format!("{label}: the store changed"));
        }
    }
    assert!(world.upstream_untouched(), "a bad request reached Appwrite");
    println!(
        "bad-input matrix: {} inputs tried across {} endpoints; per class: {per_class:?}; failures: {}",
        cases.len(),
        Endpoint::HOOKS.len() + 1,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The sweeper takes no input: its documented behaviour is to ignore the body, query and
/// method of a server call and run (here with nothing due, so nothing may change). Its only
/// inputs are its variables, and an invalid one is the documented `500 invalid_config` that
/// names the variable and deletes nothing (an operator's mistake, not a caller's: not counted
/// in the matrix above).
#[test]
fn the_sweeper_ignores_malformed_requests_and_a_bad_variable_deletes_nothing() {
    let world = World::new();
    for t in JobType::ALL {
        world.seed(*t, JobStatus::Running, "live");
        world.seed(*t, JobStatus::Completed, "done");
    }
    let requests = [
        Req::server("POST", "/", b"{not json".to_vec()),
        Req::server("POST", "/", vec![b'{'; 2 * MIB]),
        Req::server("GET", "/v1/jobs?limit=0&from=yesterday", Vec::new()),
        Req::server("DELETE", "/unknown/route", b"\xff\x00".to_vec()),
        Req::server("POST", "/", json!({"keep": -1, "batch": "all"}).to_string()),
    ];
    let before = world.snapshot();
    for req in &requests {
        let res = world.call(Endpoint::Retention, req);
        assert_eq!(res.status, 200, "{req:?}: {}", res.body);
        assert_eq!(res.json["deleted"], 0);
        assert_eq!(world.snapshot(), before, "{} {}", req.method, req.path);
    }

    let misconfigured = World::with_vars(&[("JOBS_RETENTION_KEEP", "0")]);
    for t in JobType::ALL {
        misconfigured.seed(*t, JobStatus::Completed, "done");
    }
    let before = misconfigured.snapshot();
    let res = misconfigured.call(Endpoint::Retention, &Req::server("POST", "/", Vec::new()));
    assert_eq!((res.status, res.code()), (500, "invalid_config"));
    assert_eq!(res.json["variables"], json!(["JOBS_RETENTION_KEEP"]));
    assert_eq!(misconfigured.snapshot(), before);
    println!(
        "sweeper: {} malformed requests ignored, 1 invalid variable refused, nothing written",
        requests.len()
    );
}
