//! TablesDB rows (appwrite-notes: Row endpoints): get, list, create, update and delete one row
//! (with the `X-Appwrite-Timestamp` conditional write), every write checked against the table's
//! columns ([`schema::check_row`]); `bulk`: upsert and update or delete by query; `operators`:
//! operator strings on update paths. Also the test-side reads and writes of rows.

mod bulk;
mod operators;

use std::collections::BTreeMap;

use hyper::Method;
use serde_json::{json, Map, Value};

use crate::query::{filter_only, params_queries, select, total_param};
use crate::schema;
use crate::tables::{database_missing, table_missing};
use crate::wire::{now_text, parse_time, Answer};
use crate::{Rows, State};
use operators::{merge, Operators};

/// `GET …/tables/{table}/rows`: the rows the queries select, with `total` counting every match
/// before limit, offset and cursor, up to 5000 (appwrite-notes: Query limits).
pub(crate) fn list(state: &State, db: &str, table: &str, params: &[(String, String)]) -> Answer {
    let rows = match table_of(state, db, table) {
        Ok(t) => t,
        Err(a) => return a,
    };
    let queries = match params_queries(params) {
        Ok(q) => q,
        Err(a) => return a,
    };
    let total_wanted = match total_param(params) {
        Ok(t) => t,
        Err(a) => return a,
    };
    let all: Vec<&Map<String, Value>> = rows.values().collect();
    let total = if total_wanted {
        match filter_only(&all, &queries) {
            Ok(n) => n.min(5000),
            Err(a) => return a,
        }
    } else {
        0
    };
    match select(all, Ok(queries), Some(rows)) {
        Ok(found) => Answer::json(200, json!({"total": total, "rows": found})),
        Err(a) => a,
    }
}

/// A write on `…/tables/{table}/rows` itself: `POST` creates one row, `PUT` upserts many,
/// `PATCH` and `DELETE` act on every row the body's queries select.
pub(crate) fn write_table(
    state: &mut State,
    db: &str,
    table: &str,
    method: &Method,
    body: Value,
) -> Answer {
    let sequence = state.sequence;
    let (columns, rows) = match for_write(state, db, table) {
        Ok(found) => found,
        Err(a) => return a,
    };
    let (answer, used) = match *method {
        Method::POST => create_row(rows, db, table, body, sequence, columns.as_ref()),
        Method::PUT => bulk::upsert(rows, db, table, &body, sequence, columns.as_ref()),
        Method::PATCH if is_empty_payload(body.get("data").unwrap_or(&Value::Null)) => {
            (missing_payload(), 0)
        }
        Method::PATCH | Method::DELETE => {
            (bulk::by_query(rows, method, &body, columns.as_ref()), 0)
        }
        _ => (Answer::route_not_found(), 0),
    };
    state.sequence += used;
    answer
}

/// `GET`, `PATCH` or `DELETE …/rows/{id}`.
pub(crate) fn on_row(
    state: &mut State,
    (db, table, id): (&str, &str, &str),
    method: &Method,
    body: Value,
    timestamp: Option<&str>,
) -> Answer {
    let (columns, rows) = match for_write(state, db, table) {
        Ok(found) => found,
        Err(a) => return a,
    };
    let Some(row) = rows.get_mut(id) else {
        return not_found_row(id);
    };
    if *method != Method::GET {
        if let Err(a) = check_timestamp(row, timestamp) {
            return a;
        }
    }
    match *method {
        Method::GET => Answer::json(200, Value::Object(row.clone())),
        Method::PATCH => match update_row(row, &body, columns.as_ref()) {
            Ok(a) | Err(a) => a,
        },
        Method::DELETE => {
            rows.remove(id);
            Answer::empty()
        }
        _ => Answer::route_not_found(),
    }
}

/// Optimistic concurrency (appwrite-notes: Conditional writes): refused when the row is
/// strictly newer than the request timestamp, at millisecond precision. Single-row update and
/// delete only (in 1.9.6 upsert does not take the header).
fn check_timestamp(row: &Map<String, Value>, timestamp: Option<&str>) -> Result<(), Answer> {
    let Some(raw) = timestamp else {
        return Ok(());
    };
    let Some(ts) = parse_time(raw) else {
        return Err(Answer::error(
            400,
            "general_argument_invalid",
            "Invalid X-Appwrite-Timestamp header value",
        ));
    };
    let updated = row
        .get("$updatedAt")
        .and_then(Value::as_str)
        .and_then(parse_time);
    if updated.is_some_and(|u| u > ts) {
        return Err(Answer::error(
            409,
            "row_update_conflict",
            "Remote row is newer than local.",
        ));
    }
    Ok(())
}

/// `PATCH …/rows/{id}`: data or permissions, operators parsed.
fn update_row(
    row: &mut Map<String, Value>,
    body: &Value,
    columns: Option<&schema::Table>,
) -> Result<Answer, Answer> {
    let data = body.get("data").cloned().unwrap_or(json!({}));
    if is_empty_payload(&data) && body.get("permissions").is_none_or(Value::is_null) {
        return Err(missing_payload());
    }
    schema::check_permissions(body.get("permissions"))
        .map_err(|(s, k, m)| Answer::error(s, k, m))?;
    write_checked(row, &data, columns, Operators::Parse)?;
    row.insert("$updatedAt".into(), json!(now_text()));
    Ok(Answer::json(200, Value::Object(row.clone())))
}

