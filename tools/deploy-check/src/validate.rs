//! The offline validator of `appwrite.json` (the CLI ships none; appwrite-notes: No offline
//! validation in the CLI).
//! It reports every problem at once:
//! - only keys CLI 12.0.1 understands (its `lib/config.js` key sets; appwrite-notes:
//!   Config keys the CLI understands);
//! - functions: the rust-1.83 runtime, `main.rs` entrypoint, empty `commands`, `path` =
//!   `dist/<id>` holding the entrypoint after packaging, `target` ignored, a sane timeout,
//!   hooks and retention executable by API keys only, the action API by teams and labels,
//!   least-privilege scopes, valid cron schedules, one entry per function crate;
//! - tables: columns that match the job model exactly (read from the Rust types by serializing
//!   a sample `Job` and `JobEvent`: every field has a column of the right type, bounds and
//!   required flag, and every column a field), indexes over existing columns, read-only table
//!   permissions for teams that the file declares (or labels); every column written the way the
//!   server answers it, so a second `push tables` proposes no recreation (`cli.rs`);
//! - [`roles`]: the roles job-actions grants (its `JOBS_*_TEAMS` / `JOBS_*_LABELS` in
//!   `deploy.json`) are exactly the roles `execute` lets through Appwrite's gate and the roles
//!   the tables let read;
//! - every id, key, `execute` role, table permission (here) and every label and team of
//!   `deploy.json` ([`roles`]) is one Appwrite accepts, by its own rules ([`appwrite_rules`]):
//!   a label is 1 to 36 alphanumeric characters, no hyphen (appwrite-notes: Ids, labels and roles).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{TimeZone, Utc};
use serde_json::{Map, Value};
use shared::job::{
    EventKind, Job, JobEvent, JobStatus, JobType, MAX_JSON_BYTES, MAX_REFERENCE_CHARS,
    MAX_TEXT_CHARS,
};

use crate::config::{AppwriteConfig, Variables};
use crate::cron;

pub mod appwrite_rules;

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
/// Column types `push tables` can create in CLI 12.0.1 (not the newer varchar/text/…).
pub const COLUMN_TYPES: &[&str] = &[
    "string",
    "integer",
    "double",
    "boolean",
    "datetime",
    "relationship",
    "point",
    "linestring",
    "polygon",
];
pub const SPECIFICATIONS: &[&str] = &[
    "s-0.5vcpu-512mb",
    "s-1vcpu-512mb",
    "s-1vcpu-1gb",
    "s-2vcpu-2gb",
    "s-2vcpu-4gb",
    "s-4vcpu-4gb",
    "s-4vcpu-8gb",
    "s-8vcpu-4gb",
    "s-8vcpu-8gb",
];
/// Appwrite's default upper bound for a function timeout (`_APP_FUNCTIONS_TIMEOUT`), lowered to
/// what the polling delta reaches back over: a write commits within its execution's timeout plus
/// one store request (`shared::store::DELTA_OVERLAP_SECONDS`, docs/actions.md § Polling).
pub const MAX_TIMEOUT: u64 = {
    let overlap = shared::store::DELTA_OVERLAP_SECONDS as u64;
    // The execution's key lives `timeout` + 60 s (appwrite-notes: Execution key lifetime).
    let bound = overlap - 60;
    if bound < 900 {
        bound
    } else {
        900
    }
};
/// What the adapter's wrapping (`{"v":1,"data":…}`, the guard of appwrite-notes: Operator strings)
/// adds to a JSON document before it is stored in a text column.
pub const WRAP_OVERHEAD: u64 = r#"{"v":1,"data":}"#.len() as u64;
/// Largest integer a JSON client (the CLI is JavaScript) carries exactly: 2^53 - 1.
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// Scopes each function needs, no more (appwrite-notes: Scopes).
pub fn expected_scopes(id: &str) -> &'static [&'static str] {
    match id {
        "job-actions" => &[
            "rows.read",
            "rows.write",
            "executions.write",
            "users.read",
            "teams.read",
        ],
        _ => &["rows.read", "rows.write"],
    }
}

