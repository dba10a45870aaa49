//! Secrets never leak: the functions run as in production (the Appwrite store and services
//! built from the request's `x-appwrite-key`) behind the runtime shim, against the fake Appwrite
//! with faults injected so every error path runs, with recognisable key and JWT values. Every
//! answer body, every log file the shim writes, and the Display and Debug text of every store
//! error must be free of them. (The dev server's own stdout/stderr are scanned in `local`.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fake_appwrite::{FakeAppwrite, Fault};
use openruntimes::{Context, Response};
use shared::appwrite::{AppwriteClient, AppwriteConfig, RetryPolicy};
use shared::http::{self, ApiError};
use shared::job::JobType;
use shared::platform::{Lookup, Platform};
use shared::store::appwrite::AppwriteStore;
use shared::store::{JobQuery, JobStore};
use shared::usecase::{self, Act, Start};

const KEY: &str = "sekret-key-7f3a9c1e5b2d4f60";
const WRONG_KEY: &str = "sekret-wrongkey-0c4e8a2f6b1d";
const JWT: &str = "eyJsekret-jwt.eyJ1c2VySWQiOiJhbGljZSJ9.c2lnbmF0dXJl";
const SECRETS: [&str; 3] = [KEY, WRONG_KEY, JWT];

/// Retries without real sleeping: the scan is about text, not waiting.
fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        sleep: Arc::new(|_| {}),
    }
}

/// The production platform of one execution (store from the request's key), with the
/// fake's endpoint and project and no `APPWRITE_API_KEY`: the key comes only from the request.
fn platform(ctx: &Context, lookup: &Lookup) -> Result<Platform, ApiError> {
    let config = AppwriteConfig::from_context(ctx, lookup)
        .map_err(|e| ApiError::new(500, "invalid_config", e.to_string()))?;
    let store = AppwriteStore::new(AppwriteClient::new(config).with_retry(fast_retry()));
    Ok(Platform::new(Arc::new(store), lookup.clone()))
}

type Handler = fn(Context, &Platform) -> Response;

fn leaks(text: &str) -> Vec<&'static str> {
    SECRETS.into_iter().filter(|s| text.contains(s)).collect()
}

