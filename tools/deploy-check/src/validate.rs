//! The offline validator of `appwrite.json` (the CLI ships none; appwrite-notes: No offline
//! validation in the CLI): the entry [`validate()`], the keys CLI 12.0.1 understands, and the
//! problem list every check adds to. It reports every problem at once, each check in a room of
//! its own:
//! - only keys CLI 12.0.1 understands (its `lib/config.js` key sets; appwrite-notes:
//!   Config keys the CLI understands): here;
//! - functions (`functions`): the rust-1.83 runtime, `main.rs` entrypoint, empty `commands`,
//!   `path` = `dist/<id>` holding the entrypoint after packaging, `target` ignored, a sane
//!   timeout, hooks and retention executable by API keys only, the action API by teams and
//!   labels, least-privilege scopes, valid cron schedules, one entry per function crate;
//! - tables (`tables`): indexes over existing columns, read-only table permissions for teams
//!   that the file declares (or labels); every column written the way the server answers it, so
//!   a second `push tables` proposes no recreation (`cli.rs`); and (`model`) columns that match
//!   the job model exactly (read from the Rust types by serializing a sample `Job` and
//!   `JobEvent`: every field has a column of the right type, bounds and required flag, and every
//!   column a field);
//! - [`roles()`] (`roles`): the roles job-actions grants (its `JOBS_*_TEAMS` / `JOBS_*_LABELS`
//!   in `deploy.json`) are exactly the roles `execute` lets through Appwrite's gate and the
//!   roles the tables let read;
//! - every id, key, `execute` role, table permission (`refusals`) and every label and team of
//!   `deploy.json` ([`roles()`]) is one Appwrite accepts, by its own rules ([`appwrite_rules`]):
//!   a label is 1 to 36 alphanumeric characters, no hyphen (appwrite-notes: Ids, labels and roles).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::config::AppwriteConfig;

pub mod appwrite_rules;
mod functions;
mod model;
mod refusals;
mod roles;
mod tables;

pub use functions::{expected_scopes, is_server_only, MAX_TIMEOUT, OBSERVER, SPECIFICATIONS};
pub use model::{
    event_sample, job_sample, StorageColumn, EVENT_STORAGE_COLUMNS, JOB_STORAGE_COLUMNS,
    MAX_SAFE_INTEGER, WRAP_OVERHEAD,
};
pub use roles::roles;
pub use tables::COLUMN_TYPES;

/// Top-level keys CLI 12.0.1 reads or writes.
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "projectId",
    "projectName",
    "endpoint",
    "settings",
    "functions",
    "sites",
    "databases",
    "collections",
    "tablesDB",
    "tables",
    "buckets",
    "teams",
    "topics",
];
/// `KeysFunction`, plus `ignore` which push reads although it is not in the write list.
pub const FUNCTION_KEYS: &[&str] = &[
    "path",
    "$id",
    "execute",
    "name",
    "enabled",
    "logging",
    "runtime",
    "specification",
    "scopes",
    "events",
    "schedule",
    "timeout",
    "entrypoint",
    "commands",
    "vars",
    "ignore",
];
pub const TABLES_DB_KEYS: &[&str] = &["$id", "name", "enabled"];
pub const TABLE_KEYS: &[&str] = &[
    "$id",
    "$permissions",
    "databaseId",
    "name",
    "enabled",
    "rowSecurity",
    "columns",
    "indexes",
];
pub const COLUMN_KEYS: &[&str] = &[
    "key",
    "type",
    "required",
    "array",
    "size",
    "default",
    "min",
    "max",
    "format",
    "elements",
    "relatedTable",
    "relationType",
    "twoWay",
    "twoWayKey",
    "onDelete",
    "side",
    "encrypt",
];
pub const INDEX_KEYS: &[&str] = &["key", "type", "status", "columns", "orders"];
pub const TEAM_KEYS: &[&str] = &["$id", "name"];

/// Validates the whole file. `base` is where function paths resolve (the config's folder);
/// `crates` the function crate names of the workspace.
pub fn validate(config: &AppwriteConfig, base: &Path, crates: &[String]) -> Vec<String> {
    let mut v = Problems::default();
    let json = &config.json;
    v.keys("appwrite.json", json, TOP_LEVEL_KEYS);
    let teams = teams(config, &mut v);
    functions::check(config, base, crates, &teams, &mut v);
    tables::check(config, &teams, &mut v);
    refusals::check(config, &mut v);
    v.0
}

/// The problems found so far, in the order the checks find them.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, problem: String) {
        self.0.push(problem);
    }

    fn keys(&mut self, at: &str, value: &Value, allowed: &[&str]) {
        match value.as_object() {
            Some(map) => {
                for key in map.keys() {
                    if !allowed.contains(&key.as_str()) {
                        self.push(format!("{at}: key `{key}` is not one CLI 12 understands"));
                    }
                }
            }
            None => self.push(format!("{at}: must be a JSON object")),
        }
    }
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn strings(value: &Value, key: &str) -> Option<Vec<String>> {
    value
        .get(key)?
        .as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// The declared teams' ids, each team holding only keys CLI 12 understands.
fn teams(config: &AppwriteConfig, v: &mut Problems) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (i, team) in config.entries("teams").iter().enumerate() {
        v.keys(&format!("teams[{i}]"), team, TEAM_KEYS);
        ids.insert(str_of(team, "$id").to_owned());
    }
    ids
}
