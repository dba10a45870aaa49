//! Bulk row writes: upsert (`PUT …/rows`, each row carrying its `$id`) and update or delete by
//! query (`PATCH`/`DELETE …/rows`; appwrite-notes: Bulk update and delete by query).

use hyper::Method;
use serde_json::{json, Value};

use super::{create_row, write_checked, Operators};
use crate::query::{parse_query, select};
use crate::schema;
use crate::wire::{now_text, Answer};
use crate::Rows;

fn invalid_param(name: &str) -> Answer {
    Answer::error(
        400,
        "general_argument_invalid",
        format!("Invalid `{name}` param"),
    )
}

/// Bulk upsert: existing rows are replaced column by column, missing ones created
/// (appwrite-notes.md § Rows). Also how many sequence numbers it used; none when it fails,
/// even after creating some rows, as the fake always did.
pub(super) fn upsert(
    rows: &mut Rows,
    db: &str,
    table: &str,
    body: &Value,
    sequence: u64,
    columns: Option<&schema::Table>,
) -> (Answer, u64) {
    let Some(items) = body.get("rows").and_then(Value::as_array) else {
        return (invalid_param("rows"), 0);
    };
    let mut touched = Vec::new();
    let mut used = 0;
    for item in items {
        let Some(mut data) = item.as_object().cloned() else {
            return (invalid_param("rows"), 0);
        };
        let id = data
            .remove("$id")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unique()".into());
        if let Some(r) = rows.get_mut(&id) {
            let data = Value::Object(data);
            if let Err(a) = write_checked(r, &data, columns, Operators::Parse) {
                return (a, 0);
            }
            r.insert("$updatedAt".into(), json!(now_text()));
            touched.push(Value::Object(r.clone()));
        } else {
            let body = json!({"rowId": id, "data": data});
            let (answer, n) = create_row(rows, db, table, body, sequence + used, columns);
            if n == 0 {
                return (answer, 0);
            }
            used += n;
            touched.push(serde_json::from_slice(&answer.body).unwrap_or_default());
        }
    }
    let answer = Answer::json(200, json!({"total": touched.len(), "rows": touched}));
    (answer, used)
}

/// Bulk update (`PATCH`) or delete (`DELETE`) of every row the body's queries select; no
/// queries means every row. The answer lists at most 100 of them.
pub(super) fn by_query(
    rows: &mut Rows,
    method: &Method,
    body: &Value,
    columns: Option<&schema::Table>,
) -> Answer {
    let mut queries: Vec<Value> = match body.get("queries") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            match items.iter().map(parse_query).collect::<Result<Vec<_>, _>>() {
                Ok(q) => q,
                Err(a) => return a,
            }
        }
        Some(_) => return invalid_param("queries"),
    };
    // The list default of 25 applies to reads only: a bulk write acts on every matching row.
    if !queries.iter().any(|q| q["method"] == "limit") {
        queries.push(json!({"method": "limit", "values": [u32::MAX]}));
    }
    let ids: Vec<String> = match select(rows.values().collect(), Ok(queries), Some(rows)) {
        Ok(found) => found
            .iter()
            .filter_map(|r| r.get("$id").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        Err(a) => return a,
    };
    let mut touched = Vec::new();
    for id in &ids {
        if *method == Method::DELETE {
            if let Some(r) = rows.remove(id) {
                touched.push(r);
            }
        } else if let Some(r) = rows.get_mut(id) {
            let data = body.get("data").cloned().unwrap_or(json!({}));
            if let Err(a) = write_checked(r, &data, columns, Operators::Parse) {
                return a;
            }
            r.insert("$updatedAt".into(), json!(now_text()));
            touched.push(r.clone());
        }
    }
    touched.truncate(100);
    Answer::json(200, json!({"total": ids.len(), "rows": touched}))
}
