//! The store conformance suite, one `#[test]` per suite function, each on a fresh database.

use sqlite_store::SqliteStore;

shared::job_store_conformance!(Box::new(
    SqliteStore::in_memory().expect("a temporary SQLite store")
));
