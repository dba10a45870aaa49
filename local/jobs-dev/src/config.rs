//! The dev server's configuration: every `JOBS_DEV_*` variable, read once through a lookup
//! function so tests never touch the process environment. All problems are reported at once.

use std::net::IpAddr;
use std::path::PathBuf;

use shared::config::Vars;

/// The shorthand `JOBS_DEV_ROLE` for the default identity: which team it joins. It gets the team
/// only (no label), like a user added to that team in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Operator,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    /// The Appwrite team (`appwrite.json` → `teams`) a user of this role belongs to.
    pub fn team(self) -> &'static str {
        match self {
            Role::Operator => "jobs-operators",
            Role::Viewer => "jobs-viewers",
        }
    }
}

/// One development user: an Appwrite user holding exactly these labels and confirmed team
/// memberships, nothing more, so `execute` and job-actions see what they would see in production.
/// Read from `JOBS_DEV_USERS` (a JSON array of these objects; unknown fields are refused, so a
/// typo does not silently grant nothing).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevUser {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub teams: Vec<String>,
    /// With a password the user signs in on the dashboard's sign-in page (Account API,
    /// `crate::account`); once any user has one, browser calls need a session.
    #[serde(default)]
    pub password: Option<Password>,
}

/// A development user's password: compared, never printed.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl DevUser {
    /// The roles Appwrite gives this user when it checks a permission such as `execute`
    /// (appwrite 1.9.6 `src/Appwrite/Utopia/Database/Documents/User.php` `getRoles`, plus `any`
    /// which every caller holds; docs/appwrite-notes.md § Functions, executions and permissions). Memberships are
    /// confirmed with the team role `member`, as `memberships` answers them.
    pub fn roles(&self) -> Vec<String> {
        let mut roles = vec![
            "any".to_owned(),
            format!("user:{}", self.id),
            "users".to_owned(),
            format!("user:{}/unverified", self.id),
            "users/unverified".to_owned(),
        ];
        for team in &self.teams {
            roles.push(format!("team:{team}"));
            roles.push(format!("member:{}", self.membership_id(team)));
            roles.push(format!("team:{team}/member"));
        }
        roles.extend(self.labels.iter().map(|l| format!("label:{l}")));
        roles
    }

    /// The id of this user's membership of `team` (stable, so `member:` roles are predictable).
    pub fn membership_id(&self, team: &str) -> String {
        format!("membership-{team}-{}", self.id)
    }
}

/// utopia-php/database 6.0.0 `Validator/Label.php`, as Appwrite 1.9.6 answers it.
pub const LABEL_RULE: &str =
    "Value must be a valid string between 1 and 36 chars containing only alphanumeric chars";
/// utopia-php/database 6.0.0 `Validator/Key.php` (team ids), as Appwrite 1.9.6 answers it.
pub const KEY_RULE: &str = "Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can't start with a special char";

