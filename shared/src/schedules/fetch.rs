//! What the Schedules view reads and does, through the Appwrite client with the caller's key
//! (docs/schedules.md § Cost): the functions list, two execution lists per scheduled function
//! (a third for one with fewer runs in 24 hours than the failing rule needs), one audit read;
//! and the operator actions (run now, enable, disable), each written to the audit first.
//!
//! The audit lives in the `job_events` table, under a synthetic job id per function
//! ([`audit_subject`]) that no job ever has, so retention, which deletes events only by the ids
//! of the jobs it deletes, never prunes it (appwrite-notes: Listing functions and executions).

use chrono::Duration;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{assess, ExecutionInfo, FunctionInfo, Rules, Schedule, Totals};
use crate::appwrite::{query, AppwriteClient, AppwriteError};
use crate::job::{format_timestamp, parse_timestamp, Timestamp};

/// Newest executions shown per schedule (`recent`), and the most the failing rule may need.
pub const RECENT_RUNS: usize = 10;
/// Audit entries shown per schedule, newest first.
pub const AUDIT_SHOWN: usize = 5;
/// Audit rows read per refresh (one request): the newest across all schedules.
const AUDIT_READ: usize = 100;
/// Values one `equal` query may hold (Appwrite 1.9.6 `APP_DATABASE_QUERY_MAX_VALUES`).
const QUERY_VALUES: usize = 100;

/// An operator action on a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Run,
    Enable,
    Disable,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Run => "run",
            Action::Enable => "enable",
            Action::Disable => "disable",
        }
    }

    /// The `kind` of its `job_events` row.
    fn kind(self) -> &'static str {
        match self {
            Action::Run => "schedule_run",
            Action::Enable => "schedule_enable",
            Action::Disable => "schedule_disable",
        }
    }

    fn from_kind(kind: &str) -> Option<Action> {
        [Action::Run, Action::Enable, Action::Disable]
            .into_iter()
            .find(|a| a.kind() == kind)
    }
}

/// Who did what to a schedule, when and why.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: Action,
    pub reason: Option<String>,
}

impl AuditEntry {
    pub fn view(&self) -> Value {
        json!({
            "at": format_timestamp(&self.at),
            "actor": self.actor,
            "action": self.action.as_str(),
            "reason": self.reason,
        })
    }
}

/// Why an operator action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// No such function, or one without a schedule (this API acts on scheduled functions only).
    #[error("no scheduled function `{0}`")]
    NotFound(String),
    #[error(transparent)]
    Appwrite(#[from] AppwriteError),
}

/// Every scheduled function, assessed, with its audit, and what reading them cost.
#[derive(Debug, Clone)]
pub struct Board {
    pub schedules: Vec<(Schedule, Vec<AuditEntry>)>,
    /// Appwrite requests made (attempts retried inside the client not counted).
    pub requests: u64,
    pub checked_at: Timestamp,
}

impl Board {
    /// `GET /v1/schedules`'s answer.
    pub fn view(&self) -> Value {
        json!({
            "schedules": self
                .schedules
                .iter()
                .map(|(s, audit)| s.view(audit))
                .collect::<Vec<_>>(),
            "checkedAt": format_timestamp(&self.checked_at),
            "requests": self.requests,
        })
    }
}

/// The synthetic `jobId` of a function's audit entries: `schedule-` and 27 hex digits of the
/// SHA-256 of the function id (a job id is never that shape; 36 characters fit the column).
pub fn audit_subject(function_id: &str) -> String {
    let digest = Sha256::digest(function_id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("schedule-{}", &hex[..27])
}

/// Reads and assesses every scheduled function of the project (docs/schedules.md § Cost).
pub fn list(
    client: &AppwriteClient,
    rules: &Rules,
    now: Timestamp,
) -> Result<Board, AppwriteError> {
    let mut requests = 0;
    let mut functions = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        requests += 1;
        let page = client.list_functions(cursor.as_deref())?;
        let full = page.documents.len() >= crate::appwrite::FUNCTIONS_PAGE;
        cursor = page
            .documents
            .last()
            .and_then(|d| d["$id"].as_str())
            .map(str::to_owned);
        functions.extend(page.documents.iter().filter_map(function_info));
        if !full || cursor.is_none() {
            break;
        }
    }
    let mut schedules = Vec::new();
    for function in &functions {
        let (schedule, cost) = assess_one(client, function, rules, now)?;
        requests += cost;
        schedules.push(schedule);
    }
    let ids: Vec<&str> = functions.iter().map(|f| f.id.as_str()).collect();
    let (mut audits, cost) = read_audit(client, &ids)?;
    requests += cost;
    Ok(Board {
        schedules: schedules
            .into_iter()
            .map(|s| {
                let audit = audits.remove(&s.function_id).unwrap_or_default();
                (s, audit)
            })
            .collect(),
        requests,
        checked_at: now,
    })
}

