//! `job-actions`' production wiring end to end on the fake (moved here from job-actions' own
//! tests, so no deployed crate needs this crate even as a dev-dependency): the AppwriteStore,
//! the role lookup and the worker trigger, all with the request's key. Also where the list
//! route's Appwrite cost is counted (store requests per list call), and where a re-triggered
//! worker's execution is followed from the action to the observer.

use std::collections::HashMap;
use std::sync::Arc;

use fake_appwrite::FakeAppwrite;
use job_actions::handle;
use openruntimes::{Context, Logger};
use serde_json::{json, Value};
use shared::job::{Event, JobType};
use shared::observer;
use shared::platform::Platform;
use shared::store::appwrite::AppwriteStore;
use shared::usecase::{self, Act, Start};

fn request(fake: &FakeAppwrite, method: &str, path: &str, user: &str) -> Context {
    let mut ctx = Context::new(Logger::new("disabled", Some("aw".into())).unwrap());
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    ctx.req.method = method.into();
    ctx.req.path = path.into();
    ctx.req.query_string = query.into();
    ctx.req.headers = HashMap::from([
        ("x-appwrite-user-id".to_owned(), user.to_owned()),
        ("x-appwrite-trigger".to_owned(), "http".to_owned()),
        ("x-appwrite-key".to_owned(), fake.key()),
    ]);
    ctx
}

/// Store requests (row routes) served since the last reset, by route label.
fn store_requests(fake: &FakeAppwrite) -> u64 {
    fake.requests()
        .iter()
        .filter(|(label, _)| label.ends_with(" row") || label.ends_with(" rows"))
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn on_appwrite_a_list_costs_one_store_request_and_a_next_page_two() {
    let fake = FakeAppwrite::start();
    fake.add_user("aw-op", &["jobsoperator"]);
    let mut vars = fake.variables();
    vars.insert("JOBS_OPERATOR_LABELS".into(), "jobsoperator".into());
    vars.insert("JOBS_WORKER_CAMPAIGN_RUN".into(), "orchestrator".into());
    let lookup_vars = vars.clone();
    let store = AppwriteStore::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let platform = Platform::new(
        Arc::new(store),
        Arc::new(move |k| lookup_vars.get(k).cloned()),
    );
    let act = Act::new(
        platform.store.as_ref(),
        "function:orchestrator",
        platform.now(),
    );
    let mut ids = Vec::new();
    for i in 0..5 {
        let start = Start {
            reference_id: format!("camp-{i}"),
            ..Start::default()
        };
        ids.push(
            usecase::start(&act, JobType::CampaignRun, start)
                .unwrap()
                .job
                .id,
        );
    }

    // The first call resolves the role (one user lookup), later ones use the cache.
    let res = handle(request(&fake, "GET", "/v1/me", "aw-op"), &platform);
    assert_eq!(
        res.status_code,
        200,
        "{}",
        String::from_utf8_lossy(&res.body)
    );

    fake.reset_requests();
    let res = handle(
        request(
            &fake,
            "GET",
            "/v1/jobs?type=CAMPAIGN_RUN&scope=active&limit=2",
            "aw-op",
        ),
        &platform,
    );
    let body: Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(res.status_code, 200, "{body}");
    assert_eq!(body["jobs"].as_array().unwrap().len(), 2);
    assert_eq!(store_requests(&fake), 1, "{:?}", fake.requests());
    assert_eq!(fake.total_requests(), 1, "the role came from the cache");

    fake.reset_requests();
    let cursor = body["nextCursor"].as_str().unwrap();
    let res = handle(
        request(
            &fake,
            "GET",
            &format!("/v1/jobs?type=CAMPAIGN_RUN&scope=active&limit=2&cursor={cursor}"),
            "aw-op",
        ),
        &platform,
    );
    assert_eq!(res.status_code, 200);
    assert_eq!(store_requests(&fake), 2, "{:?}", fake.requests());

    // Pause and resume through the API: the worker is started with the request's key.
    usecase::control(&act, &ids[0], Event::Pause, None).unwrap();
    let res = handle(
        request(
            &fake,
            "POST",
            &format!("/v1/jobs/{}/resume", ids[0]),
            "aw-op",
        ),
        &platform,
    );
    assert_eq!(
        res.status_code,
        200,
        "{}",
        String::from_utf8_lossy(&res.body)
    );
    let executions = fake.executions();
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0].function_id, "orchestrator");
    assert!(executions[0].asynchronous);
    let sent: Value = serde_json::from_str(&executions[0].body).unwrap();
    assert_eq!(
        sent,
        json!({"event": "start", "jobId": ids[0], "run": 2, "referenceId": "camp-0",
               "checkpoint": null})
    );
}

