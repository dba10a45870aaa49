//! The routes the fake serves, parsed from method and path (appwrite-notes: Row endpoints,
//! Creating an execution, Users and memberships), their request-counter labels, and the
//! dispatch of each to the module that owns its resource.

use hyper::Method;
use serde_json::Value;

use crate::wire::{path_segments, Answer};
use crate::{executions, messaging, rows, tables, users, State};

/// A route the fake serves, with the path segments its module needs.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    Rows {
        db: String,
        table: String,
    },
    Row {
        db: String,
        table: String,
        id: String,
        method: Method,
    },
    RowsMethod {
        db: String,
        table: String,
        method: Method,
    },
    Executions {
        function: String,
    },
    /// `GET /v1/functions/{id}/executions`.
    ExecutionList {
        function: String,
    },
    /// `POST /v1/messaging/messages/email` and `GET /v1/messaging/messages`.
    Messages {
        method: Method,
    },
    User {
        id: String,
    },
    Memberships {
        team: String,
    },
    /// Databases, tables, columns and indexes (`tables`), and the list of teams.
    Schema {
        method: Method,
        parts: Vec<String>,
    },
}

impl Route {
    pub(crate) fn parse(method: &Method, path: &str) -> Option<Route> {
        let parts = path_segments(path)?;
        let p: Vec<&str> = parts.iter().map(String::as_str).collect();
        match (method, p.as_slice()) {
            (_, ["tablesdb", db, "tables", table, "rows"]) if *method == Method::GET => {
                Some(Route::Rows {
                    db: db.to_string(),
                    table: table.to_string(),
                })
            }
            (m, ["tablesdb", db, "tables", table, "rows"]) => Some(Route::RowsMethod {
                db: db.to_string(),
                table: table.to_string(),
                method: m.clone(),
            }),
            (m, ["tablesdb", db, "tables", table, "rows", id]) => Some(Route::Row {
                db: db.to_string(),
                table: table.to_string(),
                id: id.to_string(),
                method: m.clone(),
            }),
            (&Method::POST, ["functions", f, "executions"]) => Some(Route::Executions {
                function: f.to_string(),
            }),
            (&Method::GET, ["functions", f, "executions"]) => Some(Route::ExecutionList {
                function: f.to_string(),
            }),
            (&Method::POST, ["messaging", "messages", "email"]) => Some(Route::Messages {
                method: Method::POST,
            }),
            (&Method::GET, ["messaging", "messages"]) => Some(Route::Messages {
                method: Method::GET,
            }),
            (&Method::GET, ["users", id]) => Some(Route::User { id: id.to_string() }),
            (&Method::GET, ["teams", team, "memberships"]) => Some(Route::Memberships {
                team: team.to_string(),
            }),
            (m, ["tablesdb", ..] | ["databases", ..] | ["functions", ..] | ["teams"]) => {
                Some(Route::Schema {
                    method: m.clone(),
                    parts: parts.clone(),
                })
            }
            _ => None,
        }
    }

    /// The counter label: method plus the resource, e.g. `PATCH row`, `GET rows`.
    pub(crate) fn label(&self) -> String {
        match self {
            Route::Rows { .. } => "GET rows".into(),
            Route::RowsMethod { method, .. } => format!("{method} rows"),
            Route::Row { method, .. } => format!("{method} row"),
            Route::Executions { .. } => "POST executions".into(),
            Route::ExecutionList { .. } => "GET executions".into(),
            Route::Messages { method } => format!("{method} messages"),
            Route::User { .. } => "GET user".into(),
            Route::Memberships { .. } => "GET memberships".into(),
            Route::Schema { method, .. } => format!("{method} schema"),
        }
    }
}

/// Applies a request on `route` to the state and answers it.
pub(crate) fn apply(
    state: &mut State,
    route: Route,
    params: &[(String, String)],
    body: Value,
    timestamp: Option<&str>,
) -> Answer {
    match route {
        Route::Schema { method, parts } => match (&method, parts.as_slice()) {
            (&Method::GET, [teams]) if teams == "teams" => users::teams(state),
            _ => tables::route(state, &method, &parts, &body),
        },
        Route::Executions { function } => executions::create(state, function, &body),
        Route::ExecutionList { function } => executions::list(state, &function, params),
        Route::Messages { method } if method == Method::POST => {
            messaging::create_email(state, &body)
        }
        Route::Messages { .. } => messaging::list(state),
        Route::User { id } => users::user(state, &id),
        Route::Memberships { team } => users::memberships(state, &team, params),
        Route::Rows { db, table } => rows::list(state, &db, &table, params),
        Route::RowsMethod { db, table, method } => {
            rows::write_table(state, &db, &table, &method, body)
        }
        Route::Row {
            db,
            table,
            id,
            method,
        } => rows::on_row(state, (&db, &table, &id), &method, body, timestamp),
    }
}
