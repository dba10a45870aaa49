//! The tables of `appwrite.json`: each in a declared database, with table permissions only
//! (reads for declared teams or labels; functions write with API keys), columns CLI 12.0.1
//! creates, written the way the server answers them (so a second `push tables` proposes no
//! recreation, `cli.rs`), and indexes over existing columns; the columns against the job model
//! are `model`'s.

use std::collections::BTreeSet;

use serde_json::Value;

use super::model;
use super::{str_of, strings, Problems, COLUMN_KEYS, INDEX_KEYS, TABLES_DB_KEYS, TABLE_KEYS};
use crate::config::AppwriteConfig;

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

/// Every database and table entry: keys, database, row security, permissions, columns,
/// indexes, and the columns against the model the table stores.
pub(super) fn check(config: &AppwriteConfig, teams: &BTreeSet<String>, v: &mut Problems) {
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
        let keys = columns_of(&at, &columns, v);
        indexes(&at, table, &keys, v);
        model::check(&at, id, &columns, v);
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

/// Each column is one CLI 12 creates, as the server answers it; returns the column keys.
fn columns_of(at: &str, columns: &[Value], v: &mut Problems) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for c in columns {
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
    keys
}

/// Each index is of a known type over existing columns, one order per column.
fn indexes(at: &str, table: &Value, keys: &BTreeSet<String>, v: &mut Problems) {
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
}
