//! The slice of Appwrite's Account API the dashboard's sign-in page uses, for development users
//! (`JOBS_DEV_USERS`): `POST /v1/account/sessions/email` (sets the `a_session_<project>` cookie
//! as Appwrite 1.9.6 does, `app/controllers/api/account.php`), `GET /v1/account`,
//! `DELETE /v1/account/sessions/current`. With no development users configured, every browser
//! call is the single development identity (`JOBS_DEV_USER` / `JOBS_DEV_ROLE`) as before.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::config::{DevConfig, Role};
use crate::realtime::Identity;

/// One development user: `role:email:password` in `JOBS_DEV_USERS` (role `operator`, `viewer`
/// or `none`: signed in but in no Job Manager team).
#[derive(Clone, PartialEq, Eq)]
pub struct DevUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub role: Option<Role>,
}

impl std::fmt::Debug for DevUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

impl DevUser {
    pub fn account(&self) -> Value {
        json!({
            "$id": self.id, "name": self.email.split('@').next().unwrap_or(""),
            "email": self.email, "labels": self.role.map(|r| vec![r.label()]).unwrap_or_default(),
            "status": true, "emailVerification": true,
        })
    }

    /// Appwrite's roles of this user (`Authorization` roles of a session).
    pub fn roles(&self) -> Vec<String> {
        let mut roles = vec![
            "any".to_owned(),
            "users".to_owned(),
            format!("user:{}", self.id),
        ];
        if let Some(role) = self.role {
            roles.push(format!("team:{}", role.team()));
            roles.push(format!("label:{}", role.label()));
        }
        roles
    }
}

/// Parses `JOBS_DEV_USERS`: comma-separated `role:email:password`. The user id is the email's
/// local part (letters, digits, `-`, `_`, `.`), as readable ids in logs and actors.
pub fn parse_users(text: &str) -> Result<Vec<DevUser>, String> {
    let mut users: Vec<DevUser> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let mut parts = entry.splitn(3, ':');
        let (Some(role), Some(email), Some(password)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("{entry:?} is not role:email:password"));
        };
        let role = match role {
            "operator" => Some(Role::Operator),
            "viewer" => Some(Role::Viewer),
            "none" => None,
            other => return Err(format!("{other:?} is not operator, viewer or none")),
        };
        let id: String = email.split('@').next().unwrap_or("").to_owned();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            || !email.contains('@')
        {
            return Err(format!(
                "{email:?} is not an email address with a plain local part"
            ));
        }
        if password.len() < 8 {
            // Appwrite's minimum password length.
            return Err(format!(
                "the password of {email} is shorter than 8 characters"
            ));
        }
        if users.iter().any(|u| u.id == id) {
            return Err(format!("two users would have the id {id:?}"));
        }
        users.push(DevUser {
            id,
            email: email.to_owned(),
            password: password.to_owned(),
            role,
        });
    }
    Ok(users)
}

/// Development users and their sessions.
pub struct Accounts {
    cookie: String,
    users: Vec<DevUser>,
    /// Session secret → user index.
    sessions: Mutex<HashMap<String, usize>>,
}

/// An Account API answer: status, body, and `Set-Cookie` values.
pub type Answer = (u16, Value, Vec<String>);

