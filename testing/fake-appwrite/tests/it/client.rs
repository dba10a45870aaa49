//! `AppwriteClient` calls beyond rows: executions, users, team memberships.

use std::sync::{Arc, Mutex};

use fake_appwrite::{FakeAppwrite, Fault};
use shared::appwrite::AppwriteError;

use crate::support::client_on;

#[test]
fn create_execution_sends_the_documented_body_and_reads_the_execution() {
    let fake = FakeAppwrite::start();
    let client = client_on(&fake, &[], Arc::new(Mutex::new(Vec::new())));
    let exec = client
        .create_execution(
            "hook-campaign-run",
            r#"{"jobId":"j1"}"#,
            "/resume",
            "POST",
            true,
        )
        .unwrap();
    assert_eq!(exec.status, "waiting");
    let recorded = fake.executions();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].function_id, "hook-campaign-run");
    assert_eq!(recorded[0].body, r#"{"jobId":"j1"}"#);
    assert_eq!(
        (recorded[0].path.as_str(), recorded[0].method.as_str()),
        ("/resume", "POST")
    );
    assert!(recorded[0].asynchronous);
}

#[test]
fn a_failed_execution_request_is_not_repeated_but_a_rate_limited_one_is() {
    let fake = FakeAppwrite::start();
    let sleeps = Arc::new(Mutex::new(Vec::new()));
    let client = client_on(&fake, &[], sleeps.clone());
    fake.inject("POST executions", Fault::ServerError(500), 1);
    let err = client
        .create_execution("f", "{}", "/", "POST", true)
        .unwrap_err();
    assert_eq!(err.kind(), Some("general_server_error"));
    assert_eq!(fake.requests()["POST executions"], 1);

    fake.inject("POST executions", Fault::RateLimited { reset_in: 1 }, 1);
    client
        .create_execution("f", "{}", "/", "POST", true)
        .unwrap();
    assert_eq!(fake.executions().len(), 1, "ran exactly once");
    assert_eq!(sleeps.lock().unwrap().len(), 1);
}

#[test]
fn users_and_memberships_are_read_for_authorization() {
    let fake = FakeAppwrite::start();
    let client = client_on(&fake, &[], Arc::new(Mutex::new(Vec::new())));
    fake.add_user("u1", &["ops"]);
    fake.add_membership("team-ops", "u1", &["owner"]);
    fake.add_membership("team-ops", "u2", &["member"]);
    assert_eq!(client.user_labels("u1").unwrap(), vec!["ops".to_string()]);
    let missing = client.get_user("nobody").unwrap_err();
    assert!(matches!(missing, AppwriteError::Api { status: 404, .. }));
    assert_eq!(missing.kind(), Some("user_not_found"));
    let memberships = client.list_memberships("team-ops", "u1").unwrap();
    assert_eq!(memberships.len(), 1);
    assert_eq!(memberships[0].roles, vec!["owner".to_string()]);
    assert!(client
        .list_memberships("team-ops", "u3")
        .unwrap()
        .is_empty());
    assert_eq!(
        client.list_memberships("no-team", "u1").unwrap_err().kind(),
        Some("team_not_found")
    );
}

#[test]
fn a_bulk_delete_by_query_removes_every_matching_row_not_a_first_page() {
    let fake = FakeAppwrite::start();
    // A table without columns: its rows are not checked against a schema.
    fake.add_table("jobmanager", "scratch");
    let client = client_on(&fake, &[], Arc::new(Mutex::new(Vec::new())));
    for i in 0..40 {
        let kind = if i < 30 { "old" } else { "new" };
        client
            .create_row(
                "scratch",
                &format!("e{i}"),
                serde_json::json!({"kind": kind}),
            )
            .unwrap();
    }
    let query = shared::appwrite::query("equal", Some("kind"), vec![serde_json::json!("old")]);
    let reply = client.delete_rows("scratch", &[query]).unwrap();
    assert_eq!(reply.body["total"], 30);
    let left = fake.rows("jobmanager", "scratch");
    assert_eq!(left.len(), 10, "{:?}", left.keys().collect::<Vec<_>>());
    assert!(left.values().all(|r| r["kind"] == "new"));
}
