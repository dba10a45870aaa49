//! Opt-in: the conformance suite against a real Appwrite. Set `APPWRITE_TEST_ENDPOINT`
//! (`https://<host>/v1`), `APPWRITE_TEST_PROJECT`, `APPWRITE_TEST_KEY` (scopes `rows.read`,
//! `rows.write`) and optionally `APPWRITE_TEST_DATABASE` (default `jobmanager_test`); the
//! database must hold the `jobs` and `job_events` tables of `docs/appwrite-store.md`.
//! EVERY ROW OF BOTH TABLES IS DELETED before each suite test: never point it at real data.
//! Ignored by default, so an unconfigured run says "ignored" instead of a hollow "ok"; run it
//! with `scripts/test-live` (which checks the variables first).

use shared::appwrite::{query, AppwriteClient, AppwriteConfig};
use shared::store::appwrite::AppwriteStore;
use shared::store::conformance::SUITE;

fn live_config() -> Result<AppwriteConfig, String> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let missing: Vec<&str> = [
        "APPWRITE_TEST_ENDPOINT",
        "APPWRITE_TEST_PROJECT",
        "APPWRITE_TEST_KEY",
    ]
    .into_iter()
    .filter(|k| get(k).is_none())
    .collect();
    if !missing.is_empty() {
        return Err(format!("{} not set", missing.join(", ")));
    }
    AppwriteConfig::from_lookup(
        |k| match k {
            "APPWRITE_FUNCTION_API_ENDPOINT" => get("APPWRITE_TEST_ENDPOINT"),
            "APPWRITE_FUNCTION_PROJECT_ID" => get("APPWRITE_TEST_PROJECT"),
            "APPWRITE_API_KEY" => get("APPWRITE_TEST_KEY"),
            "JOBS_DATABASE_ID" => get("APPWRITE_TEST_DATABASE").or(Some("jobmanager_test".into())),
            _ => None,
        },
        None,
    )
    .map_err(|e| e.to_string())
}

#[test]
#[ignore = "needs a real Appwrite: set APPWRITE_TEST_* and run scripts/test-live"]
fn the_conformance_suite_passes_against_a_real_appwrite() {
    let config = live_config().unwrap_or_else(|why| panic!("live Appwrite run: {why}"));
    let client = AppwriteClient::new(config.clone());
    // A query that matches every row: bulk deletes refuse an empty list on purpose.
    let every_row = vec![query("isNotNull", Some("$id"), vec![])];
    for (name, check) in SUITE {
        for table in [&config.jobs_table, &config.events_table] {
            client
                .delete_rows(table, &every_row)
                .unwrap_or_else(|e| panic!("clearing `{table}` before `{name}`: {e}"));
        }
        println!("live: {name}");
        check(&AppwriteStore::new(client.clone()));
    }
}
