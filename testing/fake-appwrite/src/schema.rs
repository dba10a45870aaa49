//! The fake's table schemas: tables, columns and indexes created through the endpoints Appwrite
//! CLI 12.0.1 calls (`lib/commands/push.js`: the legacy `databases/…/attributes/<kind>` and
//! `…/indexes` routes, and `tablesdb/…/tables/{id}` to read them back), answered in Appwrite
//! 1.9.6's response shape, and the structure check Appwrite runs on every written row.
//!
//! The shapes are the ones the CLI compares on its next push (docs/appwrite-notes.md § Deployment and the CLI):
//! a string column answers `"encrypt": false` (`app/init/database/filters.php`,
//! `subQueryAttributes`), a datetime column `"format": ""` (its `Create.php` stores no format),
//! an integer `min`/`max` but no `format` (`Response/Model/ColumnInteger.php` has no such rule).

use serde_json::{json, Map, Value};

/// A table's schema and settings, each column and index kept as Appwrite answers it.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub name: String,
    pub permissions: Vec<Value>,
    pub row_security: bool,
    pub columns: Vec<Value>,
    pub indexes: Vec<Value>,
}

/// A refusal: status, Appwrite error type, message.
pub type Refusal = (u16, &'static str, String);

fn bad(kind: &'static str, message: impl Into<String>) -> Refusal {
    (400, kind, message.into())
}

/// `POST …/attributes/<kind>` or `…/columns/<kind>`: the column as Appwrite stores and answers
/// it (`Response/Model/Column*.php` at 1.9.6), or its refusal. `created` is the timestamp.
pub fn create_column(
    table: &mut Table,
    kind: &str,
    params: &Value,
    created: &str,
) -> Result<Value, Refusal> {
    let key = params
        .get("key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty() && k.len() <= 36)
        .ok_or_else(|| bad("general_argument_invalid", "Invalid `key` param"))?;
    let required = params
        .get("required")
        .and_then(Value::as_bool)
        .ok_or_else(|| {
            bad(
                "general_argument_invalid",
                "Param \"required\" is not optional.",
            )
        })?;
    let default = params.get("default").cloned().unwrap_or(Value::Null);
    if required && !default.is_null() {
        return Err(bad(
            "column_default_unsupported",
            "Cannot set default value for required column",
        ));
    }
    if table.columns.iter().any(|c| c["key"] == key) {
        return Err((
            409,
            "column_already_exists",
            "Column with the requested key already exists.".into(),
        ));
    }
    let array = params
        .get("array")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut column = json!({
        "key": key, "type": "string", "status": "available", "error": "",
        "required": required, "array": array, "$createdAt": created, "$updatedAt": created,
    });
    let extra = match kind {
        "string" => {
            let size = params
                .get("size")
                .and_then(Value::as_u64)
                .filter(|s| (1..=1_073_741_824).contains(s))
                .ok_or_else(|| bad("general_argument_invalid", "Invalid `size` param"))?;
            let encrypt = params
                .get("encrypt")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            json!({"size": size, "default": default, "encrypt": encrypt})
        }
        "enum" => {
            let elements = params
                .get("elements")
                .and_then(Value::as_array)
                .filter(|e| !e.is_empty() && e.iter().all(Value::is_string))
                .ok_or_else(|| bad("general_argument_invalid", "Invalid `elements` param"))?;
            json!({"elements": elements, "format": "enum", "default": default})
        }
        "email" | "url" | "ip" => json!({"format": kind, "default": default}),
        "integer" => {
            let min = params
                .get("min")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MIN);
            let max = params
                .get("max")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MAX);
            if min > max {
                return Err(bad(
                    "column_value_invalid",
                    "Minimum value must be lesser than maximum value",
                ));
            }
            json!({"type": "integer", "min": min, "max": max, "default": default})
        }
        "float" => {
            let min = params
                .get("min")
                .and_then(Value::as_f64)
                .unwrap_or(f64::MIN);
            let max = params
                .get("max")
                .and_then(Value::as_f64)
                .unwrap_or(f64::MAX);
            json!({"type": "double", "min": min, "max": max, "default": default})
        }
        "boolean" => json!({"type": "boolean", "default": default}),
        "datetime" => json!({"type": "datetime", "format": "", "default": default}),
        _ => {
            return Err((
                404,
                "general_route_not_found",
                "The requested route was not found.".into(),
            ))
        }
    };
    for (k, v) in extra.as_object().into_iter().flatten() {
        column[k] = v.clone();
    }
    table.columns.push(column.clone());
    Ok(column)
}