/// A label Appwrite accepts: 1 to 36 characters of `A-Za-z0-9`.
pub fn is_appwrite_label(label: &str) -> bool {
    (1..=36).contains(&label.len()) && label.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// An id Appwrite accepts: at most 36 characters of `A-Za-z0-9._-`, the first alphanumeric.
pub fn is_appwrite_key(id: &str) -> bool {
    id.len() <= 36
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Default port of the dev server.
pub const DEFAULT_PORT: u16 = 8787;

#[derive(Clone)]
pub struct DevConfig {
    /// `JOBS_DEV_HOST` (default 127.0.0.1: the dev identity needs no password, so loopback only).
    pub host: IpAddr,
    /// `JOBS_DEV_PORT` (default 8787; 0 picks a free port).
    pub port: u16,
    /// `JOBS_DEV_DATA_DIR` (default `.data`): the SQLite store and function logs.
    pub data_dir: PathBuf,
    /// `JOBS_DEV_USERS`: the development users. Default: one user, `JOBS_DEV_USER`, member of
    /// the team of `JOBS_DEV_ROLE` (`operator` → `jobs-operators`, `viewer` → `jobs-viewers`).
    pub users: Vec<DevUser>,
    /// `JOBS_DEV_USER` (default: the first of `users`, else `dev-user`): the identity callers
    /// without a server key act as.
    pub user_id: String,
    /// `JOBS_DEV_KEY`: the server key workers send as `X-Appwrite-Key` (random when unset).
    pub key: String,
    /// `JOBS_DEV_DEMO=1`: run the demo workers.
    pub demo: bool,
    /// `JOBS_DEV_MANIFEST`: the `appwrite.json` to host (default: the repository's).
    pub manifest: PathBuf,
    /// `JOBS_DEV_DASHBOARD_DIR`: serve the dashboard from this folder instead of the copy
    /// compiled into the binary (edit-and-reload while working on it).
    pub dashboard_dir: Option<PathBuf>,
    /// `JOBS_DEV_PROJECT` (default `jobmanager`): the project id callers send.
    pub project: String,
    /// `JOBS_DEV_WEBHOOK_EVENTS`: comma-separated Appwrite event names the local webhook
    /// subscribes to (e.g. `functions.sqs-poller.executions.*`); empty: no webhook.
    pub webhook_events: Vec<String>,
    /// `JOBS_DEV_WEBHOOK_URL` (default: `job-observer`'s domain on the dev server).
    pub webhook_url: Option<String>,
    /// `JOBS_DEV_WEBHOOK_SECRET` (random when unset): the webhook's signature key.
    pub webhook_secret: String,
    /// `JOBS_DEV_ALLOW_REMOTE=1`: the operator's explicit opt-in to a non-loopback
    /// `JOBS_DEV_HOST`, where anyone on the network gets the password-less dev identity.
    pub allow_remote: bool,
    /// `JOBS_DEV_FORWARD`: functions executed by forwarding to a runtime elsewhere.
    pub forward: Vec<crate::forward::Forward>,
}

impl std::fmt::Debug for DevConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field("users", &self.users)
            .field("user_id", &self.user_id)
            .field("key", &"<redacted>")
            .field("demo", &self.demo)
            .field("manifest", &self.manifest)
            .field("dashboard_dir", &self.dashboard_dir)
            .field("project", &self.project)
            .field("webhook_events", &self.webhook_events)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &"<redacted>")
            .field("forward", &self.forward)
            .finish()
    }
}

pub use shared::config::ConfigError;

impl DevConfig {
    /// The identity callers without a server key act as.
    pub fn current_user(&self) -> &DevUser {
        self.user(&self.user_id)
            .expect("from_lookup checks JOBS_DEV_USER is listed")
    }

