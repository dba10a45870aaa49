//! The slice of Appwrite's Account API the dashboard's sign-in page uses, for the development
//! users of `JOBS_DEV_USERS` that have a `password`: `POST /v1/account/sessions/email`,
//! `GET /v1/account`, `GET` and `DELETE /v1/account/sessions/current`, answered as Appwrite 1.9.6
//! answers them (`app/controllers/api/account.php`). Once any user has a password, browser calls
//! act as the user of their session, or as a guest without one; otherwise every browser call is
//! the current development user (`JOBS_DEV_USER`) as before.
//!
//! A request names its session as it does on Appwrite (`app/init/realtime/connection.php`, the
//! `user` resource): the `a_session_<project>` cookie (or its `_legacy` twin), else the
//! `X-Appwrite-Session` header, else the `X-Fallback-Cookies` header, the JSON object the Web
//! SDK keeps in `localStorage` when sign-in answered it because the page is on another site than
//! the API (so a browser that blocks third-party cookies still signs in). docs/appwrite-notes.md
//! § Sessions across sites.
//!
//! Sessions last Appwrite's default `auths.duration` (one year) and a user keeps at most
//! `auths.maxSessions` (10; the oldest go first); expired sessions are forgotten at the next
//! sign-in, so the table never holds more than ten sessions per user with a password.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use shared::job::{format_timestamp, Timestamp};
use subtle::ConstantTimeEq;

use crate::config::{DevConfig, DevUser};
use crate::host::Clock;
use crate::lock;
use crate::realtime::Identity;
use crate::wire::user_document;

/// Appwrite's default session length, `auths.duration` (`TOKEN_EXPIRATION_LOGIN_LONG`, one
/// year; appwrite 1.9.6 `app/init/constants.php`).
pub const SESSION_SECONDS: i64 = 31_536_000;
/// Appwrite's default `auths.maxSessions` (`APP_LIMIT_USER_SESSIONS_DEFAULT`; appwrite 1.9.6
/// `app/init/constants.php`, enforced after sign-in in `app/controllers/shared/api.php`).
pub const MAX_SESSIONS: usize = 10;

/// How a request names its session, and whether its page is on the API's own site.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// The `Cookie` header.
    cookie: Option<String>,
    /// `X-Appwrite-Session`: a session secret a client set itself (the Web SDK's `setSession`).
    session: Option<String>,
    /// `X-Fallback-Cookies`: `{"a_session_<project>": "<secret>"}` as sign-in answered it.
    fallback: Option<String>,
    /// Appwrite's `domainVerification`: the page (`Origin`, else `Referer`) and the API have
    /// the same registrable domain. Without it sign-in also answers the session in
    /// `X-Fallback-Cookies`.
    same_site: bool,
}

impl Credentials {
    /// Reads what Appwrite reads from a request's headers.
    pub fn from_headers(headers: &hyper::HeaderMap) -> Credentials {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let page = text("origin")
            .filter(|o| !o.is_empty())
            .or_else(|| text("referer"));
        let page_host = page.as_deref().map(url_host).unwrap_or_default();
        let api_host = text("host").map(|h| strip_port(&h).to_owned());
        Credentials {
            cookie: text("cookie"),
            session: text("x-appwrite-session"),
            fallback: text("x-fallback-cookies"),
            same_site: domain_verified(api_host.as_deref().unwrap_or(""), &page_host),
        }
    }

    /// A request carrying only this `Cookie` header, from the API's own site.
    #[cfg(test)]
    pub fn cookie(cookie: &str) -> Credentials {
        Credentials {
            cookie: Some(cookie.to_owned()),
            same_site: true,
            ..Credentials::default()
        }
    }
}