/// `POST …/indexes`: `key`, `type`, `columns` (or the legacy `attributes`), `orders`.
pub fn create_index(table: &mut Table, params: &Value, created: &str) -> Result<Value, Refusal> {
    let key = params
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("general_argument_invalid", "Invalid `key` param"))?;
    let kind = params
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| ["key", "unique", "fulltext"].contains(t))
        .ok_or_else(|| bad("general_argument_invalid", "Invalid `type` param"))?;
    let columns = params
        .get("columns")
        .or_else(|| params.get("attributes"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for c in &columns {
        let name = c.as_str().unwrap_or_default();
        let known = name.starts_with('$') || table.columns.iter().any(|col| col["key"] == name);
        if !known {
            return Err(bad(
                "index_invalid",
                format!("Column '{name}' required for the index could not be found"),
            ));
        }
    }
    if table.indexes.iter().any(|i| i["key"] == key) {
        return Err((
            409,
            "index_already_exists",
            "Index with the requested key already exists.".into(),
        ));
    }
    let index = json!({
        "$id": key, "$createdAt": created, "$updatedAt": created, "key": key, "type": kind,
        "status": "available", "error": "", "columns": columns,
        "lengths": params.get("lengths").cloned().unwrap_or(json!([])),
        "orders": params.get("orders").cloned().unwrap_or(json!([])),
    });
    table.indexes.push(index.clone());
    Ok(index)
}

/// `GET /v1/tablesdb/{db}/tables/{id}` (`Response/Model/Table.php`).
pub fn table_answer(db: &str, id: &str, table: &Table, created: &str) -> Value {
    json!({
        "$id": id, "$createdAt": created, "$updatedAt": created,
        "$permissions": table.permissions, "databaseId": db, "name": table.name,
        "enabled": true, "rowSecurity": table.row_security,
        "columns": table.columns, "indexes": table.indexes,
    })
}

/// utopia-php/database 6.0.0 `Validator/Label.php` (Appwrite 1.9.6's lock): a label, and the
/// identifier of a `label:` role, is 1 to 36 characters of `A-Za-z0-9`; no hyphen.
pub const LABEL_RULE: &str =
    "Value must be a valid string between 1 and 36 chars containing only alphanumeric chars";
/// utopia-php/database 6.0.0 `Validator/Key.php`: ids, and the identifier of the other roles.
pub const KEY_RULE: &str = "Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can't start with a special char";

/// Whether Appwrite accepts `label` as a user label / `label:` role (docs/appwrite-notes.md
/// § Ids, labels and roles).
pub fn valid_label(label: &str) -> bool {
    (1..=36).contains(&label.len()) && label.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether Appwrite accepts `id` as a custom id (`Validator/Key.php`, [`KEY_RULE`]).
pub(crate) fn valid_key(id: &str) -> bool {
    id.len() <= 36
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Appwrite's `Permissions` validator on a `permissions` parameter (tables on create and update,
/// rows): absent or null passes; each entry `<type>("<role>")` must name a role whose identifier
/// passes its rule. Refused 400 `general_argument_invalid` with ``Invalid `permissions` param:
/// …`` (utopia-php/http's parameter check; Appwrite 1.9.6 `app/controllers/general.php` maps its
/// 400 to that type). Dimensions are not checked here.
pub fn check_permissions(permissions: Option<&Value>) -> Result<(), Refusal> {
    let refuse = |why: String| {
        bad(
            "general_argument_invalid",
            format!("Invalid `permissions` param: {why}"),
        )
    };
    let items = match permissions {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(refuse("Permissions must be an array of strings.".into())),
    };
    for item in items {
        let Some(p) = item.as_str() else {
            return Err(refuse("Every permission must be of type string.".into()));
        };
        let Some((kind, role)) = p.split_once("(\"") else {
            return Err(refuse(format!(
                "Invalid permission string format: \"{p}\"."
            )));
        };
        if !["create", "read", "update", "delete", "write"].contains(&kind) {
            return Err(refuse(format!(
                "Permission \"{p}\" is not allowed. Must be one of: create, read, update, delete, write."
            )));
        }
        let role = role.replace("\")", "");
        let (name, rest) = role.split_once(':').unwrap_or((&role, ""));
        let identifier = rest.split('/').next().unwrap_or_default();
        let (valid, rule) = match name.split('/').next().unwrap_or_default() {
            "any" | "guests" | "users" => (true, ""),
            "label" => (valid_label(identifier), LABEL_RULE),
            "user" | "team" | "member" => (valid_key(identifier), KEY_RULE),
            _ => {
                return Err(refuse(format!(
                    "Role \"{name}\" is not allowed. Must be one of: any, guests, users, user, team, member, label."
                )))
            }
        };
        if !valid {
            return Err(refuse(format!(
                "Role \"{name}\" identifier value is invalid: {rule}"
            )));
        }
    }
    Ok(())
}

/// Appwrite's structure check of a row after a write (utopia-php/database's `Structure`
/// validator; the messages are the ones Appwrite's e2e tests expect, e.g.
/// `tests/e2e/Services/Databases/DatabasesBase.php`: `Invalid document structure: Attribute
/// "enum" has invalid format. Value must be one of (yes, no, maybe)`). A table without columns
/// is not checked.
pub fn check_row(table: &Table, row: &Map<String, Value>) -> Result<(), Refusal> {
    if table.columns.is_empty() {
        return Ok(());
    }
    let refuse = |why: String| {
        bad(
            "row_invalid_structure",
            format!("Invalid document structure: {why}"),
        )
    };
    for key in row.keys().filter(|k| !k.starts_with('$')) {
        if !table.columns.iter().any(|c| c["key"] == key.as_str()) {
            return Err(refuse(format!("Unknown attribute: \"{key}\"")));
        }
    }
    for column in &table.columns {
        let key = column["key"].as_str().unwrap_or_default();
        let value = row.get(key).unwrap_or(&Value::Null);
        if value.is_null() {
            if column["required"] == true {
                return Err(refuse(format!("Missing required attribute \"{key}\"")));
            }
            continue;
        }
        if column["array"] == true {
            continue;
        }
        let invalid_type = |must: String| {
            refuse(format!(
                "Attribute \"{key}\" has invalid type. Value must be {must}"
            ))
        };
        match (column["type"].as_str(), column["format"].as_str()) {
            (Some("string"), Some("enum")) => {
                let elements = column["elements"].as_array().cloned().unwrap_or_default();
                if !elements.contains(value) {
                    let list: Vec<&str> = elements.iter().filter_map(Value::as_str).collect();
                    return Err(refuse(format!(
                        "Attribute \"{key}\" has invalid format. Value must be one of ({})",
                        list.join(", ")
                    )));
                }
            }
            (Some("string"), _) => {
                let size = column["size"].as_u64().unwrap_or(u64::MAX);
                let fits = value
                    .as_str()
                    .is_some_and(|s| s.chars().count() as u64 <= size);
                if !fits {
                    return Err(invalid_type(format!(
                        "a valid string and no longer than {size} chars"
                    )));
                }
            }
            (Some("integer"), _) => {
                let Some(n) = value.as_i64() else {
                    return Err(invalid_type("a valid integer".into()));
                };
                let (min, max) = (
                    column["min"].as_i64().unwrap_or(i64::MIN),
                    column["max"].as_i64().unwrap_or(i64::MAX),
                );
                if n < min || n > max {
                    return Err(refuse(format!(
                        "Attribute \"{key}\" has invalid format. Value must be a valid range between {} and {}",
                        thousands(min),
                        thousands(max)
                    )));
                }
            }
            (Some("double"), _) if !value.is_number() => {
                return Err(invalid_type("a valid float".into()))
            }
            (Some("boolean"), _) if !value.is_boolean() => {
                return Err(invalid_type("a valid boolean".into()))
            }
            (Some("datetime"), _) => {
                let ok = value
                    .as_str()
                    .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok());
                if !ok {
                    return Err(invalid_type(
                        "a valid date between -9999-01-01 00:00:00 and 9999-12-31 23:59:59.".into(),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A checked row's datetimes as Appwrite stores and answers them: in UTC, to the millisecond,
/// with an explicit `+00:00` (utopia-php/database 6.0.0 `src/Database/DateTime.php`:
/// `formatDb` on write, `formatTz` on read; docs/appwrite-notes.md § Datetimes), whatever
/// offset or precision the request used.
pub fn normalize_times(table: &Table, row: &mut Map<String, Value>) {
    for column in &table.columns {
        if column["type"] != "datetime" || column["array"] == true {
            continue;
        }
        let Some(key) = column["key"].as_str() else {
            continue;
        };
        let parsed = row
            .get(key)
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
        if let Some(t) = parsed {
            let utc = t.with_timezone(&chrono::Utc);
            let text = utc.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string();
            row.insert(key.to_owned(), Value::String(text));
        }
    }
}

/// PHP's `number_format`: thousands separated by commas, as Appwrite prints range bounds.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Creates the tables of an `appwrite.json` (CLI 12 format) the way `push tables` does: each
/// column through [`create_column`] with the parameters the CLI sends for it
/// (`push.js` `createAttribute`), each index through [`create_index`].
pub fn tables_from_manifest(manifest: &Value, created: &str) -> Vec<(String, String, Table)> {
    let mut out = Vec::new();
    for t in manifest["tables"].as_array().into_iter().flatten() {
        let mut table = Table {
            name: t["name"].as_str().unwrap_or_default().to_owned(),
            permissions: t["$permissions"].as_array().cloned().unwrap_or_default(),
            row_security: t["rowSecurity"].as_bool().unwrap_or(false),
            ..Table::default()
        };
        for column in t["columns"].as_array().into_iter().flatten() {
            let (kind, params) = cli_column_request(column);
            if let Err(e) = create_column(&mut table, kind, &params, created) {
                panic!("appwrite.json column {column}: the fake refuses it: {e:?}");
            }
        }
        for index in t["indexes"].as_array().into_iter().flatten() {
            let params = json!({"key": index["key"], "type": index["type"],
                "attributes": index["columns"], "orders": index["orders"]});
            if let Err(e) = create_index(&mut table, &params, created) {
                panic!("appwrite.json index {index}: the fake refuses it: {e:?}");
            }
        }
        out.push((
            t["databaseId"].as_str().unwrap_or_default().to_owned(),
            t["$id"].as_str().unwrap_or_default().to_owned(),
            table,
        ));
    }
    out
}

/// The endpoint kind and body CLI 12.0.1 sends for a declared column (`push.js`
/// `createAttribute`: the SDK drops parameters that are `undefined`).
pub fn cli_column_request(column: &Value) -> (&'static str, Value) {
    let mut params = Map::new();
    let mut take = |name: &str| {
        if let Some(v) = column.get(name) {
            params.insert(name.to_owned(), v.clone());
        }
    };
    let kind = match (column["type"].as_str(), column["format"].as_str()) {
        (Some("string"), Some("enum")) => {
            take("elements");
            "enum"
        }
        (Some("string"), Some("email")) => "email",
        (Some("string"), Some("url")) => "url",
        (Some("string"), Some("ip")) => "ip",
        (Some("string"), _) => {
            take("size");
            take("encrypt");
            "string"
        }
        (Some("integer"), _) => {
            take("min");
            take("max");
            "integer"
        }
        (Some("double"), _) => {
            take("min");
            take("max");
            "float"
        }
        (Some("boolean"), _) => "boolean",
        (Some("datetime"), _) => "datetime",
        _ => "unsupported",
    };
    take("key");
    take("required");
    take("default");
    take("array");
    (kind, Value::Object(params))
}