    pub fn user(&self, id: &str) -> Option<&DevUser> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn from_env() -> Result<DevConfig, ConfigError> {
        DevConfig::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<DevConfig, ConfigError> {
        let mut vars = Vars::new(lookup);
        let host = read_host(&mut vars);
        let port = vars.number("JOBS_DEV_PORT", 0..=u16::MAX, DEFAULT_PORT);
        let role = read_role(&mut vars);
        let user = vars.get("JOBS_DEV_USER");
        let users = read_users(&mut vars, user.as_deref(), role);
        let user_id = current_user_id(&mut vars, user, &users);
        check_passwords(&mut vars, &users);
        check_appwrite_ids(&mut vars, &users);
        let demo = vars.flag("JOBS_DEV_DEMO", false);
        let allow_remote = vars.flag("JOBS_DEV_ALLOW_REMOTE", false);
        check_exposure(&mut vars, host, allow_remote);
        let key = read_key(&mut vars);
        let webhook_events = read_webhook_events(&mut vars);
        let webhook_url = read_webhook_url(&mut vars);
        let webhook_secret = read_webhook_secret(&mut vars);
        let forward = crate::forward::parse(&vars.get("JOBS_DEV_FORWARD").unwrap_or_default())
            .unwrap_or_else(|e| {
                vars.problem("JOBS_DEV_FORWARD", e);
                Vec::new()
            });
        let config = DevConfig {
            webhook_events,
            webhook_url,
            webhook_secret,
            host,
            port,
            data_dir: vars
                .get("JOBS_DEV_DATA_DIR")
                .map_or_else(|| PathBuf::from(".data"), PathBuf::from),
            users,
            user_id,
            key,
            demo,
            manifest: vars.get("JOBS_DEV_MANIFEST").map_or_else(
                || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../appwrite.json")),
                PathBuf::from,
            ),
            dashboard_dir: vars.get("JOBS_DEV_DASHBOARD_DIR").map(PathBuf::from),
            project: vars
                .get("JOBS_DEV_PROJECT")
                .unwrap_or_else(|| "jobmanager".to_owned()),
            allow_remote,
            forward,
        };
        vars.finish(config)
    }
}

/// `JOBS_DEV_HOST`, loopback when unset or unusable (an unusable one is a problem).
fn read_host(vars: &mut Vars<'_>) -> IpAddr {
    match vars.get("JOBS_DEV_HOST") {
        None => IpAddr::from([127, 0, 0, 1]),
        Some(v) => v.parse().unwrap_or_else(|_| {
            vars.problem("JOBS_DEV_HOST", format!("{v:?} is not an IP address"));
            IpAddr::from([127, 0, 0, 1])
        }),
    }
}

/// `JOBS_DEV_ROLE`, the default user's team; `operator` when unset or unknown.
fn read_role(vars: &mut Vars<'_>) -> Role {
    match vars.get("JOBS_DEV_ROLE").as_deref() {
        None | Some("operator") => Role::Operator,
        Some("viewer") => Role::Viewer,
        Some(other) => {
            vars.problem(
                "JOBS_DEV_ROLE",
                format!("{other:?} is neither `operator` nor `viewer`"),
            );
            Role::Operator
        }
    }
}

/// `JOBS_DEV_USERS`, or without it the one default user (`user`, in the team of `role`).
fn read_users(vars: &mut Vars<'_>, user: Option<&str>, role: Role) -> Vec<DevUser> {
    match vars.get("JOBS_DEV_USERS") {
        None => vec![DevUser {
            id: user.unwrap_or("dev-user").to_owned(),
            name: "Local developer".to_owned(),
            email: "dev@localhost".to_owned(),
            labels: Vec::new(),
            teams: vec![role.team().to_owned()],
            password: None,
        }],
        Some(json) => match serde_json::from_str::<Vec<DevUser>>(&json) {
            Ok(users) if users.is_empty() => {
                vars.problem("JOBS_DEV_USERS", "lists no user");
                Vec::new()
            }
            Ok(users) => users,
            Err(e) => {
                vars.problem(
                    "JOBS_DEV_USERS",
                    format!(
                        "not a JSON array of {{id, name, email, labels, teams, password}}: {e}"
                    ),
                );
                Vec::new()
            }
        },
    }
}

/// Who callers without a server key act as: `JOBS_DEV_USER`, which must be one of `users`,
/// else the first of them, else `dev-user`.
fn current_user_id(vars: &mut Vars<'_>, user: Option<String>, users: &[DevUser]) -> String {
    match (user, users.first()) {
        (Some(u), _) if users.is_empty() || users.iter().any(|x| x.id == u) => u,
        (Some(u), _) => {
            vars.problem("JOBS_DEV_USER", format!("{u:?} is not in JOBS_DEV_USERS"));
            u
        }
        (None, Some(first)) => first.id.clone(),
        (None, None) => "dev-user".to_owned(),
    }
}

/// A user with a password must be able to sign in: an email, and a password Appwrite accepts.
fn check_passwords(vars: &mut Vars<'_>, users: &[DevUser]) {
    for u in users.iter().filter(|u| u.password.is_some()) {
        if u.email.is_empty() {
            vars.problem(
                "JOBS_DEV_USERS",
                format!("{} has a password but no email to sign in with", u.id),
            );
        }
        if u.password.as_ref().is_some_and(|p| p.0.len() < 8) {
            // Appwrite's minimum password length.
            vars.problem(
                "JOBS_DEV_USERS",
                format!("the password of {} is shorter than 8 characters", u.id),
            );
        }
    }
}

/// Appwrite 1.9.6 refuses a label that is not 1 to 36 alphanumeric characters (users' labels
/// and `label:` roles) and a team id outside its key rule (docs/appwrite-notes.md § Ids, labels
/// and roles), so a development user holding one could not exist there.
fn check_appwrite_ids(vars: &mut Vars<'_>, users: &[DevUser]) {
    for u in users {
        for label in u.labels.iter().filter(|l| !is_appwrite_label(l)) {
            vars.problem(
                "JOBS_DEV_USERS",
                format!(
                    "label {label:?} of {} is one Appwrite refuses: {LABEL_RULE}",
                    u.id
                ),
            );
        }
        for team in u.teams.iter().filter(|t| !is_appwrite_key(t)) {
            vars.problem(
                "JOBS_DEV_USERS",
                format!(
                    "team {team:?} of {} is an id Appwrite refuses: {KEY_RULE}",
                    u.id
                ),
            );
        }
    }
}

/// A non-loopback host hands the password-less dev identity to the network: only on opt-in.
fn check_exposure(vars: &mut Vars<'_>, host: IpAddr, allow_remote: bool) {
    if !host.is_loopback() && !allow_remote {
        vars.problem(
            "JOBS_DEV_HOST",
            format!(
                "{host} is not a loopback address; anyone who can reach it would act as the \
                 password-less dev identity. Set JOBS_DEV_ALLOW_REMOTE=1 to do it anyway"
            ),
        );
    }
}

/// `JOBS_DEV_KEY`, at least 16 characters; a random one when unset.
fn read_key(vars: &mut Vars<'_>) -> String {
    match vars.get("JOBS_DEV_KEY") {
        Some(k) if k.len() < 16 => {
            vars.problem("JOBS_DEV_KEY", "must be at least 16 characters");
            k
        }
        Some(k) => k,
        None => random_key().unwrap_or_else(|e| {
            vars.problem(
                "JOBS_DEV_KEY",
                format!("is unset and no random key can be made: {e}"),
            );
            String::new()
        }),
    }
}

/// `JOBS_DEV_WEBHOOK_EVENTS`; the first name with a character no Appwrite event has is named.
fn read_webhook_events(vars: &mut Vars<'_>) -> Vec<String> {
    let webhook_events = vars.list("JOBS_DEV_WEBHOOK_EVENTS");
    let event_chars = |e: &str| {
        e.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '*'))
    };
    if let Some(bad) = webhook_events.iter().find(|e| !event_chars(e)) {
        vars.problem(
            "JOBS_DEV_WEBHOOK_EVENTS",
            format!("{bad:?} is not an Appwrite event name"),
        );
    }
    webhook_events
}

