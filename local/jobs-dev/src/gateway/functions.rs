//! The slice of Appwrite's Functions API the Schedules view reads and changes
//! (docs/schedules.md), for the dev server's own functions: the hosted ones of `appwrite.json`
//! and the demo's scheduled workers (`sqs-poller`, `fetch-aws-metrics`,
//! [`Gateway::register_scheduled`]).
//!
//! - `GET /v1/functions`, `GET /v1/functions/{id}` (scope `functions.read`): function documents
//!   in Appwrite's shape (appwrite-notes: Listing functions and executions);
//! - `PUT /v1/functions/{id}` (`functions.write`): `name` required, every setting it omits reset
//!   to Appwrite's default, as Appwrite 1.9.6 `Functions/Update.php` does;
//! - `GET /v1/functions/{id}/executions` (`executions.read`): the kept executions of the
//!   function, with `equal`, `notEqual`, comparison, `orderAsc/Desc`, `limit`, `offset` queries on
//!   the attributes Appwrite allows, and `total`;
//! - `POST /v1/dev/schedules` (development key only, `super::dev_schedules`): a scheduled
//!   function with a past history, registered here like the demo's;
//! - `POST` and `GET /v1/tablesdb/{db}/tables/job_events/rows` (`rows.write` / `rows.read`):
//!   only the schedule audit entries job-actions writes there (`shared::schedules`), kept in
//!   memory (the jobs themselves and their logs live in the SQLite store).

use std::collections::{HashMap, VecDeque};

use serde_json::{json, Map, Value};

use super::{Gateway, Internal};
use crate::lock;
use crate::wire::AwError;

/// Audit rows kept (the oldest go first).
const KEPT_AUDIT_ROWS: usize = 1000;
/// The only table whose rows this module serves.
const AUDIT_TABLE: &str = "job_events";

/// A setting's default.
type DefaultValue = fn() -> Value;

/// The settings `PUT /v1/functions/{id}` takes, with Appwrite's defaults
/// (Appwrite 1.9.6 `Functions/Update.php`).
const SETTINGS: [(&str, DefaultValue); 9] = [
    ("execute", || json!([])),
    ("events", || json!([])),
    ("schedule", || json!("")),
    ("timeout", || json!(15)),
    ("enabled", || json!(true)),
    ("logging", || json!(true)),
    ("entrypoint", || json!("")),
    ("commands", || json!("")),
    ("scopes", || json!([])),
];

/// The attributes an executions query may name (Appwrite 1.9.6
/// `src/Appwrite/Utopia/Database/Validator/Queries/Executions.php`).
const EXECUTION_ATTRIBUTES: &[&str] = &[
    "trigger",
    "status",
    "responseStatusCode",
    "duration",
    "requestMethod",
    "requestPath",
    "deploymentId",
    "$id",
    "$createdAt",
    "$updatedAt",
];

/// What this module keeps.
pub(crate) struct FunctionsState {
    inner: std::sync::Mutex<Inner>,
    /// When the dev server started: the hosted functions' creation time.
    started: String,
}

impl Default for FunctionsState {
    fn default() -> Self {
        FunctionsState {
            inner: Default::default(),
            started: shared::appwrite::datetime(&chrono::Utc::now()),
        }
    }
}

#[derive(Default)]
struct Inner {
    /// Demo functions with a schedule: id → schedule.
    scheduled: HashMap<String, String>,
    /// Settings written by `PUT`, per function.
    updated: HashMap<String, Map<String, Value>>,
    /// When each function was created and last updated (Appwrite's datetime form).
    dates: HashMap<String, (String, String)>,
    /// Names given by `POST /v1/dev/schedules` (others are named by their id).
    names: HashMap<String, String>,
    audit: VecDeque<Value>,
    sequence: u64,
}

impl Gateway {
    /// Registers a demo function with a schedule: listed by `GET /v1/functions`, run by `f`
    /// when executed with a key, and whose runs the demo records with [`record_scheduled_run`]
    /// (Self::record_scheduled_run). `since`: its creation time.
    pub fn register_scheduled(&self, id: &str, schedule: &str, since: &str, f: Internal) {
        self.register_internal(id, f);
        let mut inner = lock(&self.functions_api.inner);
        inner.scheduled.insert(id.to_owned(), schedule.to_owned());
        inner
            .dates
            .insert(id.to_owned(), (since.to_owned(), since.to_owned()));
    }

