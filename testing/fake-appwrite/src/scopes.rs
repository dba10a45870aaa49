//! The project key's scopes: which scopes each route accepts, as labelled in Appwrite 1.9.6,
//! and the refusal of a key that holds none of them (`app/controllers/shared/api.php` step 9).
//! By default the key holds every scope; [`FakeAppwrite::set_key_scopes`](crate::FakeAppwrite::set_key_scopes)
//! limits it.

use serde_json::json;

use crate::wire::{path_segments, Answer};
use crate::State;

/// The scopes a route accepts (any one suffices), as labelled in Appwrite 1.9.6.
fn required_scopes(method: &str, parts: &[&str]) -> Option<&'static [&'static str]> {
    let read = method == "GET";
    Some(match parts {
        ["console", ..] => &["projects.read"],
        ["teams"] | ["teams", _] if read => &["teams.read"],
        ["teams", _, "memberships"] => &["teams.read"],
        ["teams", ..] => &["teams.write"],
        ["users", ..] => &["users.read"],
        ["tablesdb"] | ["tablesdb", _] if read => &["databases.read"],
        ["tablesdb"] | ["tablesdb", _] => &["databases.write"],
        ["tablesdb", _, "tables"] | ["tablesdb", _, "tables", _] if read => {
            &["tables.read", "collections.read"]
        }
        ["tablesdb", _, "tables"] | ["tablesdb", _, "tables", _] => {
            &["tables.write", "collections.write"]
        }
        ["tablesdb", _, "tables", _, "rows", ..] if read => &["rows.read", "documents.read"],
        ["tablesdb", _, "tables", _, "rows", ..] => &["rows.write", "documents.write"],
        ["tablesdb", _, "tables", _, "columns", ..] if read => &[
            "tables.read",
            "collections.read",
            "columns.read",
            "attributes.read",
        ],
        ["tablesdb", _, "tables", _, "columns", ..] => &[
            "tables.write",
            "collections.write",
            "columns.write",
            "attributes.write",
        ],
        ["tablesdb", _, "tables", _, "indexes", ..] if read => {
            &["tables.read", "collections.read", "indexes.read"]
        }
        ["tablesdb", _, "tables", _, "indexes", ..] => {
            &["tables.write", "collections.write", "indexes.write"]
        }
        // The legacy routes CLI 12.0.1 uses for columns and indexes accept only these.
        ["databases", _, "collections", ..] if read => &["collections.read"],
        ["databases", _, "collections", ..] => &["collections.write"],
        ["functions", _, "executions", ..] if read => &["executions.read", "execution.read"],
        ["functions", _, "executions"] => &["executions.write", "execution.write"],
        ["functions", ..] if read => &["functions.read"],
        ["functions", ..] => &["functions.write"],
        ["proxy", ..] if read => &["rules.read"],
        ["proxy", ..] => &["rules.write"],
        ["messaging", "messages", ..] if read => &["messages.read"],
        ["messaging", "messages", ..] => &["messages.write"],
        ["webhooks", ..] if read => &["webhooks.read"],
        ["webhooks", ..] => &["webhooks.write"],
        _ => return None,
    })
}

pub(crate) fn unauthorized(project: &str, allowed: &[&str]) -> Answer {
    Answer::error(
        401,
        "general_unauthorized_scope",
        format!(
            "app.{project}@service.localhost (role: applications) missing scopes ({})",
            json!(allowed)
        ),
    )
}

/// Appwrite's refusal when the key is limited and holds none of the route's scopes; `None`
/// when the route needs no scope or the key holds one.
pub(crate) fn refusal(state: &State, project: &str, method: &str, path: &str) -> Option<Answer> {
    let owned = path_segments(path)?;
    let parts: Vec<&str> = owned.iter().map(String::as_str).collect();
    let held = state.key_scopes.as_ref()?;
    let allowed = required_scopes(method, &parts)?;
    if allowed.iter().any(|s| held.iter().any(|h| h == s)) {
        None
    } else {
        Some(unauthorized(project, allowed))
    }
}

impl crate::FakeAppwrite {
    /// Limits the fake's key to `scopes` (every route then refuses it unless it holds one of
    /// the route's scopes); `None` gives it every scope again.
    pub fn set_key_scopes(&self, scopes: Option<&[&str]>) {
        self.shared.lock().key_scopes = scopes.map(|s| s.iter().map(|s| s.to_string()).collect());
    }
}
