//! The fake refuses the labels Appwrite 1.9.6 refuses (issue 25): a `label:` role whose label is
//! not 1 to 36 alphanumeric characters, in a table's permissions (create and update) and a row's,
//! answered 400 `general_argument_invalid` with Appwrite's message (utopia-php/database 6.0.0
//! `Validator/Label.php`, `Validator/Roles.php`; docs/appwrite-notes.md § Ids, labels and roles).
//! Team ids keep their hyphen (`Validator/Key.php`).

use std::sync::{Arc, Mutex};

use fake_appwrite::FakeAppwrite;
use serde_json::{json, Value};
use shared::appwrite::{AppwriteClient, AppwriteError, Call, Method, Retry};

use crate::support::client_on;

const REFUSAL: &str = "Invalid `permissions` param: Role \"label\" identifier value is invalid: Value must be a valid string between 1 and 36 chars containing only alphanumeric chars";

fn send(
    client: &AppwriteClient,
    method: Method,
    path: &str,
    body: Value,
) -> Result<Value, AppwriteError> {
    let mut call = Call::new(method, path, Retry::OnlyRateLimit);
    call.body = Some(body);
    client.send(&call).map(|r| r.body)
}

fn refused_like_appwrite(result: Result<Value, AppwriteError>) {
    match result {
        Err(AppwriteError::Api {
            status,
            kind,
            message,
        }) => {
            assert_eq!((status, kind.as_str()), (400, "general_argument_invalid"));
            assert_eq!(message, REFUSAL);
        }
        other => panic!("expected Appwrite's refusal, got {other:?}"),
    }
}

fn fake_and_client() -> (FakeAppwrite, AppwriteClient) {
    let fake = FakeAppwrite::start();
    let client = client_on(&fake, &[], Arc::new(Mutex::new(Vec::new())));
    send(
        &client,
        Method::POST,
        "/tablesdb",
        json!({"databaseId": "perm", "name": "perm"}),
    )
    .unwrap();
    (fake, client)
}

#[test]
fn a_hyphenated_label_in_table_permissions_is_refused_on_create_and_update() {
    let (_fake, client) = fake_and_client();
    let old = json!([
        "read(\"team:jobs-operators\")",
        "read(\"label:jobs-operator\")"
    ]);
    let fixed = json!([
        "read(\"team:jobs-operators\")",
        "read(\"label:jobsoperator\")"
    ]);
    refused_like_appwrite(send(
        &client,
        Method::POST,
        "/tablesdb/perm/tables",
        json!({"tableId": "jobs", "name": "jobs", "permissions": old}),
    ));
    let created = send(
        &client,
        Method::POST,
        "/tablesdb/perm/tables",
        json!({"tableId": "jobs", "name": "jobs", "permissions": fixed}),
    )
    .unwrap();
    assert_eq!(created["$permissions"], fixed);
    refused_like_appwrite(send(
        &client,
        Method::PUT,
        "/tablesdb/perm/tables/jobs",
        json!({"name": "jobs", "permissions": old}),
    ));
    let table = send(
        &client,
        Method::GET,
        "/tablesdb/perm/tables/jobs",
        Value::Null,
    )
    .unwrap();
    assert_eq!(
        table["$permissions"], fixed,
        "a refused update changes nothing"
    );
    let updated = send(
        &client,
        Method::PUT,
        "/tablesdb/perm/tables/jobs",
        json!({"name": "Jobs", "permissions": ["read(\"label:jobsviewer\")"]}),
    )
    .unwrap();
    assert_eq!(
        updated["$permissions"],
        json!(["read(\"label:jobsviewer\")"])
    );
}

#[test]
fn a_hyphenated_label_in_row_permissions_is_refused_on_create_and_update() {
    let (fake, client) = fake_and_client();
    fake.add_table("perm", "scratch");
    let rows = "/tablesdb/perm/tables/scratch/rows";
    refused_like_appwrite(send(
        &client,
        Method::POST,
        rows,
        json!({"rowId": "r1", "data": {"a": 1}, "permissions": ["read(\"label:jobs-viewer\")"]}),
    ));
    assert!(
        send(&client, Method::GET, &format!("{rows}/r1"), Value::Null).is_err(),
        "not created"
    );
    send(
        &client,
        Method::POST,
        rows,
        json!({"rowId": "r1", "data": {"a": 1}, "permissions": ["read(\"label:jobsviewer\")"]}),
    )
    .unwrap();
    refused_like_appwrite(send(
        &client,
        Method::PATCH,
        &format!("{rows}/r1"),
        json!({"data": {"a": 2}, "permissions": ["update(\"label:jobs-operator\")"]}),
    ));
    let row = send(&client, Method::GET, &format!("{rows}/r1"), Value::Null).unwrap();
    assert_eq!(row["a"], 1, "a refused update changes nothing");
}

#[test]
#[should_panic(
    expected = "Invalid `labels` param: Value must be a valid string between 1 and 36 chars containing only alphanumeric chars"
)]
fn a_user_cannot_hold_a_label_appwrite_refuses() {
    let fake = FakeAppwrite::start();
    fake.add_user("ops", &["jobs-operator"]);
}
