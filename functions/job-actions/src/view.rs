//! What the API answers about a job: the seed's fields (the job's own serde form) plus what a
//! dashboard would otherwise compute itself (duration, ETA, control value, the actions legal
//! for this caller), and the CSV form of the same rows for export.

use serde_json::{Map, Value};
use shared::job::{transition, Event, Job, JobEvent, JobStatus, Timestamp};

/// The actions `job` allows now, for a caller who may act; checked against the state machine
/// so the dashboard never offers a button the API would refuse.
pub fn actions(job: &Job) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (event, name) in [
        (Event::Pause, "pause"),
        (Event::Resume, "resume"),
        (Event::Cancel, "cancel"),
    ] {
        if transition(job.status, event).is_ok() {
            out.push(name);
        }
    }
    if matches!(job.status, JobStatus::Failed | JobStatus::Cancelled) {
        out.push("retry");
    }
    out
}

/// A job as the API shows it (`JobView` in the OpenAPI document).
pub fn job_view(job: &Job, now: Timestamp, can_act: bool) -> Value {
    let mut map = match serde_json::to_value(job) {
        Ok(Value::Object(map)) => map,
        // A derived Serialize on plain data cannot fail; an empty object keeps the edge panic-free.
        _ => Map::new(),
    };
    map.insert("durationMs".into(), job.duration_ms(now).into());
    map.insert("etaMs".into(), job.eta_ms(now).into());
    map.insert(
        "control".into(),
        serde_json::to_value(job.control()).unwrap_or(Value::Null),
    );
    let actions = if can_act { actions(job) } else { Vec::new() };
    map.insert("actions".into(), actions.into());
    Value::Object(map)
}

/// A log entry as the API shows it.
pub fn event_view(event: &JobEvent) -> Value {
    // A derived Serialize on plain data cannot fail; an empty object keeps the edge panic-free.
    serde_json::to_value(event).unwrap_or_else(|_| Value::Object(Map::new()))
}

/// The export's columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "$id",
    "type",
    "status",
    "referenceId",
    "progress",
    "progressMessage",
    "createdAt",
    "startedAt",
    "updatedAt",
    "completedAt",
    "durationMs",
    "errorMessage",
    "done",
    "total",
    "result",
    "retryOf",
    "lastActor",
    "lastReason",
];

/// Renders views as CSV (RFC 4180, CRLF line ends, header row).
pub fn csv(views: &[Value]) -> String {
    let mut out = String::new();
    push_row(&mut out, CSV_COLUMNS.iter().map(|c| (*c).to_owned()));
    for view in views {
        push_row(
            &mut out,
            CSV_COLUMNS.iter().map(|c| match view.get(*c) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            }),
        );
    }
    out
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_cell(&cell));
    }
    out.push_str("\r\n");
}

/// Quotes a cell when needed, and defuses text a spreadsheet would run as a formula (error
/// messages and reasons are free text from workers and users).
fn csv_cell(cell: &str) -> String {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let cell = if formula {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }
}