impl Accounts {
    pub fn new(config: &DevConfig) -> Accounts {
        Accounts {
            cookie: format!("a_session_{}", config.project),
            users: config.users.clone(),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Whether sign-in is on (development users configured).
    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    pub fn user(&self, id: &str) -> Option<&DevUser> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn members(&self, role: Role) -> impl Iterator<Item = &DevUser> {
        self.users.iter().filter(move |u| u.role == Some(role))
    }

    /// The session secret a request's `Cookie` header carries, if any.
    fn secret(&self, cookie_header: Option<&str>) -> Option<String> {
        let legacy = format!("{}_legacy", self.cookie);
        cookie_header?
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == self.cookie || *k == legacy)
            .map(|(_, v)| v.to_owned())
    }

    /// The signed-in user of a request's `Cookie` header, if any.
    pub fn session_user(&self, cookie_header: Option<&str>) -> Option<&DevUser> {
        let secret = self.secret(cookie_header)?;
        let index = *lock(&self.sessions).get(&secret)?;
        self.users.get(index)
    }

    /// The caller's identity: a session's user, or a guest.
    pub fn identity(&self, cookie_header: Option<&str>) -> Identity {
        match self.session_user(cookie_header) {
            Some(user) => Identity {
                roles: user.roles(),
                account: Some(user.account()),
            },
            None => Identity {
                roles: vec!["any".to_owned(), "guests".to_owned()],
                account: None,
            },
        }
    }

    /// `POST /v1/account/sessions/email`.
    pub fn create_session(&self, cookie_header: Option<&str>, body: &[u8]) -> Answer {
        if self.session_user(cookie_header).is_some() {
            return error(
                401,
                "user_session_already_exists",
                "Creation of a session is prohibited when a session is active.",
            );
        }
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let field = |name: &str| parsed.get(name).and_then(Value::as_str);
        let (Some(email), Some(password)) = (field("email"), field("password")) else {
            return error(
                400,
                "general_argument_invalid",
                "Param \"email\" and \"password\" are required strings.",
            );
        };
        let Some(index) = self
            .users
            .iter()
            .position(|u| u.email.eq_ignore_ascii_case(email) && u.password == password)
        else {
            return error(
                401,
                "user_invalid_credentials",
                "Invalid credentials. Please check the email and password.",
            );
        };
        let secret = crate::config::random_key();
        lock(&self.sessions).insert(secret.clone(), index);
        let user = &self.users[index];
        let session = json!({
            "$id": &secret[..16], "userId": user.id, "provider": "email",
            "providerUid": user.email, "current": true, "secret": "",
        });
        (
            201,
            session,
            vec![
                format!("{}_legacy={secret}; Path=/; HttpOnly", self.cookie),
                format!("{}={secret}; Path=/; HttpOnly; SameSite=Lax", self.cookie),
            ],
        )
    }

    /// `DELETE /v1/account/sessions/current`: ends the session and clears the cookies.
    pub fn delete_session(&self, cookie_header: Option<&str>) -> Answer {
        let removed = self
            .secret(cookie_header)
            .and_then(|secret| lock(&self.sessions).remove(&secret));
        if removed.is_none() {
            return unauthorized();
        }
        (
            204,
            Value::Null,
            vec![
                format!("{}_legacy=; Path=/; Max-Age=0; HttpOnly", self.cookie),
                format!(
                    "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
                    self.cookie
                ),
            ],
        )
    }

    /// `GET /v1/account`.
    pub fn account(&self, cookie_header: Option<&str>) -> Answer {
        match self.session_user(cookie_header) {
            Some(user) => (200, user.account(), Vec::new()),
            None => unauthorized(),
        }
    }
}

fn unauthorized() -> Answer {
    error(
        401,
        "general_unauthorized_scope",
        "User (role: guests) missing scopes ([\"account\"])",
    )
}

fn error(code: u16, kind: &str, message: &str) -> Answer {
    (
        code,
        json!({"message": message, "code": code, "type": kind, "version": "1.9.6"}),
        Vec::new(),
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_read_as_role_email_password() {
        let users =
            parse_users("operator:ops@example.test:secret-ops, none:new@example.test:secret-new")
                .unwrap();
        assert_eq!(users[0].id, "ops");
        assert_eq!(users[0].role, Some(Role::Operator));
        assert_eq!(users[1].role, None);
        assert!(!users[1].roles().iter().any(|r| r.starts_with("team:")));
    }

    #[test]
    fn bad_user_entries_are_refused_naming_the_problem() {
        assert!(parse_users("boss:a@b.c:longenough")
            .unwrap_err()
            .contains("boss"));
        assert!(parse_users("viewer:a@b.c:short").unwrap_err().contains("8"));
        assert!(parse_users("viewer:nope").is_err());
    }

    #[test]
    fn a_debug_print_never_shows_a_password() {
        let users = parse_users("viewer:v@example.test:hunter2hunter2").unwrap();
        assert!(!format!("{users:?}").contains("hunter2"));
    }
}