/// A fake Appwrite with one operator (by label) and the platform job-actions runs on. Each test
/// names its own operator: the role cache is the process's, so a user another test resolved
/// would be answered from it.
fn operator_on_fake(user: &str) -> (FakeAppwrite, Platform) {
    let fake = FakeAppwrite::start();
    fake.add_user(user, &["jobsoperator"]);
    let mut vars = fake.variables();
    vars.insert("JOBS_OPERATOR_LABELS".into(), "jobsoperator".into());
    let lookup_vars = vars.clone();
    let store = AppwriteStore::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let platform = Platform::new(
        Arc::new(store),
        Arc::new(move |k| lookup_vars.get(k).cloned()),
    );
    (fake, platform)
}

/// Issue 31: Appwrite refusing the function's own key on the role lookup (a key without
/// `users.read`: 401 `general_unauthorized_scope`) is a configuration fault, not an outage:
/// 500 `appwrite_forbidden` as the hooks answer it, neutral body with the request id.
#[test]
fn a_key_refused_on_the_role_lookup_is_appwrite_forbidden_not_an_outage() {
    let (fake, platform) = operator_on_fake("aw-key");
    fake.set_key_scopes(Some(&["rows.read", "rows.write", "executions.write"]));
    let res = handle(request(&fake, "GET", "/v1/me", "aw-key"), &platform);
    let body: Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(res.status_code, 500, "{body}");
    assert_eq!(body["error"]["code"], "appwrite_forbidden", "{body}");
    assert!(body.get("retryable").is_none(), "{body}");
    assert!(body["requestId"].is_string(), "{body}");
    let text = body.to_string();
    assert!(
        !text.contains("missing scopes") && !text.contains("users.read"),
        "the cause is logged, not answered: {body}"
    );
    assert_eq!(
        fake.requests().get("GET user"),
        Some(&1),
        "a refusal is not retried: {:?}",
        fake.requests()
    );

    // With the scope granted the same user is served: the refusal was not cached.
    fake.set_key_scopes(None);
    let res = handle(request(&fake, "GET", "/v1/me", "aw-key"), &platform);
    assert_eq!(
        res.status_code,
        200,
        "{}",
        String::from_utf8_lossy(&res.body)
    );
}

/// A real outage on the role lookup (5xx on every attempt) stays 503 `roles_unavailable`.
#[test]
fn an_outage_on_the_role_lookup_stays_roles_unavailable() {
    let (fake, platform) = operator_on_fake("aw-outage");
    fake.inject("GET user", fake_appwrite::Fault::ServerError(503), 100);
    let res = handle(request(&fake, "GET", "/v1/me", "aw-outage"), &platform);
    let body: Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(res.status_code, 503, "{body}");
    assert_eq!(body["error"]["code"], "roles_unavailable", "{body}");
    assert!(body["requestId"].is_string(), "{body}");
}

/// The operator of the tests below: a user of their own, since the role cache is the process's
/// and other tests here need `aw-op` unresolved.
const OPERATOR: &str = "aw-linker";

/// A fake Appwrite with one operator, the campaign worker configured as `orchestrator`, and a
/// CAMPAIGN_RUN job started by that worker's execution `w1` (run 1).
fn campaign_on_fake() -> (FakeAppwrite, Platform, String) {
    let fake = FakeAppwrite::start();
    fake.add_user(OPERATOR, &["jobsoperator"]);
    let mut vars = fake.variables();
    vars.insert("JOBS_OPERATOR_LABELS".into(), "jobsoperator".into());
    vars.insert("JOBS_WORKER_CAMPAIGN_RUN".into(), "orchestrator".into());
    let lookup_vars = vars.clone();
    let store = AppwriteStore::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let platform = Platform::new(
        Arc::new(store),
        Arc::new(move |k| lookup_vars.get(k).cloned()),
    );
    let worker = Act::new(
        platform.store.as_ref(),
        "function:orchestrator",
        platform.now(),
    )
    .in_run(None, Some("w1".into()));
    let start = Start {
        reference_id: "camp-1".into(),
        ..Start::default()
    };
    let id = usecase::start(&worker, JobType::CampaignRun, start)
        .unwrap()
        .job
        .id;
    (fake, platform, id)
}