/// The webhook target: executable by anyone, authenticated by Appwrite's webhook signature.
pub const OBSERVER: &str = "job-observer";

/// Functions only API keys (other functions, the scheduler) may execute.
pub fn is_server_only(id: &str) -> bool {
    id.starts_with("hook-") || id == "job-retention"
}

/// Validates the whole file. `base` is where function paths resolve (the config's folder);
/// `crates` the function crate names of the workspace.
pub fn validate(config: &AppwriteConfig, base: &Path, crates: &[String]) -> Vec<String> {
    let mut v = Problems::default();
    let json = &config.json;
    v.keys("appwrite.json", json, TOP_LEVEL_KEYS);
    let teams = teams(config, &mut v);
    functions(config, base, crates, &teams, &mut v);
    tables(config, &teams, &mut v);
    appwrite_refusals(config, &mut v);
    v.0
}

/// Everything of the file Appwrite 1.9.6 would refuse at `push` by its id and role rules
/// ([`appwrite_rules`]), quoting the answer it gives (400 `general_argument_invalid`).
fn appwrite_refusals(config: &AppwriteConfig, v: &mut Problems) {
    use appwrite_rules::{is_custom_id, is_key, permission_error, role_error, KEY_RULE};
    let id = |v: &mut Problems, at: &str, param: &str, value: &str, valid: bool| {
        if !valid {
            v.push(format!(
                "{at}: Appwrite refuses the id `{value}`: Invalid `{param}` param: {KEY_RULE}"
            ));
        }
    };
    for team in config.entries("teams") {
        let tid = str_of(team, "$id");
        id(
            v,
            &format!("team `{tid}`"),
            "teamId",
            tid,
            is_custom_id(tid),
        );
    }
    for db in config.entries("tablesDB") {
        let did = str_of(db, "$id");
        id(
            v,
            &format!("database `{did}`"),
            "databaseId",
            did,
            is_custom_id(did),
        );
    }
    for f in config.entries("functions") {
        let fid = str_of(f, "$id");
        let at = format!("function `{fid}`");
        id(v, &at, "functionId", fid, is_custom_id(fid));
        for role in strings(f, "execute").unwrap_or_default() {
            if let Some(why) = role_error(&role) {
                v.push(format!(
                    "{at}: Appwrite refuses the execute role `{role}`: Invalid `execute` param: {why}"
                ));
            }
        }
    }
    for table in config.entries("tables") {
        let tid = str_of(table, "$id");
        let at = format!("table `{tid}`");
        id(v, &at, "tableId", tid, is_custom_id(tid));
        for p in strings(table, "$permissions").unwrap_or_default() {
            if let Some(why) = permission_error(&p) {
                v.push(format!(
                    "{at}: Appwrite refuses the permission `{p}`: Invalid `permissions` param: {why}"
                ));
            }
        }
        for (kind, list) in [("column", "columns"), ("index", "indexes")] {
            for item in table[list].as_array().cloned().unwrap_or_default() {
                let key = str_of(&item, "key");
                id(v, &format!("{at} {kind} `{key}`"), "key", key, is_key(key));
            }
        }
    }
}

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

fn teams(config: &AppwriteConfig, v: &mut Problems) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (i, team) in config.entries("teams").iter().enumerate() {
        v.keys(&format!("teams[{i}]"), team, TEAM_KEYS);
        ids.insert(str_of(team, "$id").to_owned());
    }
    ids
}

