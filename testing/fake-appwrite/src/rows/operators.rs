//! Operator strings on row writes: which paths parse them, and each operator applied to a
//! column's current value as utopia-php/database 6.0.0 applies it (appwrite-notes: Operator
//! strings).

use serde_json::{json, Map, Value};

use crate::wire::{now_text, Answer};

/// Whether a write path parses operator strings. Appwrite 1.9.6 parses them on update paths
/// only (row update, upsert, bulk update; `Databases/Http/Databases/Action.php`
/// `parseOperators`), never on create (appwrite-notes: Operator strings).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operators {
    Parse,
    Ignore,
}

/// Writes `data` into `row`. On update paths, a string on any column that decodes to an object
/// with a known operator `method` is applied as that operator (appwrite-notes: Operator strings), plain text columns
/// included: that is why the adapter escapes such text and wraps JSON columns.
pub(crate) fn merge(
    row: &mut Map<String, Value>,
    data: &Value,
    operators: Operators,
) -> Result<(), Answer> {
    let Some(data) = data.as_object() else {
        return Err(Answer::error(
            400,
            "row_invalid_structure",
            "Invalid row structure: data must be an object",
        ));
    };
    for (key, value) in data {
        if key.starts_with('$') {
            continue;
        }
        let operator = value
            .as_str()
            .filter(|_| operators == Operators::Parse)
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .filter(|v| {
                v.get("method")
                    .and_then(Value::as_str)
                    .is_some_and(is_operator)
            });
        let new = match operator {
            None => value.clone(),
            Some(op) => apply_operator(key, row.get(key), &op)?,
        };
        row.insert(key.clone(), new);
    }
    Ok(())
}

/// One operator on a column's current value, as utopia-php/database 6.0.0 applies it
/// (`Operator.php`, `Validator/Operator.php`): numeric operators on a text value are refused,
/// string operators work on text. Array and date-offset operators are not needed by Job
/// Manager and are refused by the fake.
fn apply_operator(key: &str, old: Option<&Value>, op: &Value) -> Result<Value, Answer> {
    let method = op["method"].as_str().unwrap_or_default();
    let values = op["values"].as_array().cloned().unwrap_or_default();
    let text = |i: usize| {
        values
            .get(i)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let invalid = |why: String| {
        Answer::error(
            400,
            "row_invalid_structure",
            format!("Invalid operator for attribute \"{key}\": {why}"),
        )
    };
    let numeric = matches!(
        method,
        "increment" | "decrement" | "multiply" | "divide" | "modulo" | "power"
    );
    if numeric {
        if let Some(Value::String(_)) = old {
            return Err(invalid(format!(
                "Cannot apply {method} operator to non-numeric field '{key}'"
            )));
        }
        let arg = values.first().and_then(Value::as_f64).unwrap_or(1.0);
        let old = old.and_then(Value::as_f64).unwrap_or(0.0);
        return Ok(number(match method {
            "increment" => old + arg,
            "decrement" => old - arg,
            "multiply" => old * arg,
            "divide" if arg != 0.0 => old / arg,
            "modulo" if arg != 0.0 => old % arg,
            "power" => old.powf(arg),
            _ => return Err(invalid(format!("Cannot apply {method} operator: by zero"))),
        }));
    }
    let old_text = || match old {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid(format!(
            "Cannot apply {method} operator to non-string field '{key}'"
        ))),
    };
    match method {
        "stringConcat" => Ok(json!(old_text()? + &text(0))),
        "stringReplace" => Ok(json!(old_text()?.replace(&text(0), &text(1)))),
        "dateSetNow" => Ok(json!(now_text())),
        other => Err(Answer::error(
            400,
            "general_argument_invalid",
            format!("Operator `{other}` is not supported by the fake"),
        )),
    }
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

fn is_operator(method: &str) -> bool {
    // The operator methods (appwrite-notes: Operator strings).
    matches!(
        method,
        "increment"
            | "decrement"
            | "multiply"
            | "divide"
            | "modulo"
            | "power"
            | "stringConcat"
            | "stringReplace"
            | "toggle"
            | "arrayAppend"
            | "arrayPrepend"
            | "arrayInsert"
            | "arrayRemove"
            | "arrayUnique"
            | "arrayIntersect"
            | "arrayDiff"
            | "arrayFilter"
            | "dateAddDays"
            | "dateSubDays"
            | "dateSetNow"
    )
}
