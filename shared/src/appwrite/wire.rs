//! Appwrite's value formats, written once for every request and for the stand-ins that
//! imitate Appwrite: a query's JSON, a datetime, a list's `total` flag, a valid id, a path
//! segment.

use serde_json::{json, Value};

pub use crate::url::segment;

/// A timestamp in Appwrite's own datetime form (`2026-11-29T11:48:05.456+00:00`), for values we
/// write to Appwrite and for `jobs-dev`'s imitation of its documents.
pub fn datetime(t: &crate::job::Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

/// A query in Appwrite's JSON wire format (appwrite-notes: Query wire format):
/// `{"method","attribute","values"}`.
pub fn query(method: &str, attribute: Option<&str>, values: Vec<Value>) -> String {
    let mut q = json!({"method": method, "values": values});
    if let Some(attribute) = attribute {
        q["attribute"] = Value::from(attribute);
    }
    q.to_string()
}

/// The `total` query value of a list: `"0"` skips the count, `"1"` asks for it. Appwrite 1.9.6
/// validates `total` with a loose `Boolean` but passes the raw string to `bool $includeTotal`,
/// where PHP makes `"false"` true: `total=false` counts anyway (appwrite-notes: Query limits).
pub(crate) fn total_param(total: bool) -> &'static str {
    if total {
        "1"
    } else {
        "0"
    }
}

/// Whether `id` is a valid Appwrite id (rows, tables, databases, functions): at most 36
/// characters of `a-z A-Z 0-9 . _ -`, not starting with a special one (Appwrite 1.9.6
/// `src/Appwrite/Utopia/Database/Validator/CustomId.php`, over utopia-php/database's `Key`).
pub(crate) fn valid_id(id: &str) -> bool {
    let first_ok = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    first_ok
        && id.len() <= 36
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}