fn functions(
    config: &AppwriteConfig,
    base: &Path,
    crates: &[String],
    teams: &BTreeSet<String>,
    v: &mut Problems,
) {
    let mut ids = BTreeSet::new();
    for f in config.entries("functions") {
        let id = str_of(f, "$id");
        let at = format!("function `{id}`");
        v.keys(&at, f, FUNCTION_KEYS);
        if !ids.insert(id.to_owned()) {
            v.push(format!("{at}: duplicate id"));
        }
        if !crates.iter().any(|c| c == id) {
            v.push(format!(
                "{at}: no crate functions/{id} (function id = crate name)"
            ));
        }
        let expect = |v: &mut Problems, key: &str, want: Value| {
            if f.get(key) != Some(&want) {
                v.push(format!(
                    "{at}: `{key}` must be {want}, is {}",
                    f.get(key).unwrap_or(&Value::Null)
                ));
            }
        };
        expect(v, "runtime", "rust-1.83".into());
        expect(v, "entrypoint", "main.rs".into());
        // `cargo install` (what `init function` writes) fails the build; the runtime compiles.
        expect(v, "commands", "".into());
        expect(v, "path", format!("dist/{id}").into());
        expect(v, "logging", true.into());
        expect(v, "enabled", true.into());
        if str_of(f, "name").is_empty() {
            v.push(format!("{at}: `name` must be a non-empty string"));
        }
        if !strings(f, "ignore").is_some_and(|i| i.iter().any(|p| p == "target")) {
            v.push(format!(
                "{at}: `ignore` must list `target` (upload limit 30 MB)"
            ));
        }
        if !SPECIFICATIONS.contains(&str_of(f, "specification")) {
            v.push(format!(
                "{at}: `specification` must be one of {}",
                SPECIFICATIONS.join(", ")
            ));
        }
        match f.get("timeout").and_then(Value::as_u64) {
            Some(t) if (1..=MAX_TIMEOUT).contains(&t) => {}
            _ => v.push(format!(
                "{at}: `timeout` must be an integer in 1..={MAX_TIMEOUT} (the polling delta's reach)"
            )),
        }
        if strings(f, "events").is_none_or(|e| !e.is_empty()) {
            v.push(format!(
                "{at}: `events` must be an empty list (no function is event-driven)"
            ));
        }
        let schedule = str_of(f, "schedule");
        if !schedule.is_empty() {
            if let Err(e) = cron::validate(schedule) {
                v.push(format!("{at}: `schedule`: {e}"));
            }
        }
        if id == "job-retention" && schedule.is_empty() {
            v.push(format!("{at}: needs a `schedule`"));
        }
        if id != "job-retention" && !schedule.is_empty() {
            v.push(format!("{at}: only job-retention runs on a schedule"));
        }
        match strings(f, "execute") {
            None => v.push(format!("{at}: `execute` must be a list of roles")),
            // A webhook reaches a function's domain only when `execute` lets anyone in
            // (docs/appwrite-notes.md § Webhooks and execution events); its signature is the gate.
            Some(roles) if id == OBSERVER => {
                if roles != ["any"] {
                    v.push(format!("{at}: `execute` must be [\"any\"], is {roles:?}"));
                }
            }
            Some(roles) if is_server_only(id) => {
                if !roles.is_empty() {
                    v.push(format!(
                        "{at}: `execute` must be [] (API keys only), is {roles:?}"
                    ));
                }
            }
            Some(roles) => {
                if roles.is_empty() {
                    v.push(format!("{at}: `execute` must name the dashboard's team(s)"));
                }
                for role in roles {
                    match role.strip_prefix("team:") {
                        Some(team) if teams.contains(team.split('/').next().unwrap_or(team)) => {}
                        Some(team) => v.push(format!("{at}: execute role `{role}` names team `{team}`, not declared in `teams`")),
                        None if role.starts_with("label:") => {}
                        None => v.push(format!("{at}: execute role `{role}` is not a team or a label; only the configured roles may call it")),
                    }
                }
            }
        }
        let want: BTreeSet<&str> = expected_scopes(id).iter().copied().collect();
        match strings(f, "scopes") {
            Some(scopes) => {
                let got: BTreeSet<&str> = scopes.iter().map(String::as_str).collect();
                if got != want {
                    v.push(format!(
                        "{at}: `scopes` must be exactly {want:?} (least privilege), is {got:?}"
                    ));
                }
            }
            None => v.push(format!("{at}: `scopes` must be a list")),
        }
        let dir = base.join(str_of(f, "path"));
        let entry = dir.join(str_of(f, "entrypoint"));
        if !entry.is_file() || !dir.join("Cargo.toml").is_file() {
            v.push(format!(
                "{at}: {} does not hold Cargo.toml and {} (run scripts/package)",
                dir.display(),
                str_of(f, "entrypoint")
            ));
        }
    }
    for c in crates {
        if !ids.contains(c) {
            v.push(format!(
                "function crate `{c}` has no entry in appwrite.json"
            ));
        }
    }
}

