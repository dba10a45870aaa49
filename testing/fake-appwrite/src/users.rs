//! Users and teams as a project key reads them (appwrite-notes: Users and memberships):
//! `GET /v1/users/{id}` with the user's labels, `GET /v1/teams/{id}/memberships` with queries
//! and `total`, `GET /v1/teams`. Also the test-side creation of users, teams and memberships.

use serde_json::{json, Map, Value};

use crate::query::{params_queries, select, total_param};
use crate::schema;
use crate::wire::{now_text, Answer};
use crate::State;

/// `GET /v1/users/{id}`.
pub(crate) fn user(state: &State, id: &str) -> Answer {
    match state.users.get(id) {
        Some(labels) => Answer::json(
            200,
            json!({"$id": id, "$createdAt": now_text(), "$updatedAt": now_text(), "name": "",
                   "email": "", "status": true, "labels": labels, "prefs": {}}),
        ),
        None => Answer::error(
            404,
            "user_not_found",
            "User with the requested ID could not be found.",
        ),
    }
}

/// `GET /v1/teams/{team}/memberships`: the members as membership documents, selected by the
/// queries like rows.
pub(crate) fn memberships(state: &State, team: &str, params: &[(String, String)]) -> Answer {
    let Some(members) = state.teams.get(team) else {
        return Answer::error(
            404,
            "team_not_found",
            "Team with the requested ID could not be found.",
        );
    };
    let rows: Vec<Map<String, Value>> = members
        .iter()
        .enumerate()
        .map(|(i, (user, roles))| {
            let v = json!({"$id": format!("m{i}{user}"), "$createdAt": now_text(),
                "$updatedAt": now_text(), "userId": user, "userName": "", "userEmail": "",
                "teamId": team, "teamName": team, "invited": now_text(), "joined": now_text(),
                "confirm": true, "mfa": false, "roles": roles});
            v.as_object().cloned().unwrap_or_default()
        })
        .collect();
    let total_wanted = match total_param(params) {
        Ok(t) => t,
        Err(a) => return a,
    };
    match select(rows.iter().collect(), params_queries(params), None) {
        Ok(found) => Answer::json(
            200,
            json!({"total": if total_wanted { found.len() } else { 0 }, "memberships": found}),
        ),
        Err(a) => a,
    }
}

/// `GET /v1/teams`: the count of teams, no documents.
pub(crate) fn teams(state: &State) -> Answer {
    Answer::json(200, json!({"total": state.teams.len(), "teams": []}))
}

impl crate::FakeAppwrite {
    /// A user holding `labels`. Panics on a label Appwrite refuses (`PUT /v1/users/{id}/labels`
    /// answers 400: 1 to 36 alphanumeric characters, `schema::valid_label`), so no test relies on
    /// a user that cannot exist.
    pub fn add_user(&self, user_id: &str, labels: &[&str]) {
        if let Some(bad) = labels.iter().find(|l| !schema::valid_label(l)) {
            panic!(
                "label {bad:?}: Appwrite refuses it: Invalid `labels` param: {}",
                schema::LABEL_RULE
            );
        }
        self.shared.lock().users.insert(
            user_id.into(),
            labels.iter().map(|l| l.to_string()).collect(),
        );
    }

    pub fn add_membership(&self, team_id: &str, user_id: &str, roles: &[&str]) {
        self.shared
            .lock()
            .teams
            .entry(team_id.into())
            .or_default()
            .push((
                user_id.into(),
                roles.iter().map(|r| r.to_string()).collect(),
            ));
    }

    pub fn add_team(&self, team_id: &str) {
        self.shared.lock().teams.entry(team_id.into()).or_default();
    }
}