#[test]
fn keys_and_jwts_never_appear_in_answers_logs_or_store_errors() {
    let fake = FakeAppwrite::start_with("secrets-project", KEY);
    fake.add_table("jobmanager", "jobs");
    fake.add_table("jobmanager", "job_events");
    fake.add_user("alice", &["jobsoperator"]);
    let vars: HashMap<String, String> = HashMap::from([
        ("APPWRITE_FUNCTION_API_ENDPOINT".into(), fake.endpoint()),
        ("APPWRITE_FUNCTION_PROJECT_ID".into(), fake.project()),
        ("JOBS_OPERATOR_LABELS".into(), "jobsoperator".into()),
        ("JOBS_WORKER_CAMPAIGN_RUN".into(), "orchestrator".into()),
    ]);
    let lookup: Lookup = Arc::new(move |k| vars.get(k).cloned());
    let logs = tempfile::tempdir().unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let functions: [(&str, Handler); 3] = [
        ("hook-campaign-run", hook_campaign_run::handle),
        ("job-actions", job_actions::handle),
        ("job-retention", job_retention::handle),
    ];
    let mut addrs = HashMap::new();
    let mut servers = Vec::new();
    for (name, handle) in functions {
        let lookup = lookup.clone();
        let config = runtime_shim::Config {
            listen_addr: [127, 0, 0, 1].into(),
            port: 0,
            logs_dir: logs.path().to_owned(),
            telemetry_dir: logs.path().to_owned(),
            secret: "shim-secret".into(),
            development: false,
            enforced_headers: Vec::new(),
            shutdown_timeout: Duration::from_secs(2),
            max_handlers: runtime_shim::config::DEFAULT_MAX_HANDLERS,
        };
        let server = rt
            .block_on(runtime_shim::Server::bind(
                config,
                move |ctx: Context| match platform(&ctx, &lookup) {
                    Ok(p) => handle(ctx, &p),
                    Err(e) => http::error(&ctx, &e),
                },
            ))
            .expect("shim binds");
        addrs.insert(name, server.local_addr());
        servers.push(server);
    }

    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut calls = 0usize;
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    let mut bodies = String::new();
    let mut call =
        |function: &str, key: &str, user: &str, method: &str, path: &str, body: String| {
            calls += 1;
            let res = http
                .request(
                    method.parse().unwrap(),
                    format!("http://{}{path}", addrs[function]),
                )
                .header("x-open-runtimes-secret", "shim-secret")
                .header("x-open-runtimes-logging", "enabled")
                .header("x-open-runtimes-log-id", format!("call{calls}"))
                .header("x-appwrite-trigger", "http")
                .header("x-appwrite-key", key)
                .header("x-appwrite-user-id", user)
                .header(
                    "x-appwrite-user-jwt",
                    if user.is_empty() { "" } else { JWT },
                )
                .body(body)
                .send()
                .expect("the shim answers");
            let status = res.status().as_u16();
            *statuses.entry(status).or_default() += 1;
            let headers = format!("{:?}", res.headers());
            let text = res.text().unwrap();
            bodies.push_str(&headers);
            bodies.push_str(&text);
            bodies.push('\n');
            text
        };

    // Healthy traffic, then the same under every fault kind, then with a wrong key.
    let started = call(
        "hook-campaign-run",
        KEY,
        "",
        "POST",
        "/",
        r#"{"event":"start","referenceId":"camp-secret","total":10}"#.into(),
    );
    let id = serde_json::from_str::<serde_json::Value>(&started).unwrap()["job"]["$id"]
        .as_str()
        .expect("a job id")
        .to_owned();
    let faults = [
        Fault::ServerError(500),
        Fault::ServerError(503),
        Fault::RateLimited { reset_in: 0 },
        Fault::Drop,
        Fault::DropAfterApply,
        Fault::InvalidJson,
    ];
    let mut injected = 0;
    for round in 0..faults.len() + 1 {
        if let Some(fault) = faults.get(round) {
            fake.inject("*", fault.clone(), 4);
            injected += 4;
        }
        for key in [KEY, WRONG_KEY] {
            let progress = format!(r#"{{"event":"progress","jobId":"{id}","percent":{round}}}"#);
            call("hook-campaign-run", key, "", "POST", "/", progress);
            call(
                "hook-campaign-run",
                key,
                "",
                "POST",
                "/",
                "{bad json".into(),
            );
            call(
                "job-actions",
                key,
                "alice",
                "GET",
                "/v1/jobs",
                String::new(),
            );
            call(
                "job-actions",
                key,
                "alice",
                "POST",
                &format!("/v1/jobs/{id}/pause"),
                "{}".into(),
            );
            call(
                "job-actions",
                key,
                "alice",
                "POST",
                &format!("/v1/jobs/{id}/resume"),
                "{}".into(),
            );
            call("job-actions", key, "", "GET", "/v1/me", String::new());
            call("job-retention", key, "", "POST", "/", String::new());
        }
        fake.clear_faults();
    }
    // No key at all: the store cannot be built.
    call("hook-campaign-run", "", "", "POST", "/", "{}".into());

    for server in servers {
        rt.block_on(server.shutdown());
    }
    let mut log_text = String::new();
    let mut log_files = 0;
    for entry in std::fs::read_dir(logs.path()).unwrap() {
        let path = entry.unwrap().path();
        log_text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        log_files += 1;
    }

    // The store's own errors, Display and Debug, under each fault and with a wrong key.
    let mut error_text = String::new();
    let mut store_errors = 0;
    for key in [KEY, WRONG_KEY] {
        let mut vars = fake.variables();
        vars.insert("APPWRITE_API_KEY".into(), key.into());
        let config = AppwriteConfig::from_lookup(|k| vars.get(k).cloned(), None).unwrap();
        error_text.push_str(&format!("{config:?}\n"));
        let store = AppwriteStore::new(AppwriteClient::new(config).with_retry(fast_retry()));
        error_text.push_str(&format!("{:?}\n", store.client().config()));
        for fault in &faults {
            fake.inject("*", fault.clone(), 8);
            let act = Act::new(&store, "function:secrets", chrono::Utc::now());
            let results = [
                store
                    .get(&id)
                    .err()
                    .map(|e| (e.to_string(), format!("{e:?}"))),
                store
                    .list(&JobQuery::default())
                    .err()
                    .map(|e| (e.to_string(), format!("{e:?}"))),
                usecase::start(
                    &act,
                    JobType::BulkVerify,
                    Start {
                        reference_id: "list-secret".into(),
                        ..Start::default()
                    },
                )
                .err()
                .map(|e| (e.to_string(), format!("{e:?}"))),
            ];
            for (display, debug) in results.into_iter().flatten() {
                store_errors += 1;
                error_text.push_str(&display);
                error_text.push_str(&debug);
            }
            fake.clear_faults();
        }
    }

    println!(
        "secrets: {calls} calls through the shim (statuses {statuses:?}), {injected} faults injected, \
         {log_files} log files ({} bytes), {} bytes of answers, {store_errors} store errors (Display + Debug) scanned; leaks: {}",
        log_text.len(),
        bodies.len(),
        leaks(&bodies).len() + leaks(&log_text).len() + leaks(&error_text).len()
    );
    assert!(
        statuses.keys().any(|s| *s >= 500),
        "the faults produced no server error: {statuses:?}"
    );
    assert!(store_errors > 0 && !log_text.is_empty());
    assert_eq!(leaks(&bodies), Vec::<&str>::new(), "in answers");
    assert_eq!(leaks(&log_text), Vec::<&str>::new(), "in function logs");
    assert_eq!(leaks(&error_text), Vec::<&str>::new(), "in store errors");
}
