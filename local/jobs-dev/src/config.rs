//! The dev server's configuration: every `JOBS_DEV_*` variable, read once through a lookup
//! function so tests never touch the process environment. All problems are reported at once.

use std::net::IpAddr;
use std::path::PathBuf;

/// The development identity's role: which team and label it gets, so job-actions resolves it
/// exactly as it resolves a real user's.
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

    /// The Appwrite user label granting this role (`JOBS_*_LABELS` of job-actions).
    pub fn label(self) -> &'static str {
        match self {
            Role::Operator => "jobs-operator",
            Role::Viewer => "jobs-viewer",
        }
    }
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
    /// `JOBS_DEV_ROLE`: `operator` (default) or `viewer`.
    pub role: Role,
    /// `JOBS_DEV_USER` (default `dev-user`): the development identity's user id.
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
    /// `JOBS_DEV_USERS`: development users for the sign-in page (`role:email:password`, comma
    /// separated; `crate::account`). Unset: no sign-in, every browser call is the dev identity.
    pub users: Vec<crate::account::DevUser>,
}

impl std::fmt::Debug for DevConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field("role", &self.role)
            .field("user_id", &self.user_id)
            .field("key", &"<redacted>")
            .field("demo", &self.demo)
            .field("manifest", &self.manifest)
            .field("dashboard_dir", &self.dashboard_dir)
            .field("project", &self.project)
            .field("users", &self.users)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

impl DevConfig {
    pub fn from_env() -> Result<DevConfig, ConfigError> {
        DevConfig::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<DevConfig, ConfigError> {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let host = match get("JOBS_DEV_HOST") {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(v) => v.parse().unwrap_or_else(|_| {
                problems.push(format!("JOBS_DEV_HOST: {v:?} is not an IP address"));
                IpAddr::from([127, 0, 0, 1])
            }),
        };
        let port = match get("JOBS_DEV_PORT") {
            None => DEFAULT_PORT,
            Some(v) => v.parse().unwrap_or_else(|_| {
                problems.push(format!("JOBS_DEV_PORT: {v:?} is not a port number"));
                DEFAULT_PORT
            }),
        };
        let role = match get("JOBS_DEV_ROLE").as_deref() {
            None | Some("operator") => Role::Operator,
            Some("viewer") => Role::Viewer,
            Some(other) => {
                problems.push(format!(
                    "JOBS_DEV_ROLE: {other:?} is neither `operator` nor `viewer`"
                ));
                Role::Operator
            }
        };
        let demo = match get("JOBS_DEV_DEMO").as_deref() {
            None | Some("0" | "false" | "no" | "off") => false,
            Some("1" | "true" | "yes" | "on") => true,
            Some(other) => {
                problems.push(format!("JOBS_DEV_DEMO: {other:?} is not 0 or 1"));
                false
            }
        };
        let key = match get("JOBS_DEV_KEY") {
            Some(k) if k.len() < 16 => {
                problems.push("JOBS_DEV_KEY: must be at least 16 characters".to_owned());
                k
            }
            Some(k) => k,
            None => random_key(),
        };
        let users = match get("JOBS_DEV_USERS") {
            None => Vec::new(),
            Some(v) => crate::account::parse_users(&v).unwrap_or_else(|e| {
                problems.push(format!("JOBS_DEV_USERS: {e}"));
                Vec::new()
            }),
        };
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        Ok(DevConfig {
            host,
            port,
            data_dir: get("JOBS_DEV_DATA_DIR")
                .map_or_else(|| PathBuf::from(".data"), PathBuf::from),
            role,
            user_id: get("JOBS_DEV_USER").unwrap_or_else(|| "dev-user".to_owned()),
            key,
            demo,
            manifest: get("JOBS_DEV_MANIFEST").map_or_else(
                || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../appwrite.json")),
                PathBuf::from,
            ),
            dashboard_dir: get("JOBS_DEV_DASHBOARD_DIR").map(PathBuf::from),
            project: get("JOBS_DEV_PROJECT").unwrap_or_else(|| "jobmanager".to_owned()),
            users,
        })
    }
}

/// A fresh secret for this run: 32 hex characters from the OS's random source.
pub fn random_key() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        // No /dev/urandom: fall back to the clock and pid, still unique per run.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = (nanos ^ u128::from(std::process::id()) << 64).to_le_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("local_{hex}")
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
        assert_eq!(c.role, Role::Operator);
        assert!(!c.demo);
        assert!(c.key.starts_with("local_") && c.key.len() > 20);
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
    fn the_key_is_never_printed_by_debug() {
        let c = config(&[("JOBS_DEV_KEY", "super-secret-dev-key")]).unwrap();
        assert!(!format!("{c:?}").contains("super-secret"));
    }
}