    /// Registers a function for `POST /v1/dev/schedules` (`super::dev_schedules`) as
    /// [`register_scheduled`](Self::register_scheduled) does, named `name`, running nothing
    /// when executed; 409 when `id` is taken, as the fake Appwrite answers a second function
    /// with one id.
    pub(super) fn register_seeded(
        &self,
        id: &str,
        name: &str,
        schedule: &str,
        since: &str,
    ) -> Result<(), AwError> {
        let taken = self.functions.contains_key(id) || lock(&self.internal).contains_key(id);
        let mut inner = lock(&self.functions_api.inner);
        if taken || inner.scheduled.contains_key(id) {
            return Err(AwError::new(
                409,
                "function_already_exists",
                "Function with the requested ID already exists. Try again with a different ID or use ID.unique() to generate a unique ID.",
            ));
        }
        inner.scheduled.insert(id.to_owned(), schedule.to_owned());
        inner
            .dates
            .insert(id.to_owned(), (since.to_owned(), since.to_owned()));
        inner.names.insert(id.to_owned(), name.to_owned());
        drop(inner);
        // Executable, so the view's Run now works on it as on the demo's functions.
        self.register_internal(id, std::sync::Arc::new(|_body: String| {}));
        Ok(())
    }

    /// Records a finished run of a scheduled demo function at `at` (Appwrite's datetime form),
    /// as Appwrite's scheduler would have: trigger `schedule`, `completed` 200 or `failed` 500.
    /// `announce`: also deliver it to the webhook, as a live run is.
    pub fn record_scheduled_run(
        &self,
        function_id: &str,
        at: &str,
        ok: bool,
        duration: f64,
        announce: bool,
    ) {
        let id = self.execution_id();
        let doc = json!({
            "$id": id, "$createdAt": at, "$updatedAt": at, "$permissions": [],
            "functionId": function_id, "resourceId": function_id, "resourceType": "functions",
            "deploymentId": "local", "trigger": "schedule",
            "status": if ok { "completed" } else { "failed" },
            "requestMethod": "POST", "requestPath": "/", "requestHeaders": [],
            "responseStatusCode": if ok { 200 } else { 500 },
            "responseBody": "", "responseHeaders": [], "logs": "",
            "errors": if ok { "" } else { "demo: the upstream queue answered 503" },
            "duration": duration, "scheduledAt": null,
        });
        self.remember(&id, &doc);
        if announce {
            self.emit("create", &doc);
        }
    }

    /// Every function's document, by id.
    fn function_documents(&self) -> Vec<Value> {
        let inner = lock(&self.functions_api.inner);
        let started = &self.functions_api.started;
        let mut docs: Vec<Value> = self
            .hosted()
            .map(|h| {
                let spec = &h.spec;
                let base = json!({"execute": spec.execute, "schedule": spec.schedule,
                    "timeout": spec.timeout, "scopes": spec.scopes});
                document(&inner, &spec.id, &base, started)
            })
            .chain(inner.scheduled.iter().map(|(id, schedule)| {
                document(&inner, id, &json!({"schedule": schedule}), started)
            }))
            .collect();
        docs.sort_by(|a, b| a["$id"].as_str().cmp(&b["$id"].as_str()));
        docs
    }

    fn function_document(&self, function_id: &str) -> Result<Value, AwError> {
        self.function_documents()
            .into_iter()
            .find(|f| f["$id"] == function_id)
            .ok_or_else(function_not_found)
    }

    /// `GET /v1/functions`.
    pub(super) fn list_functions(&self) -> (u16, Value) {
        let docs = self.function_documents();
        (200, json!({"total": docs.len(), "functions": docs}))
    }

    /// `GET /v1/functions/{id}`.
    pub(super) fn get_function(&self, function_id: &str) -> Result<(u16, Value), AwError> {
        Ok((200, self.function_document(function_id)?))
    }

    /// `PUT /v1/functions/{id}`: `name` required; every setting given is kept, every one omitted
    /// goes back to its default.
    pub(super) fn update_function(
        &self,
        function_id: &str,
        raw: &[u8],
    ) -> Result<(u16, Value), AwError> {
        self.function_document(function_id)?;
        let body: Value = serde_json::from_slice(raw)
            .map_err(|_| AwError::new(400, "general_argument_invalid", "Invalid JSON body."))?;
        if body["name"].as_str().is_none_or(str::is_empty) {
            return Err(AwError::new(
                400,
                "general_argument_invalid",
                "Param \"name\" is not optional.",
            ));
        }
        let mut settings = Map::new();
        settings.insert("name".into(), body["name"].clone());
        for (key, default) in SETTINGS {
            let value = body.get(key).filter(|v| !v.is_null()).cloned();
            settings.insert(key.into(), value.unwrap_or_else(default));
        }
        {
            let mut inner = lock(&self.functions_api.inner);
            inner.updated.insert(function_id.to_owned(), settings);
            let now = shared::appwrite::datetime(&chrono::Utc::now());
            let created = inner
                .dates
                .get(function_id)
                .map_or(now.clone(), |(c, _)| c.clone());
            inner.dates.insert(function_id.to_owned(), (created, now));
        }
        Ok((200, self.function_document(function_id)?))
    }