/// Delivers an execution event to the observer's rules as `job-observer` applies them once
/// Appwrite's signature checked out (`functions/job-observer`), on a store of its own.
fn observe(fake: &FakeAppwrite, platform: &Platform, doc: &Value) -> observer::Outcome {
    let vars = fake.variables();
    let store = AppwriteStore::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let execution = observer::Execution::parse(doc.to_string().as_bytes()).unwrap();
    let observed = observer::observed(|name| platform.var(name), &execution.function_id).unwrap();
    let act = Act::new(&store, "function:job-observer", platform.now());
    observer::observe(&act, observed, &execution).unwrap()
}

/// The document Appwrite's webhook sends when `execution` of `function` fails before its worker
/// said anything (a crash at start-up, a timeout while the runtime was still cold).
fn failed_execution(execution: &str, function: &str) -> Value {
    json!({"$id": execution, "functionId": function, "status": "failed", "trigger": "http",
           "responseStatusCode": 500, "errors": "panicked at main.rs", "duration": 0.4})
}

/// Issue 26: a resumed job's re-triggered worker that dies before its first `start` fails the
/// job at once, named in the reason, instead of leaving it QUEUED for the stall sweeper.
#[test]
fn a_resumed_jobs_retriggered_worker_that_dies_before_start_fails_the_job_at_once() {
    let (fake, platform, id) = campaign_on_fake();
    let user = Act::new(platform.store.as_ref(), "user:aw-linker", platform.now());
    usecase::control(&user, &id, Event::Pause, None).unwrap();
    handle(request(&fake, "GET", "/v1/me", OPERATOR), &platform);

    fake.reset_requests();
    let res = handle(
        request(&fake, "POST", &format!("/v1/jobs/{id}/resume"), OPERATOR),
        &platform,
    );
    let body: Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(res.status_code, 200, "{body}");
    let execution = body["trigger"]["executionId"].as_str().unwrap().to_owned();
    assert_eq!(fake.executions()[0].function_id, "orchestrator");
    assert_eq!(body["job"]["executionId"], execution.as_str(), "{body}");
    // The resume's read and write, and one write more for the link.
    assert_eq!(store_requests(&fake), 3, "{:?}", fake.requests());

    let outcome = observe(
        &fake,
        &platform,
        &failed_execution(&execution, "orchestrator"),
    );
    assert_eq!(outcome.outcome, "failed", "{outcome:?}");
    let job = platform.store.get(&id).unwrap();
    assert_eq!(job.status, shared::job::JobStatus::Failed);
    let error = job.error_message.unwrap();
    assert!(
        error.contains(&execution) && error.contains("while the job was QUEUED"),
        "{error}"
    );
    assert!(error.contains("panicked at main.rs"), "{error}");
}

/// The same for a retry: the new job's worker dies before its first `start`.
#[test]
fn a_retried_jobs_worker_that_dies_before_start_fails_the_new_job_at_once() {
    let (fake, platform, id) = campaign_on_fake();
    let worker = Act::new(
        platform.store.as_ref(),
        "function:orchestrator",
        platform.now(),
    )
    .in_run(Some(1), Some("w1".into()));
    usecase::fail(&worker, &id, "SES throttled", None, None).unwrap();
    handle(request(&fake, "GET", "/v1/me", OPERATOR), &platform);

    fake.reset_requests();
    let res = handle(
        request(&fake, "POST", &format!("/v1/jobs/{id}/retry"), OPERATOR),
        &platform,
    );
    let body: Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(res.status_code, 201, "{body}");
    let new_id = body["job"]["$id"].as_str().unwrap().to_owned();
    let execution = body["trigger"]["executionId"].as_str().unwrap().to_owned();
    // The retried job's read, the new job's create, the link.
    assert_eq!(store_requests(&fake), 3, "{:?}", fake.requests());

    let outcome = observe(
        &fake,
        &platform,
        &failed_execution(&execution, "orchestrator"),
    );
    assert_eq!(
        (outcome.outcome, outcome.job_id.as_deref()),
        ("failed", Some(new_id.as_str()))
    );
    let job = platform.store.get(&new_id).unwrap();
    assert_eq!(job.status, shared::job::JobStatus::Failed);
    let error = job.error_message.unwrap();
    assert!(error.contains(&execution), "{error}");
    // The retried job is untouched: the execution was never its own.
    assert_eq!(
        platform.store.get(&id).unwrap().error_message.as_deref(),
        Some("SES throttled")
    );
}

