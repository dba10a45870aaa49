//! The second `push tables`, offline: `appwrite.json`'s tables are pushed into the fake Appwrite
//! over the endpoints CLI 12.0.1 calls, read back in the server's shape, and compared with the
//! port of the CLI's comparison. A push after the first must propose nothing.

use deploy_check::cli::{changes, databases_changes, resource_changes, Action, Change, KEYS_TABLE};
use deploy_check::config::AppwriteConfig;
use deploy_check::repo_root;
use fake_appwrite::schema::cli_column_request;
use fake_appwrite::FakeAppwrite;
use serde_json::{json, Value};
use shared::appwrite::{AppwriteClient, Call, Method, Retry};

fn client(fake: &FakeAppwrite) -> AppwriteClient {
    let vars = fake.variables();
    AppwriteClient::new(
        shared::appwrite::AppwriteConfig::from_lookup(|k| vars.get(k).cloned(), None).unwrap(),
    )
}

fn send(client: &AppwriteClient, method: Method, path: &str, body: Value) -> Value {
    let mut call = Call::new(method, path, Retry::OnlyRateLimit);
    call.body = Some(body);
    client
        .send(&call)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .body
}

/// The first push: database, tables, then every column and index as the CLI creates them.
fn first_push(fake: &FakeAppwrite, manifest: &Value) {
    let c = client(fake);
    for db in manifest["tablesDB"].as_array().unwrap() {
        send(
            &c,
            Method::POST,
            "/tablesdb",
            json!({"databaseId": db["$id"], "name": db["name"], "enabled": db["enabled"]}),
        );
    }
    for t in manifest["tables"].as_array().unwrap() {
        let (db, id) = (
            t["databaseId"].as_str().unwrap(),
            t["$id"].as_str().unwrap(),
        );
        send(
            &c,
            Method::POST,
            &format!("/tablesdb/{db}/tables"),
            json!({"tableId": id, "name": t["name"], "permissions": t["$permissions"],
                   "rowSecurity": t["rowSecurity"]}),
        );
        for column in t["columns"].as_array().unwrap() {
            let (kind, body) = cli_column_request(column);
            let path = format!("/databases/{db}/collections/{id}/attributes/{kind}");
            send(&c, Method::POST, &path, body);
        }
        for index in t["indexes"].as_array().unwrap() {
            let body = json!({"key": index["key"], "type": index["type"],
                "attributes": index["columns"], "orders": index["orders"]});
            send(
                &c,
                Method::POST,
                &format!("/databases/{db}/collections/{id}/indexes"),
                body,
            );
        }
    }
}

/// What a second `push tables` of `manifest` would list, per table, after `first_push`.
fn second_push(fake: &FakeAppwrite, manifest: &Value) -> Vec<(String, Change)> {
    let c = client(fake);
    let mut found = Vec::new();
    for t in manifest["tables"].as_array().unwrap() {
        let (db, id) = (
            t["databaseId"].as_str().unwrap(),
            t["$id"].as_str().unwrap(),
        );
        let remote = send(
            &c,
            Method::GET,
            &format!("/tablesdb/{db}/tables/{id}"),
            Value::Null,
        );
        let local_columns = t["columns"].as_array().unwrap();
        let local_indexes = t["indexes"].as_array().unwrap();
        for change in changes(remote["columns"].as_array().unwrap(), local_columns)
            .into_iter()
            .chain(changes(
                remote["indexes"].as_array().unwrap(),
                local_indexes,
            ))
        {
            found.push((id.to_owned(), change));
        }
    }
    found
}

fn repo_manifest() -> Value {
    AppwriteConfig::load(&repo_root().join("appwrite.json"))
        .unwrap()
        .json
}

#[test]
fn a_second_push_of_appwrite_json_proposes_no_change_at_all() {
    let fake = FakeAppwrite::start_with("schema-project", "schema-key");
    let manifest = repo_manifest();
    first_push(&fake, &manifest);
    let found = second_push(&fake, &manifest);
    assert!(
        found.is_empty(),
        "the second push would propose: {found:#?}"
    );
    let questions = second_push_questions(&fake, &manifest);
    assert!(
        questions.is_empty(),
        "the second push would ask about: {questions:#?}"
    );
}

/// The questions a second push would ask before the columns: the databases (one question for
/// all) and each table's own settings (`approveChanges` with `KeysTable`).
fn second_push_questions(fake: &FakeAppwrite, manifest: &Value) -> Vec<String> {
    let c = client(fake);
    let remote = send(&c, Method::GET, "/tablesdb", Value::Null);
    let mut found = databases_changes(
        remote["databases"].as_array().unwrap(),
        manifest["tablesDB"].as_array().unwrap(),
    );
    for t in manifest["tables"].as_array().unwrap() {
        let (db, id) = (
            t["databaseId"].as_str().unwrap(),
            t["$id"].as_str().unwrap(),
        );
        let remote = send(
            &c,
            Method::GET,
            &format!("/tablesdb/{db}/tables/{id}"),
            Value::Null,
        );
        found.extend(resource_changes(
            &remote,
            t,
            KEYS_TABLE,
            &["columns", "indexes"],
        ));
    }
    found
}

#[test]
fn a_project_with_other_databases_is_asked_to_delete_them_on_every_push() {
    let fake = FakeAppwrite::start_with("schema-project", "schema-key");
    fake.add_table("mailer", "campaigns");
    let manifest = repo_manifest();
    first_push(&fake, &manifest);
    assert_eq!(
        second_push_questions(&fake, &manifest),
        ["deleting database \"mailer\""]
    );
}

#[test]
fn the_former_appwrite_json_would_recreate_every_plain_string_and_datetime_column() {
    // The file as it was before: no `encrypt`, datetimes with `"format": "datetime"`.
    let mut former = repo_manifest();
    for t in former["tables"].as_array_mut().unwrap() {
        for c in t["columns"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("encrypt");
            if c["type"] == "datetime" {
                c["format"] = json!("datetime");
            }
        }
    }
    let fake = FakeAppwrite::start_with("schema-project", "schema-key");
    first_push(&fake, &former);
    let found = second_push(&fake, &former);
    let columns: usize = former["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["columns"].as_array().unwrap().len())
        .sum();
    assert!(
        found.iter().all(|(_, c)| c.action == Action::Recreating),
        "{found:#?}"
    );
    // 27 of 35 since the run columns (`run`, integer; `executionId`, string) and `claims`
    // (string) were added.
    assert_eq!((found.len(), columns), (27, 35), "{found:#?}");
}