/// Appwrite's `domainVerification` (appwrite 1.9.6 `app/init/resources/request.php`): both
/// hosts have the same registrable domain, and it is not empty. utopia-php/domains 3 finds the
/// registrable domain with the public suffix list, where neither an IP address nor a name
/// outside it (`localhost`, `.test`, `.local`…) has one: so on a local server the check always
/// fails and sign-in always answers `X-Fallback-Cookies`. For other names jobs-dev takes the
/// last two labels, which is the list's answer under every one-label suffix (`.com`, `.dev`…),
/// not under longer ones (`.co.uk`).
pub fn domain_verified(api_host: &str, page_host: &str) -> bool {
    let api = registrable(api_host);
    !api.is_empty() && api == registrable(page_host)
}

fn registrable(host: &str) -> String {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return String::new();
    }
    let labels: Vec<&str> = host.split('.').collect();
    // Reserved names (RFC 2606, 6761, 6762) are not public suffixes.
    const OUTSIDE_THE_LIST: [&str; 6] = [
        "localhost",
        "test",
        "example",
        "invalid",
        "local",
        "internal",
    ];
    match labels.as_slice() {
        [.., name, tld] if !name.is_empty() && !OUTSIDE_THE_LIST.contains(tld) => {
            format!("{name}.{tld}")
        }
        _ => String::new(),
    }
}

/// The host of a URL such as an `Origin` (`http://127.0.0.1:5173` → `127.0.0.1`).
fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    strip_port(authority).to_owned()
}