fn not_found_row(id: &str) -> Answer {
    Answer::error(
        404,
        "row_not_found",
        format!("Row with the requested ID '{id}' could not be found."),
    )
}

fn table_of<'a>(state: &'a State, db: &str, table: &str) -> Result<&'a Rows, Answer> {
    let database = state.databases.get(db).ok_or_else(database_missing)?;
    database.get(table).ok_or_else(table_missing)
}

/// A table's columns (`None` for a table made without them) and its rows, to write.
fn for_write<'a>(
    state: &'a mut State,
    db: &str,
    table: &str,
) -> Result<(Option<schema::Table>, &'a mut Rows), Answer> {
    let columns = state
        .schemas
        .get(&(db.to_owned(), table.to_owned()))
        .cloned();
    let database = state.databases.get_mut(db).ok_or_else(database_missing)?;
    let rows = database.get_mut(table).ok_or_else(table_missing)?;
    Ok((columns, rows))
}

/// `POST …/rows` with `{"rowId","data"}`; the row JSON with `$sequence` a string
/// (appwrite-notes: Row endpoints). Also how many sequence numbers it used (0 or 1).
fn create_row(
    rows: &mut Rows,
    db: &str,
    table: &str,
    body: Value,
    sequence: u64,
    columns: Option<&schema::Table>,
) -> (Answer, u64) {
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return (
            Answer::error(
                400,
                "row_missing_data",
                "The row data is missing. Try again with row data populated",
            ),
            0,
        );
    };
    let requested = body
        .get("rowId")
        .and_then(Value::as_str)
        .unwrap_or("unique()");
    let id = if requested == "unique()" {
        format!("{:020x}", sequence + 1)
    } else {
        requested.to_owned()
    };
    if let Err((s, k, m)) = schema::check_permissions(body.get("permissions")) {
        return (Answer::error(s, k, m), 0);
    }
    if !schema::valid_key(&id) {
        let message = format!("Invalid `rowId` param: {}", schema::KEY_RULE);
        return (Answer::error(400, "general_argument_invalid", message), 0);
    }
    if rows.contains_key(&id) {
        return (Answer::error(409, "row_already_exists", "Row with the requested ID already exists. Try again with a different ID or use ID.unique() to generate a unique ID."), 0);
    }
    let now = now_text();
    let mut row = Map::new();
    row.insert("$id".into(), json!(id));
    row.insert("$sequence".into(), json!((sequence + 1).to_string()));
    row.insert("$tableId".into(), json!(table));
    row.insert("$databaseId".into(), json!(db));
    row.insert("$createdAt".into(), json!(now));
    row.insert("$updatedAt".into(), json!(now));
    row.insert("$permissions".into(), json!([]));
    if let Err(a) = write_checked(
        &mut row,
        &Value::Object(data.clone()),
        columns,
        Operators::Ignore,
    ) {
        return (a, 0);
    }
    rows.insert(id, row.clone());
    (Answer::json(201, Value::Object(row)), 1)
}

/// Appwrite refuses an update without data (and, for one row, without permissions): appwrite
/// 1.9.6 `Databases/Collections/Documents/Update.php` and `Bulk/Update.php`, `empty($data)`.
fn is_empty_payload(data: &Value) -> bool {
    match data {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty() || s == "{}" || s == "[]",
        _ => false,
    }
}

fn missing_payload() -> Answer {
    Answer::error(
        400,
        "row_missing_payload",
        "The row data and permissions are missing. You must provide either row data or permissions to be updated.",
    )
}

/// Writes `data` into `row` only if the result passes the table's structure check
/// ([`schema::check_row`]); otherwise `row` is left as it was.
fn write_checked(
    row: &mut Map<String, Value>,
    data: &Value,
    columns: Option<&schema::Table>,
    operators: Operators,
) -> Result<(), Answer> {
    let mut next = row.clone();
    merge(&mut next, data, operators)?;
    if let Some(table) = columns {
        schema::check_row(table, &next).map_err(|(s, k, m)| Answer::error(s, k, m))?;
        schema::normalize_times(table, &mut next);
    }
    *row = next;
    Ok(())
}

impl crate::FakeAppwrite {
    /// The rows of a table, by id (for assertions).
    pub fn rows(&self, database: &str, table: &str) -> BTreeMap<String, Map<String, Value>> {
        self.shared
            .lock()
            .databases
            .get(database)
            .and_then(|d| d.get(table))
            .cloned()
            .unwrap_or_default()
    }

    /// Overwrites (or inserts) one column of a row behind the client's back.
    pub fn set_column(&self, database: &str, table: &str, row: &str, column: &str, value: Value) {
        let mut state = self.shared.lock();
        if let Some(r) = state
            .databases
            .get_mut(database)
            .and_then(|d| d.get_mut(table))
            .and_then(|t| t.get_mut(row))
        {
            r.insert(column.into(), value);
            r.insert("$updatedAt".into(), json!(now_text()));
        }
    }
}
