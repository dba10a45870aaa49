//! The database and table routes `push tables` uses: create and read databases, create, update
//! and read tables, create columns (the legacy `databases/{db}/collections/{t}/attributes/{kind}`
//! as CLI 12.0.1 calls them, or `tablesdb/{db}/tables/{t}/columns/{kind}`) and indexes. The
//! shapes and checks are `schema`'s; this module keeps them in the fake's state. Also the
//! test-side creation of tables.

use std::collections::HashMap;

use hyper::Method;
use serde_json::{json, Value};

use crate::schema;
use crate::wire::{now_text, Answer};
use crate::{Rows, State};

/// The answer for a database or table route.
pub(crate) fn route(state: &mut State, method: &Method, parts: &[String], body: &Value) -> Answer {
    let p: Vec<&str> = parts.iter().map(String::as_str).collect();
    let now = now_text();
    match (method, p.as_slice()) {
        (&Method::GET, ["tablesdb"]) => {
            let list: Vec<Value> = state
                .databases
                .keys()
                .map(|id| database_document(state, id, &now))
                .collect();
            Answer::json(200, json!({"total": list.len(), "databases": list}))
        }
        (&Method::GET, ["tablesdb", db]) => match state.databases.contains_key(*db) {
            true => Answer::json(200, database_document(state, db, &now)),
            false => database_missing(),
        },
        (&Method::POST, ["tablesdb"]) => create_database(state, body, &now),
        (&Method::POST, ["tablesdb", db, "tables"]) => create_table(state, db, body, &now),
        (&Method::PUT, ["tablesdb", db, "tables", table]) => {
            update_table(state, (db, table), body, &now)
        }
        (&Method::GET, ["tablesdb", db, "tables", table]) => {
            match state.schemas.get(&(db.to_string(), table.to_string())) {
                Some(t) => Answer::json(200, schema::table_answer(db, table, t, &now)),
                None => table_missing(),
            }
        }
        (&Method::POST, ["databases", db, "collections", table, "attributes", kind])
        | (&Method::POST, ["tablesdb", db, "tables", table, "columns", kind]) => {
            match state.schemas.get_mut(&(db.to_string(), table.to_string())) {
                Some(t) => match schema::create_column(t, kind, body, &now) {
                    Ok(column) => Answer::json(202, column),
                    Err(e) => refused(e),
                },
                None => table_missing(),
            }
        }
        (&Method::POST, ["databases", db, "collections", table, "indexes"])
        | (&Method::POST, ["tablesdb", db, "tables", table, "indexes"]) => {
            match state.schemas.get_mut(&(db.to_string(), table.to_string())) {
                Some(t) => match schema::create_index(t, body, &now) {
                    Ok(index) => Answer::json(202, index),
                    Err(e) => refused(e),
                },
                None => table_missing(),
            }
        }
        _ => Answer::route_not_found(),
    }
}

fn refused((status, kind, message): schema::Refusal) -> Answer {
    Answer::error(status, kind, message)
}

/// Appwrite's answer for a database that does not exist.
pub(crate) fn database_missing() -> Answer {
    Answer::error(404, "database_not_found", "Database not found")
}

/// Appwrite's answer for a table that does not exist.
pub(crate) fn table_missing() -> Answer {
    Answer::error(
        404,
        "table_not_found",
        "Table with the requested ID could not be found.",
    )
}

/// `POST /v1/tablesdb`.
fn create_database(state: &mut State, body: &Value, now: &str) -> Answer {
    let Some(id) = body.get("databaseId").and_then(Value::as_str) else {
        return Answer::missing_param("databaseId");
    };
    if state.databases.contains_key(id) {
        return Answer::error(409, "database_already_exists", "Database already exists");
    }
    state.databases.insert(id.to_owned(), HashMap::new());
    let document = json!({"$id": id, "name": body.get("name").cloned().unwrap_or(json!(id)),
        "$createdAt": now, "$updatedAt": now,
        "enabled": body.get("enabled").and_then(Value::as_bool).unwrap_or(true), "type": "tablesdb"});
    state
        .database_documents
        .insert(id.to_owned(), document.clone());
    Answer::json(201, document)
}

/// `POST /v1/tablesdb/{db}/tables`.
fn create_table(state: &mut State, db: &str, body: &Value, now: &str) -> Answer {
    let Some(id) = body.get("tableId").and_then(Value::as_str) else {
        return Answer::missing_param("tableId");
    };
    if let Err(e) = schema::check_permissions(body.get("permissions")) {
        return refused(e);
    }
    let Some(database) = state.databases.get_mut(db) else {
        return database_missing();
    };
    if database.contains_key(id) {
        return Answer::error(
            409,
            "table_already_exists",
            "A table with the requested ID already exists.",
        );
    }
    database.insert(id.to_owned(), Rows::new());
    let table = schema::Table {
        name: body["name"].as_str().unwrap_or(id).to_owned(),
        permissions: body["permissions"].as_array().cloned().unwrap_or_default(),
        row_security: body["rowSecurity"].as_bool().unwrap_or(false),
        ..schema::Table::default()
    };
    let answer = schema::table_answer(db, id, &table, now);
    state.schemas.insert((db.to_owned(), id.to_owned()), table);
    Answer::json(201, answer)
}

/// Update a table (`TablesDB/Tables/Update.php`): name, permissions, row security.
fn update_table(state: &mut State, (db, table): (&str, &str), body: &Value, now: &str) -> Answer {
    if let Err(e) = schema::check_permissions(body.get("permissions")) {
        return refused(e);
    }
    let Some(t) = state.schemas.get_mut(&(db.to_owned(), table.to_owned())) else {
        return table_missing();
    };
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        t.name = name.to_owned();
    }
    if let Some(p) = body.get("permissions").and_then(Value::as_array) {
        t.permissions = p.clone();
    }
    t.row_security = body["rowSecurity"].as_bool().unwrap_or(false);
    Answer::json(200, schema::table_answer(db, table, t, now))
}

/// A database as `GET /v1/tablesdb/{id}` answers it (`Response/Model/Database.php`); one made
/// by `add_table` is named after its id.
fn database_document(state: &State, id: &str, now: &str) -> Value {
    state.database_documents.get(id).cloned().unwrap_or_else(|| {
        json!({"$id": id, "name": id, "$createdAt": now, "$updatedAt": now, "enabled": true, "type": "tablesdb"})
    })
}

impl crate::FakeAppwrite {
    /// Creates the tables of an `appwrite.json` text with their columns and indexes
    /// ([`schema::tables_from_manifest`]).
    pub fn add_manifest_tables(&self, manifest: &str) {
        let manifest: Value = serde_json::from_str(manifest).expect("appwrite.json is JSON");
        for (db, id, table) in schema::tables_from_manifest(&manifest, &now_text()) {
            self.add_table(&db, &id);
            self.shared.lock().schemas.insert((db, id), table);
        }
    }

    pub fn add_table(&self, database: &str, table: &str) {
        self.shared
            .lock()
            .databases
            .entry(database.into())
            .or_default()
            .entry(table.into())
            .or_default();
    }
}