fn tables(config: &AppwriteConfig, teams: &BTreeSet<String>, v: &mut Problems) {
    let mut databases = BTreeSet::new();
    for (i, db) in config.entries("tablesDB").iter().enumerate() {
        v.keys(&format!("tablesDB[{i}]"), db, TABLES_DB_KEYS);
        databases.insert(str_of(db, "$id").to_owned());
    }
    for table in config.entries("tables") {
        let id = str_of(table, "$id");
        let at = format!("table `{id}`");
        v.keys(&at, table, TABLE_KEYS);
        if !databases.contains(str_of(table, "databaseId")) {
            v.push(format!(
                "{at}: databaseId `{}` is not in `tablesDB`",
                str_of(table, "databaseId")
            ));
        }
        if table.get("rowSecurity") != Some(&Value::Bool(false)) {
            v.push(format!(
                "{at}: `rowSecurity` must be false (table permissions only)"
            ));
        }
        permissions(&at, table, teams, v);
        let columns = table["columns"].as_array().cloned().unwrap_or_default();
        let mut keys = BTreeSet::new();
        for c in &columns {
            let key = str_of(c, "key");
            v.keys(&format!("{at} column `{key}`"), c, COLUMN_KEYS);
            if !keys.insert(key.to_owned()) {
                v.push(format!("{at}: duplicate column `{key}`"));
            }
            if !COLUMN_TYPES.contains(&str_of(c, "type")) {
                v.push(format!(
                    "{at} column `{key}`: type `{}` is not one CLI 12 creates",
                    str_of(c, "type")
                ));
            }
            if c["required"] == true && !c.get("default").is_none_or(Value::is_null) {
                v.push(format!(
                    "{at} column `{key}`: a required column cannot have a default"
                ));
            }
            server_shape(&format!("{at} column `{key}`"), c, v);
        }
        for index in table["indexes"].as_array().cloned().unwrap_or_default() {
            let key = str_of(&index, "key");
            v.keys(&format!("{at} index `{key}`"), &index, INDEX_KEYS);
            if !["key", "unique", "fulltext", "spatial"].contains(&str_of(&index, "type")) {
                v.push(format!(
                    "{at} index `{key}`: type must be key, unique, fulltext or spatial"
                ));
            }
            let cols = strings(&index, "columns").unwrap_or_default();
            if cols.is_empty() {
                v.push(format!("{at} index `{key}`: no columns"));
            }
            for col in &cols {
                if !keys.contains(col) {
                    v.push(format!("{at} index `{key}`: column `{col}` does not exist"));
                }
            }
            let orders = strings(&index, "orders").unwrap_or_default();
            if orders.len() != cols.len() || orders.iter().any(|o| o != "ASC" && o != "DESC") {
                v.push(format!("{at} index `{key}`: one ASC/DESC order per column"));
            }
        }
        match id {
            "jobs" => model(
                &at,
                &columns,
                job_sample(true),
                job_sample(false),
                "$id",
                JOB_STORAGE_COLUMNS,
                v,
            ),
            "job_events" => model(
                &at,
                &columns,
                event_sample(true),
                event_sample(false),
                "eventId",
                EVENT_STORAGE_COLUMNS,
                v,
            ),
            other => v.push(format!(
                "{at}: unknown table `{other}` (the model has jobs and job_events)"
            )),
        }
    }
}

