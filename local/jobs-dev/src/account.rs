//! The slice of Appwrite's Account API the dashboard's sign-in page uses, for the development
//! users of `JOBS_DEV_USERS` that have a `password`: `POST /v1/account/sessions/email` (sets the
//! `a_session_<project>` cookies as Appwrite 1.9.6 does, `app/controllers/api/account.php`),
//! `GET /v1/account`, `DELETE /v1/account/sessions/current`. Once any user has a password,
//! browser calls act as the user of their session, or as a guest without one; otherwise every
//! browser call is the current development user (`JOBS_DEV_USER`) as before.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::config::{DevConfig, DevUser};
use crate::gateway::user_document;
use crate::realtime::Identity;

/// Development users and their sessions.
pub struct Accounts {
    cookie: String,
    /// The users who may sign in (those with a password).
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
            users: config
                .users
                .iter()
                .filter(|u| u.password.is_some())
                .cloned()
                .collect(),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Whether sign-in is on (some development user has a password).
    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
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
                account: Some(user_document(user)),
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
        let Some(index) = self.users.iter().position(|u| {
            u.email.eq_ignore_ascii_case(email)
                && u.password.as_ref().is_some_and(|p| p.0 == password)
        }) else {
            return error(
                401,
                "user_invalid_credentials",
                "Invalid credentials. Please check the email and password.",
            );
        };
        let secret = match crate::config::random_key() {
            Ok(secret) => secret,
            Err(e) => {
                return error(
                    500,
                    "general_server_error",
                    &format!("Cannot create a session: {e}."),
                )
            }
        };
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

    /// `GET /v1/account/sessions/current`.
    pub fn current_session(&self, cookie_header: Option<&str>) -> Answer {
        match self.session_user(cookie_header) {
            Some(user) => (
                200,
                json!({"userId": user.id, "provider": "email", "providerUid": user.email, "current": true, "secret": ""}),
                Vec::new(),
            ),
            None => unauthorized(),
        }
    }

    /// `GET /v1/account`.
    pub fn account(&self, cookie_header: Option<&str>) -> Answer {
        match self.session_user(cookie_header) {
            Some(user) => (200, user_document(user), Vec::new()),
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

    fn accounts() -> Accounts {
        let config = crate::config::DevConfig::from_lookup(|k| match k {
            "JOBS_DEV_USERS" => Some(
                r#"[{"id":"ops","email":"ops@example.test","teams":["jobs-operators"],"password":"ops-password"},
                    {"id":"bot","teams":["jobs-viewers"]}]"#
                    .to_owned(),
            ),
            _ => None,
        })
        .unwrap();
        Accounts::new(&config)
    }

    fn cookie_of(answer: &Answer) -> String {
        answer.2[1].split(';').next().unwrap().to_owned()
    }

    #[test]
    fn a_user_with_a_password_signs_in_and_the_cookie_names_the_session() {
        let a = accounts();
        assert!(a.enabled());
        let answer = a.create_session(
            None,
            br#"{"email":"OPS@example.test","password":"ops-password"}"#,
        );
        assert_eq!(answer.0, 201);
        let cookie = cookie_of(&answer);
        assert!(cookie.starts_with("a_session_jobmanager="));
        let who = a.identity(Some(&cookie));
        assert!(who.roles.contains(&"team:jobs-operators".to_owned()));
        assert_eq!(a.account(Some(&cookie)).1["$id"], "ops");
    }

    #[test]
    fn wrong_passwords_and_users_without_one_cannot_sign_in() {
        let a = accounts();
        assert_eq!(
            a.create_session(
                None,
                br#"{"email":"ops@example.test","password":"nope-nope"}"#
            )
            .0,
            401
        );
        assert_eq!(
            a.create_session(None, br#"{"email":"","password":""}"#).0,
            401
        );
        assert_eq!(a.create_session(None, b"not json").0, 400);
        assert_eq!(a.identity(None).roles, vec!["any", "guests"]);
    }

    #[test]
    fn a_debug_print_never_shows_a_password() {
        let config = crate::config::DevConfig::from_lookup(|k| {
            (k == "JOBS_DEV_USERS").then(|| {
                r#"[{"id":"v","email":"v@example.test","password":"hunter2hunter2"}]"#.to_owned()
            })
        })
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
