//! Issue 31: the `total` param of a list, read as Appwrite 1.9.6 reads it. The route validates
//! it with a loose `Boolean` (`true`, `false`, `1`, `0`) and hands the raw string to
//! `bool $includeTotal`, where PHP makes every non-empty string but `"0"` true: `total=false`
//! still counts, only `total=0` skips the count (docs/appwrite-notes.md § Query limits;
//! Appwrite 1.9.6 `Databases/Http/Databases/Collections/Documents/XList.php` l.76, l.89).

use std::sync::{Arc, Mutex};

use fake_appwrite::FakeAppwrite;
use serde_json::json;
use shared::appwrite::{AppwriteClient, AppwriteError, Call, Method, Retry};

use crate::support::client_on;

fn fake_with_rows() -> (FakeAppwrite, AppwriteClient) {
    let fake = FakeAppwrite::start();
    fake.add_table("jobmanager", "scratch");
    let client = client_on(&fake, &[], Arc::new(Mutex::new(Vec::new())));
    for id in ["r1", "r2", "r3"] {
        client
            .create_row("scratch", id, json!({"kind": "a"}))
            .unwrap();
    }
    (fake, client)
}

fn list_total(
    client: &AppwriteClient,
    path: &str,
    total: Option<&str>,
) -> Result<u64, AppwriteError> {
    let mut call = Call::new(Method::GET, path, Retry::OnlyRateLimit);
    if let Some(t) = total {
        call.query.push(("total", t.to_string()));
    }
    let reply = client.send(&call)?;
    Ok(reply.body["total"].as_u64().expect("numeric total"))
}

const ROWS: &str = "/tablesdb/jobmanager/tables/scratch/rows";

#[test]
fn only_total_zero_skips_the_count_false_still_counts() {
    let (_fake, client) = fake_with_rows();
    assert_eq!(list_total(&client, ROWS, None).unwrap(), 3);
    assert_eq!(list_total(&client, ROWS, Some("true")).unwrap(), 3);
    assert_eq!(list_total(&client, ROWS, Some("1")).unwrap(), 3);
    assert_eq!(list_total(&client, ROWS, Some("false")).unwrap(), 3);
    assert_eq!(list_total(&client, ROWS, Some("0")).unwrap(), 0);
}

#[test]
fn a_total_that_is_no_boolean_is_refused() {
    let (_fake, client) = fake_with_rows();
    for bad in ["no", "", "FALSE", "2"] {
        match list_total(&client, ROWS, Some(bad)) {
            Err(AppwriteError::Api {
                status,
                kind,
                message,
            }) => {
                assert_eq!(
                    (status, kind.as_str()),
                    (400, "general_argument_invalid"),
                    "{bad}"
                );
                assert_eq!(
                    message,
                    "Invalid `total` param: Value must be a valid boolean"
                );
            }
            other => panic!("total={bad:?}: expected a refusal, got {other:?}"),
        }
    }
}

#[test]
fn memberships_read_total_the_same_way() {
    let fake = FakeAppwrite::start();
    fake.add_team("team-ops");
    fake.add_membership("team-ops", "u1", &["owner"]);
    let client = client_on(&fake, &[], Arc::new(Mutex::new(Vec::new())));
    let path = "/teams/team-ops/memberships";
    assert_eq!(list_total(&client, path, Some("false")).unwrap(), 1);
    assert_eq!(list_total(&client, path, Some("0")).unwrap(), 0);
}

/// The client sends what really skips the count: a regression to `total=false` makes the fake
/// count, as 1.9.6 would, and this fails.
#[test]
fn the_client_asks_for_no_count_in_a_way_appwrite_honours() {
    let (_fake, client) = fake_with_rows();
    let without = client.list_rows("scratch", &[], false).unwrap();
    assert_eq!(without.body["total"], json!(0));
    assert_eq!(without.body["rows"].as_array().unwrap().len(), 3);
    let with = client.list_rows("scratch", &[], true).unwrap();
    assert_eq!(with.body["total"], json!(3));
}