/// Starts the scheduled function now, asynchronously, after writing the audit entry. Returns
/// the execution's id and status (`waiting` or `scheduled`).
pub fn run_now(
    client: &AppwriteClient,
    function_id: &str,
    actor: &str,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<(String, String), OpError> {
    let document = scheduled_function(client, function_id)?;
    let id = document.id.clone();
    write_audit(client, &id, Action::Run, actor, reason, now)?;
    let execution = client.create_execution(&id, "", "/", "POST", true)?;
    Ok((execution.id, execution.status))
}

/// Sets the function's `enabled` flag (every other setting sent back unchanged), audited before
/// the change; answers the schedule as it is now.
#[allow(clippy::too_many_arguments)]
pub fn set_enabled(
    client: &AppwriteClient,
    function_id: &str,
    enabled: bool,
    actor: &str,
    reason: Option<&str>,
    rules: &Rules,
    now: Timestamp,
) -> Result<(Schedule, Vec<AuditEntry>), OpError> {
    let current = client
        .get_function(function_id)
        .map_err(|e| not_found(e, function_id))?;
    let Some(mut function) = function_info(&current) else {
        return Err(OpError::NotFound(function_id.to_owned()));
    };
    let action = if enabled {
        Action::Enable
    } else {
        Action::Disable
    };
    write_audit(client, &function.id, action, actor, reason, now)?;
    // Already so: nothing to change, and no update that would move `$updatedAt`.
    if function.enabled != enabled {
        let updated = client.set_function_enabled(&current, enabled)?;
        function = function_info(&updated).unwrap_or(FunctionInfo {
            enabled,
            ..function
        });
    }
    let (schedule, _) = assess_one(client, &function, rules, now)?;
    let (mut audits, _) = read_audit(client, &[function.id.as_str()])?;
    let audit = audits.remove(&function.id).unwrap_or_default();
    Ok((schedule, audit))
}

fn scheduled_function(client: &AppwriteClient, function_id: &str) -> Result<FunctionInfo, OpError> {
    let document = client
        .get_function(function_id)
        .map_err(|e| not_found(e, function_id))?;
    function_info(&document).ok_or_else(|| OpError::NotFound(function_id.to_owned()))
}

fn not_found(e: AppwriteError, function_id: &str) -> OpError {
    if e.status() == Some(404) {
        OpError::NotFound(function_id.to_owned())
    } else {
        OpError::Appwrite(e)
    }
}

/// A function document as [`FunctionInfo`]; `None` for a function without a schedule.
fn function_info(doc: &Value) -> Option<FunctionInfo> {
    let schedule = doc["schedule"].as_str().unwrap_or_default().trim();
    if schedule.is_empty() {
        return None;
    }
    let text = |key: &str| doc[key].as_str().unwrap_or_default().to_owned();
    Some(FunctionInfo {
        id: text("$id"),
        name: text("name"),
        schedule: schedule.to_owned(),
        enabled: doc["enabled"].as_bool().unwrap_or(true),
        deployment_id: text("deploymentId"),
        updated_at: doc["$updatedAt"]
            .as_str()
            .and_then(|t| parse_timestamp("$updatedAt", t).ok()),
    })
}

fn execution_info(doc: &Value) -> Option<ExecutionInfo> {
    let text = |key: &str| doc[key].as_str().unwrap_or_default().to_owned();
    Some(ExecutionInfo {
        id: doc["$id"].as_str()?.to_owned(),
        status: text("status"),
        trigger: text("trigger"),
        started_at: parse_timestamp("$createdAt", doc["$createdAt"].as_str()?).ok()?,
        duration_seconds: doc["duration"].as_f64().unwrap_or(0.0),
        status_code: doc["responseStatusCode"]
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(0),
    })
}

/// One function's executions and counts, assessed; and the requests that took.
fn assess_one(
    client: &AppwriteClient,
    function: &FunctionInfo,
    rules: &Rules,
    now: Timestamp,
) -> Result<(Schedule, u64), AppwriteError> {
    let since = crate::appwrite::datetime(&(now - Duration::hours(24)));
    let created_after = query(
        "greaterThan",
        Some("$createdAt"),
        vec![Value::from(since.clone())],
    );
    let newest_first = query("orderDesc", Some("$createdAt"), vec![]);
    let runs = client.list_executions(
        &function.id,
        &[
            created_after.clone(),
            newest_first.clone(),
            query("limit", None, vec![Value::from(RECENT_RUNS)]),
        ],
        true,
    )?;
    let failures = client.list_executions(
        &function.id,
        &[
            query("equal", Some("status"), vec![Value::from("failed")]),
            created_after,
            query("limit", None, vec![Value::from(1)]),
        ],
        true,
    )?;
    let mut recent: Vec<ExecutionInfo> = runs.documents.iter().filter_map(execution_info).collect();
    let mut requests = 2;
    // Fewer runs in 24 hours than the failing rule looks at (a slow schedule, or one that
    // stopped): the older ones too, which also show when it last ran.
    if recent.len() < rules.failing_runs && (runs.total as usize) <= recent.len() {
        requests += 1;
        let older = client.list_executions(
            &function.id,
            &[
                query(
                    "lessThanEqual",
                    Some("$createdAt"),
                    vec![Value::from(since)],
                ),
                newest_first,
                query("limit", None, vec![Value::from(RECENT_RUNS - recent.len())]),
            ],
            false,
        )?;
        recent.extend(older.documents.iter().filter_map(execution_info));
    }
    let totals = Totals {
        runs_24h: runs.total,
        failures_24h: failures.total,
    };
    Ok((assess(function, &recent, totals, rules, now), requests))
}

/// The newest audit entries of these functions, at most [`AUDIT_SHOWN`] each; and the requests.
fn read_audit(
    client: &AppwriteClient,
    function_ids: &[&str],
) -> Result<(std::collections::HashMap<String, Vec<AuditEntry>>, u64), AppwriteError> {
    let mut by_function = std::collections::HashMap::new();
    let mut requests = 0;
    let table = client.config().events_table.clone();
    for chunk in function_ids.chunks(QUERY_VALUES) {
        let subjects: Vec<(String, &str)> =
            chunk.iter().map(|id| (audit_subject(id), *id)).collect();
        let values = subjects
            .iter()
            .map(|(s, _)| Value::from(s.as_str()))
            .collect();
        requests += 1;
        let reply = client.list_rows(
            &table,
            &[
                query("equal", Some("jobId"), values),
                // Insertion order, newest first: entries written in the same millisecond
                // still come out in the order they were made.
                query("orderDesc", Some("$sequence"), vec![]),
                query("limit", None, vec![Value::from(AUDIT_READ)]),
            ],
            false,
        )?;
        let rows = reply.body["rows"].as_array().cloned().unwrap_or_default();
        for row in &rows {
            let Some(function) = subjects
                .iter()
                .find(|(s, _)| row["jobId"] == s.as_str())
                .map(|(_, f)| (*f).to_owned())
            else {
                continue;
            };
            let Some(entry) = audit_entry(row) else {
                continue;
            };
            let list: &mut Vec<AuditEntry> = by_function.entry(function).or_default();
            if list.len() < AUDIT_SHOWN {
                list.push(entry);
            }
        }
    }
    Ok((by_function, requests))
}

fn audit_entry(row: &Value) -> Option<AuditEntry> {
    Some(AuditEntry {
        at: parse_timestamp("at", row["at"].as_str()?).ok()?,
        actor: row["actor"].as_str().unwrap_or_default().to_owned(),
        action: Action::from_kind(row["kind"].as_str()?)?,
        reason: row["message"].as_str().map(str::to_owned),
    })
}

/// Appends one audit entry (a `job_events` row created with a fresh id; a create is not an
/// update path, so Appwrite reads no operator in the reason: appwrite-notes: Operator strings).
fn write_audit(
    client: &AppwriteClient,
    function_id: &str,
    action: Action,
    actor: &str,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<(), AppwriteError> {
    let id = crate::store::id::fresh('s', now);
    let details = json!({"v": 1, "data": {"functionId": function_id}}).to_string();
    let row = json!({
        "eventId": id,
        "jobId": audit_subject(function_id),
        "jobRev": 0,
        "at": crate::appwrite::datetime(&now),
        "kind": action.kind(),
        "actor": actor,
        "message": reason.map(crate::job::clip_text),
        "fromStatus": Value::Null,
        "toStatus": Value::Null,
        "details": details,
    });
    let table = client.config().events_table.clone();
    client.create_row(&table, &id, row)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_subjects_fit_the_job_id_column_and_differ_per_function() {
        let a = audit_subject("sqs-poller");
        assert_eq!(a.len(), 36);
        assert!(crate::appwrite::valid_id(&a));
        assert_ne!(a, audit_subject("fetch-aws-metrics"));
        assert_eq!(a, audit_subject("sqs-poller"));
    }

    #[test]
    fn functions_without_a_schedule_are_not_schedules() {
        assert!(function_info(&json!({"$id": "f", "schedule": ""})).is_none());
        assert!(function_info(&json!({"$id": "f"})).is_none());
        let f = function_info(
            &json!({"$id": "f", "name": "<b>x</b>", "schedule": "*/5 * * * *",
            "enabled": false, "deploymentId": "d1", "$updatedAt": "2026-12-07T10:00:00.000+00:00"}),
        )
        .unwrap();
        assert_eq!(f.name, "<b>x</b>");
        assert!(!f.enabled);
        assert!(f.updated_at.is_some());
    }
}