/// `host:port` → `host`, keeping an IPv6 literal's brackets.
fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map_or(authority, |(h, _)| &authority[..=h.len()]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// One signed-in session; its secret is the key it is kept under.
#[derive(Debug, Clone)]
struct Session {
    /// Random, unrelated to the secret.
    id: String,
    user: usize,
    created: Timestamp,
    expire: Timestamp,
    /// Sign-in order, so the oldest session of a user goes first.
    seq: u64,
}

/// Development users and their sessions.
pub struct Accounts {
    cookie: String,
    /// The users who may sign in (those with a password).
    users: Vec<DevUser>,
    /// Session secret → session.
    sessions: Mutex<HashMap<String, Session>>,
    next_seq: std::sync::atomic::AtomicU64,
    clock: Clock,
}

/// An Account API answer: status, body, and headers (`Set-Cookie`, `X-Fallback-Cookies`).
pub type Answer = (u16, Value, Vec<(&'static str, String)>);

impl Accounts {
    pub fn new(config: &DevConfig) -> Accounts {
        Accounts::with_clock(config, Arc::new(chrono::Utc::now))
    }

    /// Accounts whose sessions age by `clock` (tests move it instead of waiting).
    pub fn with_clock(config: &DevConfig, clock: Clock) -> Accounts {
        Accounts {
            cookie: format!("a_session_{}", config.project),
            users: config
                .users
                .iter()
                .filter(|u| u.password.is_some())
                .cloned()
                .collect(),
            sessions: Mutex::new(HashMap::new()),
            next_seq: std::sync::atomic::AtomicU64::new(0),
            clock,
        }
    }

    /// Whether sign-in is on (some development user has a password).
    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// The session secret a request names, in Appwrite's order: the cookie (or its legacy
    /// twin), `X-Appwrite-Session`, then the project's key in `X-Fallback-Cookies`.
    fn secret(&self, credentials: &Credentials) -> Option<String> {
        let legacy = format!("{}_legacy", self.cookie);
        let cookies: Vec<(&str, &str)> = credentials
            .cookie
            .as_deref()
            .unwrap_or("")
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .collect();
        let cookie = |name: &str| {
            cookies
                .iter()
                .find(|(k, v)| *k == name && !v.is_empty())
                .map(|(_, v)| (*v).to_owned())
        };
        let fallback = || {
            let map: Value = serde_json::from_str(credentials.fallback.as_deref()?).ok()?;
            map.get(&self.cookie)?.as_str().map(str::to_owned)
        };
        cookie(&self.cookie)
            .or_else(|| cookie(&legacy))
            .or_else(|| credentials.session.clone().filter(|s| !s.is_empty()))
            .or_else(fallback)
            .filter(|s| !s.is_empty())
    }

    /// The live session of `secret` (an expired one is forgotten).
    fn session(&self, secret: &str) -> Option<Session> {
        let mut sessions = lock(&self.sessions);
        let session = sessions.get(secret)?.clone();
        if session.expire < (self.clock)() {
            sessions.remove(secret);
            return None;
        }
        Some(session)
    }

    /// The signed-in user of a request, if any.
    pub fn session_user(&self, credentials: &Credentials) -> Option<&DevUser> {
        let session = self.session(&self.secret(credentials)?)?;
        self.users.get(session.user)
    }

    /// The caller's identity: a session's user, or a guest.
    pub fn identity(&self, credentials: &Credentials) -> Identity {
        identity_of(self.session_user(credentials))
    }

    /// The identity an encoded session grants (the Realtime `authentication` message), or
    /// None when it names no live session.
    pub fn session_identity(&self, secret: &str) -> Option<Identity> {
        let session = self.session(secret)?;
        Some(identity_of(Some(self.users.get(session.user)?)))
    }

    /// `POST /v1/account/sessions/email`.
    pub fn create_session(&self, credentials: &Credentials, body: &[u8]) -> Answer {
        if self.session_user(credentials).is_some() {
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
                && u.password
                    .as_ref()
                    .is_some_and(|p| password_matches(&p.0, password))
        }) else {
            return error(
                401,
                "user_invalid_credentials",
                "Invalid credentials. Please check the email and password.",
            );
        };
        let secret = match shared::random::secret_hex(32) {
            Ok(secret) => secret,
            Err(e) => {
                return error(
                    500,
                    "general_server_error",
                    &format!("Cannot create a session: {e}."),
                )
            }
        };
        let now = (self.clock)();
        let session = Session {
            id: shared::random::hex(10),
            user: index,
            created: now,
            expire: now + chrono::Duration::seconds(SESSION_SECONDS),
            seq: self
                .next_seq
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        };
        self.remember(secret.clone(), session.clone(), now);
        let expires = session.expire.format("%a, %d %b %Y %H:%M:%S GMT");
        let mut headers = vec![
            (
                "set-cookie",
                format!(
                    "{}_legacy={secret}; Expires={expires}; Path=/; HttpOnly",
                    self.cookie
                ),
            ),
            (
                "set-cookie",
                format!(
                    "{}={secret}; Expires={expires}; Path=/; HttpOnly; SameSite=Lax",
                    self.cookie
                ),
            ),
        ];
        if !credentials.same_site {
            headers.push((
                "x-fallback-cookies",
                json!({ &self.cookie: secret }).to_string(),
            ));
        }
        (201, self.document(&session), headers)
    }

    /// Keeps a new session: forgets expired ones, then the oldest of its user's beyond
    /// `MAX_SESSIONS` (Appwrite deletes the first of the user's sessions, the oldest).
    fn remember(&self, secret: String, session: Session, now: Timestamp) {
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| s.expire >= now);
        let user = session.user;
        sessions.insert(secret, session);
        let mut own: Vec<(u64, String)> = sessions
            .iter()
            .filter(|(_, s)| s.user == user)
            .map(|(k, s)| (s.seq, k.clone()))
            .collect();
        if own.len() > MAX_SESSIONS {
            own.sort();
            for (_, secret) in &own[..own.len() - MAX_SESSIONS] {
                sessions.remove(secret);
            }
        }
    }

    /// The session as Appwrite's `session` model shows it to its user (no secret).
    fn document(&self, session: &Session) -> Value {
        let user = &self.users[session.user];
        json!({
            "$id": session.id, "$createdAt": format_timestamp(&session.created),
            "userId": user.id, "expire": format_timestamp(&session.expire),
            "provider": "email", "providerUid": user.email, "current": true, "secret": "",
        })
    }

    /// `DELETE /v1/account/sessions/current`: ends the session and clears the cookies (and the
    /// fallback, for a page on another site).
    pub fn delete_session(&self, credentials: &Credentials) -> Answer {
        let live = self
            .secret(credentials)
            .filter(|secret| self.session(secret).is_some());
        let removed = live.and_then(|secret| lock(&self.sessions).remove(&secret));
        if removed.is_none() {
            return unauthorized();
        }
        let mut headers = vec![
            (
                "set-cookie",
                format!("{}_legacy=; Path=/; Max-Age=0; HttpOnly", self.cookie),
            ),
            (
                "set-cookie",
                format!(
                    "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
                    self.cookie
                ),
            ),
        ];
        if !credentials.same_site {
            headers.push(("x-fallback-cookies", "[]".to_owned()));
        }
        (204, Value::Null, headers)
    }

    /// `GET /v1/account/sessions/current`.
    pub fn current_session(&self, credentials: &Credentials) -> Answer {
        let live = self
            .secret(credentials)
            .and_then(|secret| self.session(&secret));
        match live {
            Some(session) => (200, self.document(&session), Vec::new()),
            None => unauthorized(),
        }
    }

    /// `GET /v1/account`.
    pub fn account(&self, credentials: &Credentials) -> Answer {
        match self.session_user(credentials) {
            Some(user) => (200, user_document(user), Vec::new()),
            None => unauthorized(),
        }
    }

    /// Sessions kept, expired or not (for tests of the bound).
    #[cfg(test)]
    fn kept(&self) -> usize {
        lock(&self.sessions).len()
    }
}

/// Compares a password in constant time for inputs of equal length (`subtle`'s rule: the
/// length itself is not hidden).
fn password_matches(expected: &str, given: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

fn identity_of(user: Option<&DevUser>) -> Identity {
    match user {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    const OPS: &[u8] = br#"{"email":"ops@example.test","password":"ops-password"}"#;

    fn config() -> DevConfig {
        crate::config::DevConfig::from_lookup(|k| match k {
            "JOBS_DEV_USERS" => Some(
                r#"[{"id":"ops","email":"ops@example.test","teams":["jobs-operators"],"password":"ops-password"},
                    {"id":"view","email":"view@example.test","teams":["jobs-viewers"],"password":"view-password"},
                    {"id":"bot","teams":["jobs-viewers"]}]"#
                    .to_owned(),
            ),
            _ => None,
        })
        .unwrap()
    }

    fn accounts() -> Accounts {
        Accounts::new(&config())
    }

    /// Accounts on a clock the test moves, in seconds from a fixed instant.
    fn accounts_at() -> (Accounts, Arc<AtomicI64>) {
        let seconds = Arc::new(AtomicI64::new(0));
        let at = seconds.clone();
        let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let clock: Clock =
            Arc::new(move || start + chrono::Duration::seconds(at.load(Ordering::SeqCst)));
        (Accounts::with_clock(&config(), clock), seconds)
    }

    fn header<'a>(answer: &'a Answer, name: &str) -> Vec<&'a str> {
        answer
            .2
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The `a_session_<project>=secret` pair of a sign-in answer.
    fn cookie_of(answer: &Answer) -> String {
        header(answer, "set-cookie")[1]
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }

    fn secret_of(answer: &Answer) -> String {
        cookie_of(answer).split_once('=').unwrap().1.to_owned()
    }

    fn from(headers: &[(&str, &str)]) -> Credentials {
        let mut map = hyper::HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Credentials::from_headers(&map)
    }

    #[test]
    fn a_user_with_a_password_signs_in_and_the_cookie_names_the_session() {
        let a = accounts();
        assert!(a.enabled());
        let answer = a.create_session(
            &Credentials::default(),
            br#"{"email":"OPS@example.test","password":"ops-password"}"#,
        );
        assert_eq!(answer.0, 201);
        let cookie = cookie_of(&answer);
        assert!(cookie.starts_with("a_session_jobmanager="));
        let who = a.identity(&Credentials::cookie(&cookie));
        assert!(who.roles.contains(&"team:jobs-operators".to_owned()));
        assert_eq!(a.account(&Credentials::cookie(&cookie)).1["$id"], "ops");
    }

    #[test]
    fn wrong_passwords_and_users_without_one_cannot_sign_in() {
        let a = accounts();
        let none = Credentials::default();
        let wrong = br#"{"email":"ops@example.test","password":"nope-nope"}"#;
        assert_eq!(a.create_session(&none, wrong).0, 401);
        // Same length as the right one: only the bytes differ.
        let near = br#"{"email":"ops@example.test","password":"ops-passwore"}"#;
        assert_eq!(a.create_session(&none, near).0, 401);
        assert_eq!(
            a.create_session(&none, br#"{"email":"","password":""}"#).0,
            401
        );
        assert_eq!(a.create_session(&none, b"not json").0, 400);
        assert_eq!(a.identity(&none).roles, vec!["any", "guests"]);
    }

    #[test]
    fn the_password_comparison_is_exact() {
        assert!(password_matches("ops-password", "ops-password"));
        assert!(!password_matches("ops-password", "ops-passwore"));
        assert!(!password_matches("ops-password", "ops-passwor"));
        assert!(!password_matches("ops-password", ""));
    }

    #[test]
    fn a_session_id_is_random_and_shares_nothing_with_the_secret() {
        let a = accounts();
        let first = a.create_session(&Credentials::default(), OPS);
        let second = a.create_session(&Credentials::default(), OPS);
        let (id, secret) = (first.1["$id"].as_str().unwrap(), secret_of(&first));
        assert_eq!(id.len(), 20);
        assert_ne!(id, second.1["$id"].as_str().unwrap());
        // It used to be the secret's first 16 characters.
        assert!(
            !secret.contains(id) && secret[..8] != id[..8],
            "{id} / {secret}"
        );
    }

    #[test]
    fn a_session_expires_after_appwrites_default_duration() {
        let (a, seconds) = accounts_at();
        let answer = a.create_session(&Credentials::default(), OPS);
        let cookie = Credentials::cookie(&cookie_of(&answer));
        assert_eq!(answer.1["expire"], "2027-01-01T00:00:00.000Z");
        assert!(header(&answer, "set-cookie")[1].contains("Expires=Fri, 01 Jan 2027 00:00:00 GMT"));
        seconds.store(SESSION_SECONDS, Ordering::SeqCst);
        assert_eq!(a.account(&cookie).0, 200, "valid through its last second");
        seconds.store(SESSION_SECONDS + 1, Ordering::SeqCst);
        assert_eq!(a.account(&cookie).0, 401);
        assert_eq!(a.current_session(&cookie).0, 401);
        assert!(a.session_identity(&secret_of(&answer)).is_none());
        assert_eq!(a.delete_session(&cookie).0, 401);
    }

    #[test]
    fn expired_sessions_are_forgotten_so_the_table_stays_bounded() {
        let (a, seconds) = accounts_at();
        let view = br#"{"email":"view@example.test","password":"view-password"}"#;
        for _ in 0..5 {
            a.create_session(&Credentials::default(), view);
        }
        assert_eq!(a.kept(), 5);
        seconds.store(SESSION_SECONDS + 1, Ordering::SeqCst);
        a.create_session(&Credentials::default(), OPS);
        assert_eq!(a.kept(), 1, "the viewer's expired sessions are gone");
    }

    #[test]
    fn a_user_keeps_at_most_ten_sessions_and_the_oldest_goes_first() {
        let a = accounts();
        let none = Credentials::default();
        let cookies: Vec<String> = (0..MAX_SESSIONS + 2)
            .map(|_| cookie_of(&a.create_session(&none, OPS)))
            .collect();
        let view = a.create_session(
            &none,
            br#"{"email":"view@example.test","password":"view-password"}"#,
        );
        assert_eq!(a.kept(), MAX_SESSIONS + 1);
        for (i, cookie) in cookies.iter().enumerate() {
            let status = a.account(&Credentials::cookie(cookie)).0;
            assert_eq!(status, if i < 2 { 401 } else { 200 }, "session {i}");
        }
        assert_eq!(a.account(&Credentials::cookie(&cookie_of(&view))).0, 200);
    }

    #[test]
    fn a_page_on_another_site_gets_the_session_as_a_fallback_and_may_send_it_back() {
        let a = accounts();
        let page = from(&[
            ("host", "localhost:8787"),
            ("origin", "http://127.0.0.1:5173"),
        ]);
        let answer = a.create_session(&page, OPS);
        let fallback = header(&answer, "x-fallback-cookies");
        let expected = json!({"a_session_jobmanager": secret_of(&answer)}).to_string();
        assert_eq!(fallback, vec![expected.as_str()]);
        let back = from(&[
            ("host", "localhost:8787"),
            ("x-fallback-cookies", &expected),
        ]);
        assert_eq!(a.account(&back).1["$id"], "ops");
        let out = a.delete_session(&from(&[
            ("host", "localhost:8787"),
            ("origin", "http://127.0.0.1:5173"),
            ("x-fallback-cookies", &expected),
        ]));
        assert_eq!(
            (out.0, header(&out, "x-fallback-cookies")),
            (204, vec!["[]"])
        );
        assert_eq!(a.account(&back).0, 401);
    }

    #[test]
    fn a_session_header_and_the_fallback_are_read_after_the_cookie_in_appwrites_order() {
        let a = accounts();
        let ops = secret_of(&a.create_session(&Credentials::default(), OPS));
        let view = secret_of(&a.create_session(
            &Credentials::default(),
            br#"{"email":"view@example.test","password":"view-password"}"#,
        ));
        let fallback = json!({"a_session_jobmanager": view}).to_string();
        let cookie = format!("a_session_jobmanager_legacy={ops}");
        let user = |c: &Credentials| a.account(c).1["$id"].clone();
        assert_eq!(user(&from(&[("x-appwrite-session", &ops)])), "ops");
        assert_eq!(user(&from(&[("x-fallback-cookies", &fallback)])), "view");
        assert_eq!(
            user(&from(&[
                ("x-appwrite-session", &ops),
                ("x-fallback-cookies", &fallback)
            ])),
            "ops"
        );
        assert_eq!(
            user(&from(&[
                ("cookie", &cookie),
                ("x-fallback-cookies", &fallback)
            ])),
            "ops"
        );
        let other_project = json!({"a_session_other": view}).to_string();
        assert_eq!(
            a.account(&from(&[("x-fallback-cookies", &other_project)]))
                .0,
            401
        );
        assert_eq!(a.account(&from(&[("x-fallback-cookies", "[]")])).0, 401);
    }

    #[test]
    fn only_a_page_on_the_apis_registrable_domain_is_verified() {
        assert!(domain_verified("api.example.com", "jobs.example.com"));
        assert!(!domain_verified("api.example.com", "jobs.example.org"));
        // No registrable domain: an IP address, a name outside the public suffix list.
        for (api, page) in [
            ("localhost", "localhost"),
            ("127.0.0.1", "127.0.0.1"),
            ("[::1]", "[::1]"),
            ("api.test", "jobs.api.test"),
            ("localhost", ""),
        ] {
            assert!(!domain_verified(api, page), "{api} / {page}");
        }
        let same = from(&[
            ("host", "api.example.com:443"),
            ("origin", "https://jobs.example.com"),
        ]);
        assert!(same.same_site);
        let referer = from(&[
            ("host", "api.example.com"),
            ("referer", "https://jobs.example.com/jobs"),
        ]);
        assert!(referer.same_site);
        let tool = from(&[("host", "api.example.com")]);
        assert!(!tool.same_site);
        assert_eq!(url_host("http://[::1]:8787/x"), "[::1]");
        assert_eq!(
            url_host("https://u@jobs.example.com:8443"),
            "jobs.example.com"
        );
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