/// A column as the server answers it, where CLI 12.0.1 compares the two on every later push
/// (`push.js` `checkAttributeChanges` iterates the server's keys; a difference in a key that is
/// not changeable is a recreation, which drops the column's data). Appwrite 1.9.6 answers
/// `"encrypt": false` on every plain string column and `"format": ""` on a datetime
/// (docs/appwrite-notes.md § Deployment and the CLI).
fn server_shape(at: &str, c: &Value, v: &mut Problems) {
    let format = c.get("format").and_then(Value::as_str);
    match str_of(c, "type") {
        "string"
            if !matches!(format, Some("enum" | "email" | "url" | "ip"))
                && !c.get("encrypt").is_some_and(Value::is_boolean) =>
        {
            v.push(format!("{at}: needs `\"encrypt\": false` as the server answers it; without it every push after the first proposes to recreate the column"));
        }
        "datetime" if !format.unwrap_or_default().is_empty() => {
            v.push(format!("{at}: `format` must be \"\" as the server answers it (a datetime is stored without format); otherwise every push after the first proposes to recreate the column"));
        }
        _ => {}
    }
}

/// Roles that work through Appwrite's gate: the roles job-actions grants from its variables
/// (`team:<id>` per `JOBS_*_TEAMS` entry, `label:<name>` per `JOBS_*_LABELS` entry) must be
/// exactly the roles its `execute` lists (Appwrite refuses anyone else before the function
/// runs: `src/Appwrite/Platform/Modules/Functions/Http/Executions/Create.php`), and each must
/// be allowed to read every table (the dashboard's Realtime subscription reads rows directly).
pub fn roles(config: &AppwriteConfig, variables: &Variables) -> Vec<String> {
    let mut v = Problems::default();
    for function in variables.keys() {
        let declared = config
            .entries("functions")
            .iter()
            .any(|f| str_of(f, "$id") == function);
        if !declared {
            v.push(format!(
                "deploy.json: variables for `{function}`, which appwrite.json does not declare"
            ));
        }
    }
    let vars = variables.get("job-actions").cloned().unwrap_or_default();
    let mut granted = BTreeSet::new();
    for (name, prefix) in [
        ("JOBS_OPERATOR_TEAMS", "team:"),
        ("JOBS_VIEWER_TEAMS", "team:"),
        ("JOBS_OPERATOR_LABELS", "label:"),
        ("JOBS_VIEWER_LABELS", "label:"),
    ] {
        for item in vars
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
            .split(',')
        {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            granted.insert(format!("{prefix}{item}"));
            // A label Appwrite cannot store can never be a user's, and `label:<it>` in `execute`
            // or a table permission fails `push` (appwrite-notes: Ids, labels and roles).
            if prefix == "label:" && !appwrite_rules::is_label(item) {
                v.push(format!(
                    "deploy.json: job-actions {name}: `{item}` is not a label Appwrite accepts: {} (`PUT /v1/users/{{id}}/labels` refuses it, `push` refuses `label:{item}`); use letters and digits only, e.g. `{}`",
                    appwrite_rules::LABEL_RULE,
                    item.replace(|c: char| !c.is_ascii_alphanumeric(), "")
                ));
            }
            if prefix == "team:" && !appwrite_rules::is_key(item) {
                v.push(format!(
                    "deploy.json: job-actions {name}: `{item}` is not a team id Appwrite accepts: {}",
                    appwrite_rules::KEY_RULE
                ));
            }
        }
    }
    if granted.is_empty() {
        v.push(
            "deploy.json: job-actions grants no role (set JOBS_*_TEAMS or JOBS_*_LABELS)".into(),
        );
    }
    let execute: BTreeSet<String> = config
        .entries("functions")
        .iter()
        .find(|f| str_of(f, "$id") == "job-actions")
        .and_then(|f| strings(f, "execute"))
        .unwrap_or_default()
        .into_iter()
        .collect();
    for role in granted.difference(&execute) {
        v.push(format!("job-actions: its variables grant `{role}`, but `execute` does not list it, so Appwrite refuses those users before job-actions runs"));
    }
    for role in execute.difference(&granted) {
        v.push(format!("job-actions: `execute` lets `{role}` in, but no JOBS_*_TEAMS / JOBS_*_LABELS variable grants it a role (every call would be 403)"));
    }
    for table in config.entries("tables") {
        let perms: BTreeSet<String> = strings(table, "$permissions")
            .unwrap_or_default()
            .into_iter()
            .collect();
        for role in &granted {
            if !perms.contains(&format!("read(\"{role}\")")) {
                v.push(format!("table `{}`: `{role}` may use job-actions but cannot read the table (the dashboard's live updates need `read(\"{role}\")`)", str_of(table, "$id")));
            }
        }
        for p in &perms {
            let role = p.trim_start_matches("read(\"").trim_end_matches("\")");
            if !granted.contains(role) {
                v.push(format!(
                    "table `{}`: `{p}` lets `{role}` read jobs, but job-actions grants it no role",
                    str_of(table, "$id")
                ));
            }
        }
    }
    v.0
}

