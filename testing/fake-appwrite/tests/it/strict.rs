//! The fake refuses what Appwrite 1.9.6 refuses, where the store relies on it to catch
//! mistakes: nested queries as strings, over-long queries, `limit(0)`, empty updates, rows that
//! do not fit the table's columns; and it compares text case-insensitively, as production's
//! MariaDB collation does. Expected messages follow Appwrite's own e2e tests where they exist
//! (`tests/e2e/Services/Databases/DatabasesBase.php` at 1.9.6).

use std::sync::{Arc, Mutex};

use fake_appwrite::FakeAppwrite;
use serde_json::{json, Value};
use shared::appwrite::{query, AppwriteClient};

use crate::support::client_on;

fn fake_with_scratch() -> (FakeAppwrite, AppwriteClient) {
    let fake = FakeAppwrite::start();
    fake.add_table("jobmanager", "scratch");
    let client = client_on(&fake, &[], Arc::new(Mutex::new(Vec::new())));
    (fake, client)
}

fn status_and_kind(e: &shared::appwrite::AppwriteError) -> (Option<u16>, Option<&str>) {
    (e.status(), e.kind())
}

#[test]
fn nested_queries_given_as_strings_are_a_server_error_as_objects_they_work() {
    let (_fake, client) = fake_with_scratch();
    client
        .create_row("scratch", "r1", json!({"kind": "a"}))
        .unwrap();
    let inner = query("equal", Some("kind"), vec![json!("a")]);
    let as_strings = json!({"method": "or", "values": [inner, inner]}).to_string();
    let err = client
        .list_rows("scratch", &[as_strings], true)
        .unwrap_err();
    assert_eq!(err.status(), Some(500), "{err}");
    let inner: Value = serde_json::from_str(&inner).unwrap();
    let as_objects = json!({"method": "or", "values": [inner, inner]}).to_string();
    let found = client.list_rows("scratch", &[as_objects], true).unwrap();
    assert_eq!(found.body["total"], 1);
}

#[test]
fn a_query_longer_than_4096_characters_is_refused() {
    let (_fake, client) = fake_with_scratch();
    let ids: Vec<Value> = (0..200).map(|i| json!(format!("row-id-{i:014}"))).collect();
    let long = query("equal", Some("$id"), ids);
    assert!(long.len() > 4096, "{}", long.len());
    let err = client.list_rows("scratch", &[long], true).unwrap_err();
    assert_eq!(
        status_and_kind(&err),
        (Some(400), Some("general_argument_invalid")),
        "{err}"
    );
}

#[test]
fn limit_zero_and_an_update_without_data_are_refused_and_change_nothing() {
    let (fake, client) = fake_with_scratch();
    client
        .create_row("scratch", "r1", json!({"kind": "a"}))
        .unwrap();
    let err = client
        .list_rows("scratch", &[query("limit", None, vec![json!(0)])], true)
        .unwrap_err();
    assert_eq!(
        status_and_kind(&err),
        (Some(400), Some("general_query_invalid"))
    );
    let err = client
        .update_row("scratch", "r1", json!({}), None)
        .unwrap_err();
    assert_eq!(
        status_and_kind(&err),
        (Some(400), Some("row_missing_payload"))
    );
    assert_eq!(fake.rows("jobmanager", "scratch")["r1"]["kind"], "a");
}

#[test]
fn text_compares_case_insensitively_for_equal_starts_with_and_order() {
    let (_fake, client) = fake_with_scratch();
    for (id, name) in [("r1", "beta"), ("r2", "Alpha"), ("r3", "GAMMA")] {
        client
            .create_row("scratch", id, json!({"name": name}))
            .unwrap();
    }
    let ids = |queries: &[String]| -> Vec<String> {
        let reply = client.list_rows("scratch", queries, false).unwrap();
        reply.body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["$id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&[query("equal", Some("name"), vec![json!("gamma")])]),
        ["r3"]
    );
    assert_eq!(
        ids(&[query("startsWith", Some("name"), vec![json!("AL")])]),
        ["r2"]
    );
    assert_eq!(
        ids(&[query("orderAsc", Some("name"), vec![])]),
        ["r2", "r1", "r3"]
    );
}

/// A table `t` with a required 5-character string, an enum and a bounded integer.
fn fake_with_columns() -> (FakeAppwrite, AppwriteClient) {
    let fake = FakeAppwrite::start_with("test-project", "test-key");
    fake.add_manifest_tables(
        &json!({"tables": [{"$id": "t", "databaseId": "jobmanager", "name": "t", "columns": [
            {"key": "name", "type": "string", "required": true, "array": false, "size": 5, "encrypt": false},
            {"key": "enum", "type": "string", "format": "enum", "required": false, "array": false,
             "elements": ["yes", "no", "maybe"]},
            {"key": "range", "type": "integer", "required": false, "array": false, "min": 1, "max": 10}
        ], "indexes": []}]})
        .to_string(),
    );
    let client = client_on(&fake, &[], Arc::new(Mutex::new(Vec::new())));
    (fake, client)
}

#[test]
fn rows_that_do_not_fit_the_columns_are_refused_naming_the_column_and_nothing_is_stored() {
    let (fake, client) = fake_with_columns();
    let refused = |data: Value| {
        let err = client.create_row("t", "r1", data).unwrap_err();
        assert_eq!(err.kind(), Some("row_invalid_structure"), "{err}");
        err.to_string()
    };
    assert!(
        refused(json!({"name": "ok", "colour": "red"})).contains("Unknown attribute: \"colour\"")
    );
    assert!(refused(json!({"enum": "yes"})).contains("Missing required attribute \"name\""));
    assert!(refused(json!({"name": "toolong"})).contains("no longer than 5 chars"));
    // The e2e test's own wording (DatabasesBase.php, `$badEnum`, `$badRange`).
    assert!(refused(json!({"name": "ok", "enum": "sure"})).contains(
        "Invalid document structure: Attribute \"enum\" has invalid format. Value must be one of (yes, no, maybe)"
    ));
    assert!(refused(json!({"name": "ok", "range": 11})).contains(
        "Attribute \"range\" has invalid format. Value must be a valid range between 1 and 10"
    ));
    assert!(fake.rows("jobmanager", "t").is_empty());

    client.create_row("t", "r1", json!({"name": "ok"})).unwrap();
    let err = client
        .update_row("t", "r1", json!({"name": "toolong"}), None)
        .unwrap_err();
    assert_eq!(err.kind(), Some("row_invalid_structure"));
    assert_eq!(fake.rows("jobmanager", "t")["r1"]["name"], "ok");
}