/// `JOBS_DEV_WEBHOOK_URL`, which must be an http(s) URL when set.
fn read_webhook_url(vars: &mut Vars<'_>) -> Option<String> {
    let webhook_url = vars.get("JOBS_DEV_WEBHOOK_URL");
    if webhook_url
        .as_deref()
        .is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://")))
    {
        vars.problem(
            "JOBS_DEV_WEBHOOK_URL",
            "must start with http:// or https://",
        );
    }
    webhook_url
}

/// `JOBS_DEV_WEBHOOK_SECRET`, at least 8 characters; a random one when unset.
fn read_webhook_secret(vars: &mut Vars<'_>) -> String {
    match vars.get("JOBS_DEV_WEBHOOK_SECRET") {
        // Appwrite's own minimum for a webhook secret.
        Some(k) if k.len() < 8 => {
            vars.problem("JOBS_DEV_WEBHOOK_SECRET", "must be at least 8 characters");
            k
        }
        Some(k) => k,
        None => random_key().unwrap_or_else(|e| {
            vars.problem(
                "JOBS_DEV_WEBHOOK_SECRET",
                format!("is unset and no random secret can be made: {e}"),
            );
            String::new()
        }),
    }
}

/// A fresh secret for this run: 32 hex characters from the OS's random source; an error, never
/// a guessable key, when that source fails.
pub fn random_key() -> Result<String, shared::random::Unavailable> {
    Ok(format!("local_{}", shared::random::secret_hex(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<DevConfig, ConfigError> {
        DevConfig::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_are_loopback_port_8787_operator_without_demo() {
        let c = config(&[]).unwrap();
        assert_eq!(c.host.to_string(), "127.0.0.1");
        assert_eq!(c.port, 8787);
        assert_eq!(c.current_user().teams, vec!["jobs-operators"]);
        assert!(c.current_user().labels.is_empty());
        assert!(!c.demo);
        assert!(c.key.starts_with("local_") && c.key.len() > 20);
    }

    #[test]
    fn a_non_loopback_host_needs_the_explicit_opt_in() {
        let err = config(&[("JOBS_DEV_HOST", "0.0.0.0")]).unwrap_err();
        assert!(err.to_string().contains("JOBS_DEV_ALLOW_REMOTE=1"), "{err}");
        let c = config(&[("JOBS_DEV_HOST", "0.0.0.0"), ("JOBS_DEV_ALLOW_REMOTE", "1")]).unwrap();
        assert!(c.allow_remote);
        assert!(config(&[("JOBS_DEV_HOST", "::1")]).is_ok());
    }

    #[test]
    fn every_invalid_variable_is_reported_at_once() {
        let err = config(&[
            ("JOBS_DEV_PORT", "http"),
            ("JOBS_DEV_ROLE", "admin"),
            ("JOBS_DEV_KEY", "short"),
        ])
        .unwrap_err();
        let text = err.to_string();
        for name in ["JOBS_DEV_PORT", "JOBS_DEV_ROLE", "JOBS_DEV_KEY"] {
            assert!(text.contains(name), "{text}");
        }
    }

    #[test]
    fn the_webhook_is_off_by_default_and_its_bad_settings_are_named() {
        assert!(config(&[]).unwrap().webhook_events.is_empty());
        let c = config(&[(
            "JOBS_DEV_WEBHOOK_EVENTS",
            "functions.a.executions.*, functions.b.executions.*",
        )])
        .unwrap();
        assert_eq!(c.webhook_events.len(), 2);
        let err = config(&[
            ("JOBS_DEV_WEBHOOK_EVENTS", "functions a"),
            ("JOBS_DEV_WEBHOOK_URL", "ftp://x"),
            ("JOBS_DEV_WEBHOOK_SECRET", "short"),
        ])
        .unwrap_err()
        .to_string();
        for name in [
            "JOBS_DEV_WEBHOOK_EVENTS",
            "JOBS_DEV_WEBHOOK_URL",
            "JOBS_DEV_WEBHOOK_SECRET",
        ] {
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn users_hold_exactly_the_teams_and_labels_configured() {
        let c = config(&[
            (
                "JOBS_DEV_USERS",
                r#"[{"id":"ana","labels":["jobsoperator"]},{"id":"bo","teams":["jobs-viewers"]},{"id":"cy"}]"#,
            ),
            ("JOBS_DEV_USER", "bo"),
        ])
        .unwrap();
        assert_eq!(c.current_user().id, "bo");
        let ana = c.user("ana").unwrap().roles();
        assert!(ana.contains(&"label:jobsoperator".to_owned()));
        assert!(!ana.iter().any(|r| r.starts_with("team:")));
        let cy = c.user("cy").unwrap().roles();
        assert!(!cy
            .iter()
            .any(|r| r.starts_with("team:") || r.starts_with("label:")));
    }

    #[test]
    fn a_current_user_missing_from_the_list_or_an_unknown_field_is_refused() {
        let err = config(&[("JOBS_DEV_USERS", r#"[{"id":"ana","label":["typo"]}]"#)]).unwrap_err();
        assert_eq!(err.variables(), ["JOBS_DEV_USERS"], "{err}");
        let err = config(&[
            ("JOBS_DEV_USERS", r#"[{"id":"ana"}]"#),
            ("JOBS_DEV_USER", "bo"),
        ])
        .unwrap_err();
        assert_eq!(err.variables(), ["JOBS_DEV_USER"], "{err}");
    }

    #[test]
    fn a_label_or_team_appwrite_refuses_is_refused_naming_the_variable_and_the_rule() {
        let err = config(&[(
            "JOBS_DEV_USERS",
            r#"[{"id":"ana","labels":["jobs-operator"]},{"id":"bo","teams":["-ops"]}]"#,
        )])
        .unwrap_err();
        assert_eq!(
            err.variables(),
            ["JOBS_DEV_USERS", "JOBS_DEV_USERS"],
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains(
                "label \"jobs-operator\" of ana is one Appwrite refuses: Value must be a valid \
                 string between 1 and 36 chars containing only alphanumeric chars"
            ),
            "{text}"
        );
        assert!(text.contains("team \"-ops\" of bo is an id Appwrite refuses: Parameter must contain at most 36 chars"), "{text}");
        // Team ids may hold a hyphen; the labels we ship have none.
        config(&[(
            "JOBS_DEV_USERS",
            r#"[{"id":"ana","labels":["jobsoperator","jobsviewer"],"teams":["jobs-operators"]}]"#,
        )])
        .unwrap();
    }

    #[test]
    fn the_key_is_never_printed_by_debug() {
        let c = config(&[("JOBS_DEV_KEY", "super-secret-dev-key")]).unwrap();
        assert!(!format!("{c:?}").contains("super-secret"));
    }
}