/// Table permissions: reads for declared teams only; writes are for API keys (functions),
/// which bypass permissions, so no write permission is granted to anyone.
fn permissions(at: &str, table: &Value, teams: &BTreeSet<String>, v: &mut Problems) {
    let perms = strings(table, "$permissions").unwrap_or_default();
    if perms.is_empty() {
        v.push(format!(
            "{at}: `$permissions` must let the dashboard's team read"
        ));
    }
    for p in perms {
        let team = p
            .strip_prefix("read(\"team:")
            .and_then(|rest| rest.strip_suffix("\")"));
        let label = p.starts_with("read(\"label:") && p.ends_with("\")");
        match team {
            None if label => {}
            Some(team) if teams.contains(team.split('/').next().unwrap_or(team)) => {}
            Some(team) => v.push(format!(
                "{at}: permission `{p}` names team `{team}`, not declared in `teams`"
            )),
            None => v.push(format!(
                "{at}: permission `{p}` is not a team or label read; only functions (API keys) write"
            )),
        }
    }
}

/// A column an adapter stores beside a model's fields, checked like a field: its name and its
/// sample value in the full and in the minimal row (null there when the column is optional).
pub type StorageColumn = (&'static str, fn(bool) -> Value);

/// Columns the Appwrite adapter stores beside a `JobEvent`'s fields (docs/appwrite-store.md):
/// the job's `rev` written with the entry, which orders the log.
pub const EVENT_STORAGE_COLUMNS: &[StorageColumn] = &[("jobRev", |_| Value::from(0))];

/// Columns the Appwrite adapter stores beside a `Job`'s fields: `pendingLog`, the outbox of the
/// job's newest log entries (wrapped JSON text), optional so rows older than it stay valid.
pub const JOB_STORAGE_COLUMNS: &[StorageColumn] = &[("pendingLog", |full| {
    if full {
        Value::Array(Vec::new())
    } else {
        Value::Null
    }
})];

/// Columns against the model: `full` is a sample with every optional field set, `minimal` one
/// with every optional field unset (so its nulls tell which columns are optional). The row's
/// `$id` is the id column; `id_column` names the column that also stores it, if any.
fn model(
    at: &str,
    columns: &[Value],
    full: Value,
    minimal: Value,
    id_column: &str,
    storage: &[StorageColumn],
    v: &mut Problems,
) {
    let by_key: BTreeMap<&str, &Value> = columns.iter().map(|c| (str_of(c, "key"), c)).collect();
    let mut full = full.as_object().cloned().unwrap_or_default();
    let mut minimal = minimal.as_object().cloned().unwrap_or_default();
    for (column, sample) in storage {
        full.insert(column.to_string(), sample(true));
        minimal.insert(column.to_string(), sample(false));
    }
    let mut fields = BTreeSet::new();
    for (field, value) in &full {
        let column = if field == "$id" {
            id_column
        } else {
            field.as_str()
        };
        if column == "$id" {
            continue; // Appwrite's own row id.
        }
        fields.insert(column.to_owned());
        let Some(c) = by_key.get(column) else {
            v.push(format!(
                "{at}: model field `{field}` has no column `{column}`"
            ));
            continue;
        };
        let cat = format!("{at} column `{column}`");
        let optional = minimal.get(field).is_none_or(Value::is_null);
        if c["required"] != Value::Bool(!optional) {
            v.push(format!(
                "{cat}: `required` must be {} (the field is {})",
                !optional,
                if optional { "optional" } else { "always set" }
            ));
        }
        if c["array"] != false {
            v.push(format!("{cat}: `array` must be false"));
        }
        column_type(&cat, field, value, c, v);
    }
    for key in by_key.keys() {
        if !fields.contains(*key) {
            v.push(format!("{at}: column `{key}` matches no model field"));
        }
    }
}

/// The column a field needs, from the field's JSON value and the model's limits.
fn column_type(at: &str, field: &str, value: &Value, c: &Value, v: &mut Problems) {
    let ty = str_of(c, "type");
    let size = c.get("size").and_then(Value::as_u64);
    let mut need_string = |min_size: u64, why: &str| {
        if ty != "string" || !str_of(c, "format").is_empty() {
            v.push(format!("{at}: must be a plain string ({why})"));
        } else if size.is_none_or(|s| s < min_size) {
            v.push(format!(
                "{at}: size must be at least {min_size} ({why}), is {size:?}"
            ));
        }
    };
    if let Some(elements) = enum_elements(field) {
        // Either an enum column with exactly the model's values, or a string wide enough.
        if str_of(c, "format") == "enum" {
            let got = strings(c, "elements").unwrap_or_default();
            if ty != "string" || got != elements {
                v.push(format!(
                    "{at}: enum elements must be {elements:?}, are {got:?}"
                ));
            }
        } else {
            let longest = elements.iter().map(String::len).max().unwrap_or(0) as u64;
            need_string(longest, "holds the model's enum values");
        }
        return;
    }
    match value {
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
            if ty != "datetime" {
                v.push(format!("{at}: must be a datetime"));
            }
        }
        Value::Number(_) => {
            let (min, max) = if field == "progress" {
                (0, 100)
            } else {
                (0, MAX_SAFE_INTEGER)
            };
            let got = (
                c.get("min").and_then(Value::as_u64),
                c.get("max").and_then(Value::as_u64),
            );
            if ty != "integer" || got != (Some(min), Some(max)) {
                v.push(format!(
                    "{at}: must be an integer with min {min} and max {max}, is {ty} {got:?}"
                ));
            }
        }
        Value::Array(_) if field == "claims" => need_string(
            shared::job::MAX_CLAIMS_JSON_BYTES as u64,
            "at most MAX_CLAIMS claims as wrapped JSON",
        ),
        Value::Object(_) | Value::Array(_) => need_string(
            MAX_JSON_BYTES as u64 + WRAP_OVERHEAD,
            "wrapped JSON text of up to MAX_JSON_BYTES",
        ),
        Value::String(_) => match text_limit(field) {
            Some((limit, why)) => need_string(limit, why),
            None => v.push(format!(
                "{at}: no known length bound for field `{field}`; add it to validate::text_limit"
            )),
        },
        other => v.push(format!(
            "{at}: the model's value {other} has no column type rule"
        )),
    }
}