/// A worker that starts is linked by its own `start`; its execution's later failure fails the
/// job as before, and the old paused run's execution no longer matches anything.
#[test]
fn after_the_retriggered_worker_starts_only_its_own_execution_fails_the_job() {
    let (fake, platform, id) = campaign_on_fake();
    let user = Act::new(platform.store.as_ref(), "user:aw-linker", platform.now());
    usecase::control(&user, &id, Event::Pause, None).unwrap();
    handle(request(&fake, "GET", "/v1/me", OPERATOR), &platform);
    let res = handle(
        request(&fake, "POST", &format!("/v1/jobs/{id}/resume"), OPERATOR),
        &platform,
    );
    let body: Value = serde_json::from_slice(&res.body).unwrap();
    let execution = body["trigger"]["executionId"].as_str().unwrap().to_owned();
    let worker = Act::new(
        platform.store.as_ref(),
        "function:orchestrator",
        platform.now(),
    )
    .in_run(body["job"]["run"].as_u64(), Some(execution.clone()));
    let start = Start {
        reference_id: "camp-1".into(),
        job_id: Some(id.clone()),
        ..Start::default()
    };
    let started = usecase::start(&worker, JobType::CampaignRun, start)
        .unwrap()
        .job;
    assert_eq!(started.execution_id.as_deref(), Some(execution.as_str()));

    let old = observe(&fake, &platform, &failed_execution("w1", "orchestrator"));
    assert_eq!(old.outcome, "ignored", "{old:?}");
    let outcome = observe(
        &fake,
        &platform,
        &failed_execution(&execution, "orchestrator"),
    );
    assert_eq!(outcome.outcome, "failed", "{outcome:?}");
    let error = platform.store.get(&id).unwrap().error_message.unwrap();
    assert!(error.contains("while the job was RUNNING"), "{error}");
}

/// Issue 28: a batch on Appwrite is one read of every job (and each one's possible retry), then
/// per job its write, and for a retry or resume the link of its re-triggered execution.
#[test]
fn on_appwrite_a_batch_costs_one_read_then_a_write_a_job_and_a_link_a_retriggered_job() {
    let (fake, platform, _) = campaign_on_fake();
    let worker = Act::new(
        platform.store.as_ref(),
        "function:orchestrator",
        platform.now(),
    );
    let mut failed = Vec::new();
    let mut running = Vec::new();
    for i in 0..10 {
        let start = Start {
            reference_id: format!("camp-b{i}"),
            ..Start::default()
        };
        let job = usecase::start(&worker, JobType::CampaignRun, start)
            .unwrap()
            .job;
        if i < 5 {
            let w = worker.clone().in_run(Some(job.run), None);
            usecase::fail(&w, &job.id, "SES throttled", None, None).unwrap();
            failed.push(job.id);
        } else {
            running.push(job.id);
        }
    }
    handle(request(&fake, "GET", "/v1/me", OPERATOR), &platform);

    for (action, ids, want) in [("retry", &failed, 1 + 5 * 2), ("cancel", &running, 1 + 5)] {
        fake.reset_requests();
        let mut ctx = request(&fake, "POST", "/v1/jobs/batch", OPERATOR);
        ctx.req.set_body_binary(
            json!({"action": action, "ids": ids, "reason": "bulk"})
                .to_string()
                .into_bytes(),
        );
        let res = handle(ctx, &platform);
        let body: Value = serde_json::from_slice(&res.body).unwrap();
        assert_eq!(res.status_code, 200, "{body}");
        assert_eq!(body["succeeded"], 5, "{body}");
        assert_eq!(
            store_requests(&fake),
            want,
            "{action}: {:?}",
            fake.requests()
        );
    }
    // A repeated retry batch is its one read.
    fake.reset_requests();
    let mut ctx = request(&fake, "POST", "/v1/jobs/batch", OPERATOR);
    ctx.req.set_body_binary(
        json!({"action": "retry", "ids": failed})
            .to_string()
            .into_bytes(),
    );
    let res = handle(ctx, &platform);
    assert_eq!(res.status_code, 200);
    assert_eq!(store_requests(&fake), 1, "{:?}", fake.requests());
}
