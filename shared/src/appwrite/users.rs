//! Users and team memberships (appwrite-notes: Users and memberships), as far as the action
//! API's authorization reads them: a user's labels, a user's roles in a team.

use serde::Deserialize;
use serde_json::Value;

use super::client::parse;
use super::{query, segment, total_param, AppwriteClient, AppwriteError, Call, Method, Retry};

/// A user as far as authorization needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(default)]
    pub labels: Vec<String>,
}

/// A team membership as far as authorization needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Membership {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "teamId")]
    pub team_id: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub confirm: bool,
}

impl AppwriteClient {
    pub fn get_user(&self, user_id: &str) -> Result<User, AppwriteError> {
        let call = Call::new(
            Method::GET,
            format!("/users/{}", segment(user_id)),
            Retry::Idempotent,
        );
        parse(self.send(&call)?.body)
    }

    /// The user's labels (`label:<l>` roles), for authorization.
    pub fn user_labels(&self, user_id: &str) -> Result<Vec<String>, AppwriteError> {
        Ok(self.get_user(user_id)?.labels)
    }

    /// The user's memberships in a team (empty when not a member).
    pub fn list_memberships(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> Result<Vec<Membership>, AppwriteError> {
        let mut call = Call::new(
            Method::GET,
            format!("/teams/{}/memberships", segment(team_id)),
            Retry::Idempotent,
        );
        call.query = vec![
            (
                "queries[]",
                query("equal", Some("userId"), vec![Value::from(user_id)]),
            ),
            ("total", total_param(false).into()),
        ];
        #[derive(Deserialize)]
        struct List {
            memberships: Vec<Membership>,
        }
        Ok(parse::<List>(self.send(&call)?.body)?.memberships)
    }
}