/// The values an enum-valued field takes, from the model's own lists.
fn enum_elements(field: &str) -> Option<Vec<String>> {
    let names = |all: Vec<Value>| {
        all.into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    match field {
        "type" => Some(JobType::ALL.iter().map(|t| t.as_str().to_owned()).collect()),
        "status" | "fromStatus" | "toStatus" => Some(
            JobStatus::ALL
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        ),
        "kind" => Some(names(
            ALL_EVENT_KINDS
                .iter()
                .map(|k| serde_json::to_value(k).unwrap_or_default())
                .collect(),
        )),
        _ => None,
    }
}

/// Every `EventKind`; the match in [`event_kind_is_listed`] stops compiling when one is added.
const ALL_EVENT_KINDS: &[EventKind] = &[
    EventKind::Created,
    EventKind::Started,
    EventKind::Progress,
    EventKind::Heartbeat,
    EventKind::PauseRequested,
    EventKind::Paused,
    EventKind::Resumed,
    EventKind::Cancelled,
    EventKind::Completed,
    EventKind::Failed,
    EventKind::Stalled,
    EventKind::Retried,
    EventKind::Ignored,
];

#[allow(dead_code)]
fn event_kind_is_listed(kind: EventKind) {
    match kind {
        EventKind::Created
        | EventKind::Started
        | EventKind::Progress
        | EventKind::Heartbeat
        | EventKind::PauseRequested
        | EventKind::Paused
        | EventKind::Resumed
        | EventKind::Cancelled
        | EventKind::Completed
        | EventKind::Failed
        | EventKind::Stalled
        | EventKind::Retried
        | EventKind::Ignored => {}
    }
}

/// The longest text a string field holds, from the model's limits.
fn text_limit(field: &str) -> Option<(u64, &'static str)> {
    let ids = (36, "an Appwrite id is at most 36 characters");
    Some(match field {
        "$id" | "eventId" | "jobId" | "retryOf" | "executionId" => ids,
        "referenceId" => (MAX_REFERENCE_CHARS as u64, "MAX_REFERENCE_CHARS"),
        "idempotencyKey" => (255, "idempotency keys are 1 to 255 bytes"),
        // Plus the one-character operator escape (`shared::store::appwrite::TEXT_ESCAPE`).
        "progressMessage" | "errorMessage" | "lastReason" => (
            MAX_TEXT_CHARS as u64 + 1,
            "free text is clipped to MAX_TEXT_CHARS, plus the operator escape",
        ),
        "message" => (
            MAX_TEXT_CHARS as u64,
            "free text is clipped to MAX_TEXT_CHARS",
        ),
        // `user:<id>`, `function:<id>` or `system`.
        "lastActor" | "actor" => (45, "an actor is `function:` plus an id"),
        _ => return None,
    })
}

fn object(entries: &[(&str, Value)]) -> Map<String, Value> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// A job with every optional field set (`full`) or unset.
pub fn job_sample(full: bool) -> Value {
    let t = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
    let some = |s: &str| full.then(|| s.to_owned());
    let job = Job {
        id: "j1".into(),
        job_type: JobType::CampaignRun,
        status: JobStatus::Running,
        reference_id: "campaign-1".into(),
        progress: 40,
        progress_message: some("sending"),
        started_at: full.then_some(t),
        updated_at: t,
        completed_at: full.then_some(t),
        error_message: some("boom"),
        metadata: object(&[("campaign", "c1".into())]),
        created_at: t,
        heartbeat_at: t,
        done: full.then_some(80),
        total: full.then_some(200),
        checkpoint: full.then(|| serde_json::json!({"offset": 80})),
        result: full.then(|| object(&[("sent", 80.into())])),
        idempotency_key: some("key-1"),
        last_actor: some("user:u1"),
        last_reason: some("maintenance"),
        retry_of: some("j0"),
        rev: 3,
        run: 2,
        execution_id: some("exec-1"),
        claims: if full {
            vec![shared::job::Claim {
                run: 2,
                done: Some(80),
                claimed: Some(90),
                checkpoint: "0123456789abcdef".into(),
            }]
        } else {
            Vec::new()
        },
    };
    serde_json::to_value(job).expect("a job serializes")
}

/// A job event with every optional field set (`full`) or unset.
pub fn event_sample(full: bool) -> Value {
    let t = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
    let event = JobEvent {
        id: "e1".into(),
        job_id: "j1".into(),
        at: t,
        kind: EventKind::Paused,
        actor: "user:u1".into(),
        message: full.then(|| "paused by user".to_owned()),
        from_status: full.then_some(JobStatus::Running),
        to_status: full.then_some(JobStatus::Paused),
        details: object(&[("reason", "x".into())]),
    };
    serde_json::to_value(event).expect("an event serializes")
}
