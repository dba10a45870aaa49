//! A 5xx says why in a way an operator can act on: a stable code in the answer (with the
//! request id, never the cause), and one line in the function's error log with the cause and
//! the request id, never the key. Driven through a hook on the fake Appwrite misconfigured the
//! ways real deployments are.

use std::collections::HashMap;
use std::sync::Arc;

use fake_appwrite::FakeAppwrite;
use serde_json::{json, Value};
use shared::hooks::{self, Hook};
use shared::http::{self, ApiError};
use shared::job::JobType;
use shared::platform::Platform;
use shared::store::appwrite::AppwriteStore;
use shared::store::StoreError;
use shared::tracker::server_context;
use shared::usecase;

const HOOK: Hook = Hook {
    job_type: JobType::CampaignRun,
    function_id: "hook-campaign-run",
};

/// Starts a job through the hook on a store built from the fake's variables, changed by `edit`.
fn start_with(fake: &FakeAppwrite, edit: impl FnOnce(&mut HashMap<String, String>)) -> Value {
    let mut vars = fake.variables();
    edit(&mut vars);
    let store = AppwriteStore::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let platform = Platform::new(Arc::new(store), Arc::new(|_| None));
    let body = json!({"event": "start", "referenceId": "campaign-42"}).to_string();
    let mut context = server_context(body.as_bytes(), None).unwrap();
    context
        .req
        .headers
        .insert("x-appwrite-execution-id".into(), "exec-77".into());
    let response = hooks::handle(&HOOK, context, &platform);
    let mut answer: Value = serde_json::from_slice(&response.body).unwrap();
    answer["status"] = json!(response.status_code);
    answer
}

#[test]
fn a_key_without_scopes_is_a_500_appwrite_forbidden_with_the_request_id() {
    let fake = FakeAppwrite::start();
    let answer = start_with(&fake, |v| {
        v.insert("APPWRITE_API_KEY".into(), "standard_wrong_key".into());
    });
    assert_eq!(answer["status"], 500, "{answer}");
    assert_eq!(answer["error"]["code"], "appwrite_forbidden");
    assert_eq!(answer["requestId"], "exec-77");
    let text = answer.to_string();
    assert!(
        !text.contains("missing scopes"),
        "the cause stays out of the answer: {text}"
    );
    assert!(!text.contains("standard_wrong_key"), "{text}");
}

#[test]
fn a_wrong_database_id_is_a_500_appwrite_not_found() {
    let fake = FakeAppwrite::start();
    let answer = start_with(&fake, |v| {
        v.insert("JOBS_DATABASE_ID".into(), "jobmanagr".into());
    });
    assert_eq!(answer["status"], 500, "{answer}");
    assert_eq!(answer["error"]["code"], "appwrite_not_found");
    assert_eq!(answer["requestId"], "exec-77");
}

#[test]
fn the_logged_line_carries_code_request_id_and_cause_but_no_key() {
    let fake = FakeAppwrite::start();
    let mut vars = fake.variables();
    vars.insert("APPWRITE_API_KEY".into(), "standard_wrong_key".into());
    let store = AppwriteStore::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let cause = shared::store::JobStore::get(&store, "j1").unwrap_err();
    assert!(matches!(cause, StoreError::Denied(_)), "{cause:?}");
    let err = ApiError::from(usecase::Error::from(cause));
    let line = http::log_line(&err, "exec-77");
    assert!(
        line.starts_with("500 appwrite_forbidden request exec-77: "),
        "{line}"
    );
    assert!(line.contains("general_unauthorized_scope"), "{line}");
    assert!(!line.contains("standard_wrong_key"), "{line}");
}