    /// `GET /v1/functions/{id}/executions`.
    pub(super) fn list_executions(
        &self,
        function_id: &str,
        query: &str,
    ) -> Result<(u16, Value), AwError> {
        self.function_document(function_id)?;
        let (queries, total_wanted) = parse_params(query)?;
        for q in &queries {
            if let Some(attribute) = q["attribute"].as_str() {
                if !EXECUTION_ATTRIBUTES.contains(&attribute) {
                    return Err(invalid_query(format!(
                        "Attribute not found in schema: {attribute}"
                    )));
                }
            }
        }
        let docs: Vec<Value> = lock(&self.executions)
            .iter()
            .filter(|(_, d)| d["functionId"] == function_id)
            .map(|(_, d)| d.clone())
            .collect();
        let (total, page) = select(docs, &queries)?;
        let total = if total_wanted { total } else { 0 };
        Ok((200, json!({"total": total, "executions": page})))
    }

    /// `POST /v1/tablesdb/{db}/tables/job_events/rows`: an audit entry.
    pub(super) fn create_audit_row(
        &self,
        table: &str,
        raw: &[u8],
    ) -> Result<(u16, Value), AwError> {
        audit_table(table)?;
        let body: Value = serde_json::from_slice(raw)
            .map_err(|_| AwError::new(400, "general_argument_invalid", "Invalid JSON body."))?;
        let (Some(row_id), Some(data)) = (body["rowId"].as_str(), body["data"].as_object()) else {
            return Err(AwError::new(
                400,
                "general_argument_invalid",
                "Param \"rowId\" and \"data\" are not optional.",
            ));
        };
        let now = shared::appwrite::datetime(&chrono::Utc::now());
        let mut inner = lock(&self.functions_api.inner);
        if inner.audit.iter().any(|r| r["$id"] == row_id) {
            return Err(AwError::new(
                409,
                "row_already_exists",
                "Row with the requested ID already exists.",
            ));
        }
        inner.sequence += 1;
        let mut row = data.clone();
        row.insert("$id".into(), json!(row_id));
        row.insert("$sequence".into(), json!(inner.sequence));
        row.insert("$tableId".into(), json!(AUDIT_TABLE));
        row.insert("$createdAt".into(), json!(now));
        row.insert("$updatedAt".into(), json!(now));
        row.insert("$permissions".into(), json!([]));
        let row = Value::Object(row);
        inner.audit.push_back(row.clone());
        while inner.audit.len() > KEPT_AUDIT_ROWS {
            inner.audit.pop_front();
        }
        Ok((201, row))
    }

    /// `GET /v1/tablesdb/{db}/tables/job_events/rows`.
    pub(super) fn list_audit_rows(
        &self,
        table: &str,
        query: &str,
    ) -> Result<(u16, Value), AwError> {
        audit_table(table)?;
        let (queries, total_wanted) = parse_params(query)?;
        let rows: Vec<Value> = lock(&self.functions_api.inner)
            .audit
            .iter()
            .cloned()
            .collect();
        let (total, page) = select(rows, &queries)?;
        let total = if total_wanted { total } else { 0 };
        Ok((200, json!({"total": total, "rows": page})))
    }
}

fn audit_table(table: &str) -> Result<(), AwError> {
    if table == AUDIT_TABLE {
        Ok(())
    } else {
        Err(AwError::new(
            404,
            "table_not_found",
            "Table with the requested ID could not be found.",
        ))
    }
}

/// A function's document: Appwrite's defaults, `base` (from `appwrite.json` or the demo), then
/// what `PUT` wrote.
fn document(inner: &Inner, id: &str, base: &Value, started: &str) -> Value {
    let (created, updated) = inner
        .dates
        .get(id)
        .cloned()
        .unwrap_or_else(|| (started.to_owned(), started.to_owned()));
    let name = inner.names.get(id).map_or(id, String::as_str);
    let mut doc = json!({"$id": id, "$createdAt": created, "$updatedAt": updated,
        "$permissions": [], "name": name, "runtime": "rust-1.83", "deploymentId": "local",
        "latestDeploymentId": "local", "latestDeploymentStatus": "ready", "live": true,
        "vars": []});
    for (key, default) in SETTINGS {
        doc[key] = base.get(key).cloned().unwrap_or_else(default);
    }
    if let Some(settings) = inner.updated.get(id) {
        for (key, value) in settings {
            doc[key.as_str()] = value.clone();
        }
    }
    doc
}

fn function_not_found() -> AwError {
    AwError::new(
        404,
        "function_not_found",
        "Function with the requested ID could not be found.",
    )
}

fn invalid_query(why: String) -> AwError {
    AwError::new(
        400,
        "general_query_invalid",
        format!("Invalid query: {why}"),
    )
}

/// The `queries[]` (JSON, appwrite-notes: Query wire format) and `total` of a query string.
fn parse_params(query: &str) -> Result<(Vec<Value>, bool), AwError> {
    let mut queries = Vec::new();
    let mut total = true;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key.starts_with("queries[") {
            let q: Value = serde_json::from_str(&value)
                .map_err(|_| invalid_query(format!("Syntax error: {value}")))?;
            queries.push(q);
        } else if key == "total" {
            // Appwrite 1.9.6 casts the raw string: only `0` skips the count
            // (appwrite-notes: Query limits).
            total = value != "0";
        }
    }
    Ok((queries, total))
}

/// Filters, orders, offsets and limits `docs` (default limit 25); the count before the page.
fn select(docs: Vec<Value>, queries: &[Value]) -> Result<(usize, Vec<Value>), AwError> {
    let mut found = Vec::new();
    for doc in docs {
        let mut keep = true;
        for q in queries {
            keep &= matches(&doc, q)?;
        }
        if keep {
            found.push(doc);
        }
    }
    let total = found.len();
    // Stable sorts applied last-first, so the first order query is the main key.
    for q in queries.iter().rev() {
        let attribute = q["attribute"].as_str().unwrap_or_default();
        match q["method"].as_str() {
            Some("orderAsc") => found.sort_by(|a, b| compare(&a[attribute], &b[attribute])),
            Some("orderDesc") => found.sort_by(|a, b| compare(&b[attribute], &a[attribute])),
            _ => {}
        }
    }
    let number = |name: &str, default: usize| {
        queries
            .iter()
            .filter(|q| q["method"] == name)
            .filter_map(|q| q["values"][0].as_u64())
            .next_back()
            .map_or(default, |n| n as usize)
    };
    let page = found
        .into_iter()
        .skip(number("offset", 0))
        .take(number("limit", 25))
        .collect();
    Ok((total, page))
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        // Datetimes in one form and ids compare as text.
        _ => a.as_str().cmp(&b.as_str()),
    }
}

fn matches(doc: &Value, q: &Value) -> Result<bool, AwError> {
    let method = q["method"].as_str().unwrap_or_default();
    let value = &doc[q["attribute"].as_str().unwrap_or_default()];
    let values = q["values"].as_array().cloned().unwrap_or_default();
    let first = values.first().unwrap_or(&Value::Null);
    use std::cmp::Ordering::*;
    Ok(match method {
        "equal" => values.iter().any(|v| v == value),
        "notEqual" => values.iter().all(|v| v != value),
        "greaterThan" => compare(value, first) == Greater,
        "greaterThanEqual" => compare(value, first) != Less,
        "lessThan" => compare(value, first) == Less,
        "lessThanEqual" => compare(value, first) != Greater,
        "orderAsc" | "orderDesc" | "limit" | "offset" => true,
        other => {
            return Err(invalid_query(format!(
                "Query method not supported: {other}"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_filter_order_and_page_as_appwrite_does() {
        let docs: Vec<Value> = (0..5)
            .map(|i| json!({"$id": format!("e{i}"), "$createdAt": format!("2026-12-07T10:0{i}:00.000+00:00"),
                "status": if i % 2 == 0 { "failed" } else { "completed" }}))
            .collect();
        let q = |m: &str, a: Option<&str>, v: Value| {
            let mut q = json!({"method": m, "values": v});
            if let Some(a) = a {
                q["attribute"] = json!(a);
            }
            q
        };
        let queries = [
            q(
                "greaterThan",
                Some("$createdAt"),
                json!(["2026-12-07T10:00:00.000+00:00"]),
            ),
            q("orderDesc", Some("$createdAt"), json!([])),
            q("limit", None, json!([2])),
        ];
        let (total, page) = select(docs.clone(), &queries).unwrap();
        assert_eq!(total, 4);
        let ids: Vec<&str> = page.iter().map(|d| d["$id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["e4", "e3"]);
        let (failed, _) = select(docs, &[q("equal", Some("status"), json!(["failed"]))]).unwrap();
        assert_eq!(failed, 3);
    }
}
