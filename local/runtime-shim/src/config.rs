//! Owns the shim's configuration: every `OPEN_RUNTIMES_*` variable it reads, parsed once at
//! startup. `from_lookup` takes any key → value function so tests never touch the process
//! environment; `from_env` is that constructor applied to `std::env::var`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Listen address used when `OPEN_RUNTIMES_LISTEN_ADDR` is unset: loopback, unlike the official
/// runtime's `0.0.0.0`. Handlers trust `x-appwrite-*` headers (the caller's identity), so a port
/// anyone can reach must at least demand the secret: see [`Config::exposure_problem`].
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1";
/// Port used when `OPEN_RUNTIMES_PORT` is unset (the official runtime's).
pub const DEFAULT_PORT: u16 = 3000;
/// Where `{id}_logs.log` / `{id}_errors.log` go when `OPEN_RUNTIMES_LOGS_DIR` is unset.
pub const DEFAULT_LOGS_DIR: &str = "/mnt/logs";
/// Where `timings.txt` is read from when `OPEN_RUNTIMES_TELEMETRY_DIR` is unset.
pub const DEFAULT_TELEMETRY_DIR: &str = "/mnt/telemetry";
/// How long a graceful shutdown waits for in-flight requests by default.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// How many handlers may run at once by default: the bound the official runtime's threads have
/// (tokio's blocking pool, 512 threads by default), so a function that works there works here.
pub const DEFAULT_MAX_HANDLERS: usize = 512;
/// What `OPEN_RUNTIMES_MAX_HANDLERS` may be. Each running handler is an OS thread with its own
/// stack; past a few thousand the machine's thread limit, not the cap, would decide.
pub const MAX_HANDLERS_RANGE: std::ops::RangeInclusive<usize> = 1..=4096;

/// Everything the server needs to know about its environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// `OPEN_RUNTIMES_LISTEN_ADDR`: an IPv4 or IPv6 address.
    pub listen_addr: IpAddr,
    /// `OPEN_RUNTIMES_PORT`: `0` asks the OS for a free port.
    pub port: u16,
    /// `OPEN_RUNTIMES_LOGS_DIR`.
    pub logs_dir: PathBuf,
    /// `OPEN_RUNTIMES_TELEMETRY_DIR`.
    pub telemetry_dir: PathBuf,
    /// `OPEN_RUNTIMES_SECRET`: empty disables the check, as in the official runtime.
    pub secret: String,
    /// `OPEN_RUNTIMES_ENV == "development"`: log id `dev` when the caller sends none.
    pub development: bool,
    /// `OPEN_RUNTIMES_HEADERS`: a JSON object of headers that override the request's.
    pub enforced_headers: Vec<(String, String)>,
    /// `OPEN_RUNTIMES_SHUTDOWN_TIMEOUT` (seconds): the bound on a graceful shutdown.
    pub shutdown_timeout: Duration,
    /// `OPEN_RUNTIMES_MAX_HANDLERS`: handlers running at once, timed-out ones still running
    /// included; requests over it are answered 503 (see `docs/runtime.md`).
    pub max_handlers: usize,
}

// The secret must never be printed, so Debug is written by hand.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen_addr", &self.listen_addr)
            .field("port", &self.port)
            .field("logs_dir", &self.logs_dir)
            .field("telemetry_dir", &self.telemetry_dir)
            .field(
                "secret",
                &if self.secret.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("development", &self.development)
            .field("enforced_headers", &self.enforced_headers)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("max_handlers", &self.max_handlers)
            .finish()
    }
}

/// One variable that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct InvalidVariable {
    pub variable: &'static str,
    pub reason: String,
}

/// Every invalid variable at once, so one restart fixes them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ConfigError(pub Vec<InvalidVariable>);

impl Default for Config {
    fn default() -> Self {
        Config {
            listen_addr: DEFAULT_LISTEN_ADDR
                .parse()
                .expect("constant address parses"),
            port: DEFAULT_PORT,
            logs_dir: PathBuf::from(DEFAULT_LOGS_DIR),
            telemetry_dir: PathBuf::from(DEFAULT_TELEMETRY_DIR),
            secret: String::new(),
            development: false,
            enforced_headers: Vec::new(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            max_handlers: DEFAULT_MAX_HANDLERS,
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|key| std::env::var(key).ok())
    }

    /// Builds a configuration from any lookup; unset and empty variables take the defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |key: &str| lookup(key).filter(|v| !v.is_empty());
        let mut config = Config::default();
        let mut errors = Vec::new();
        let mut invalid = |variable: &'static str, reason: String| {
            errors.push(InvalidVariable { variable, reason })
        };

        if let Some(v) = get("OPEN_RUNTIMES_LISTEN_ADDR") {
            match v.trim().parse() {
                Ok(addr) => config.listen_addr = addr,
                Err(_) => invalid(
                    "OPEN_RUNTIMES_LISTEN_ADDR",
                    format!("{v:?} is not an IPv4 or IPv6 address"),
                ),
            }
        }
        if let Some(v) = get("OPEN_RUNTIMES_PORT") {
            match v.trim().parse() {
                Ok(port) => config.port = port,
                Err(_) => invalid(
                    "OPEN_RUNTIMES_PORT",
                    format!("{v:?} is not a port number (0-65535)"),
                ),
            }
        }
        if let Some(v) = get("OPEN_RUNTIMES_LOGS_DIR") {
            config.logs_dir = PathBuf::from(v);
        }
        if let Some(v) = get("OPEN_RUNTIMES_TELEMETRY_DIR") {
            config.telemetry_dir = PathBuf::from(v);
        }
        config.secret = lookup("OPEN_RUNTIMES_SECRET").unwrap_or_default();
        config.development = get("OPEN_RUNTIMES_ENV").as_deref() == Some("development");
        if let Some(v) = get("OPEN_RUNTIMES_HEADERS") {
            match parse_enforced_headers(&v) {
                Ok(headers) => config.enforced_headers = headers,
                Err(reason) => invalid("OPEN_RUNTIMES_HEADERS", reason),
            }
        }
        if let Some(v) = get("OPEN_RUNTIMES_SHUTDOWN_TIMEOUT") {
            match v.trim().parse::<u64>() {
                Ok(secs) => config.shutdown_timeout = Duration::from_secs(secs),
                Err(_) => invalid(
                    "OPEN_RUNTIMES_SHUTDOWN_TIMEOUT",
                    format!("{v:?} is not a whole number of seconds"),
                ),
            }
        }
        if let Some(v) = get("OPEN_RUNTIMES_MAX_HANDLERS") {
            match v.trim().parse::<usize>() {
                Ok(max) if MAX_HANDLERS_RANGE.contains(&max) => config.max_handlers = max,
                _ => invalid(
                    "OPEN_RUNTIMES_MAX_HANDLERS",
                    format!(
                        "{v:?} is not a whole number from {} to {}",
                        MAX_HANDLERS_RANGE.start(),
                        MAX_HANDLERS_RANGE.end()
                    ),
                ),
            }
        }

        if let Some(problem) = config.exposure_problem() {
            errors.push(problem);
        }

        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(errors))
        }
    }

    /// A non-loopback listen address without `OPEN_RUNTIMES_SECRET`: anyone who reaches the
    /// port could call the function with forged `x-appwrite-*` headers (a user id, a trigger).
    /// Appwrite's executor always sends the secret, so a real deployment sets both.
    pub fn exposure_problem(&self) -> Option<InvalidVariable> {
        (!self.listen_addr.is_loopback() && self.secret.is_empty()).then(|| InvalidVariable {
            variable: "OPEN_RUNTIMES_SECRET",
            reason: format!(
                "must be set to listen on {} (not loopback): without it anyone reaching the \
                 port can forge the x-appwrite-* headers handlers trust",
                self.listen_addr
            ),
        })
    }
}

/// `{"x-custom":"value","X-Other":248}` → lowercased names with string values, converted the
/// way the official runtime converts them (numbers and booleans as text, null as empty).
fn parse_enforced_headers(raw: &str) -> Result<Vec<(String, String)>, String> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(raw)
        .map_err(|e| format!("must be a JSON object of header names to values ({e})"))?;
    Ok(object
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (name.to_lowercase(), value)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|key| map.get(key).cloned())
    }

    #[test]
    fn an_empty_environment_gives_the_official_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.port, 3000);
        assert_eq!(
            c.listen_addr.to_string(),
            "127.0.0.1",
            "loopback unless told"
        );
        assert_eq!(c.logs_dir, PathBuf::from("/mnt/logs"));
        assert_eq!(c.telemetry_dir, PathBuf::from("/mnt/telemetry"));
        assert!(c.secret.is_empty());
        assert_eq!(c.max_handlers, 512);
    }

    #[test]
    fn every_variable_is_read() {
        let c = config(&[
            ("OPEN_RUNTIMES_LISTEN_ADDR", "::1"),
            ("OPEN_RUNTIMES_PORT", "0"),
            ("OPEN_RUNTIMES_LOGS_DIR", "/tmp/l"),
            ("OPEN_RUNTIMES_TELEMETRY_DIR", "/tmp/t"),
            ("OPEN_RUNTIMES_SECRET", "s3cret"),
            ("OPEN_RUNTIMES_ENV", "development"),
            (
                "OPEN_RUNTIMES_HEADERS",
                r#"{"x-custom":"value","X-CUSTOM-UPPERCASE":"Value2","x-open-runtimes-custom":248}"#,
            ),
            ("OPEN_RUNTIMES_SHUTDOWN_TIMEOUT", "5"),
            ("OPEN_RUNTIMES_MAX_HANDLERS", " 8 "),
        ])
        .unwrap();
        assert_eq!(c.listen_addr.to_string(), "::1");
        assert_eq!(c.port, 0);
        assert_eq!(c.logs_dir, PathBuf::from("/tmp/l"));
        assert_eq!(c.telemetry_dir, PathBuf::from("/tmp/t"));
        assert_eq!(c.secret, "s3cret");
        assert!(c.development);
        assert!(c
            .enforced_headers
            .contains(&("x-custom-uppercase".into(), "Value2".into())));
        assert!(c
            .enforced_headers
            .contains(&("x-open-runtimes-custom".into(), "248".into())));
        assert_eq!(c.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(c.max_handlers, 8);
    }

    #[test]
    fn the_handler_cap_is_a_whole_number_from_1_to_4096() {
        assert_eq!(
            config(&[("OPEN_RUNTIMES_MAX_HANDLERS", "4096")])
                .unwrap()
                .max_handlers,
            4096
        );
        assert_eq!(
            config(&[("OPEN_RUNTIMES_MAX_HANDLERS", "1")])
                .unwrap()
                .max_handlers,
            1
        );
        for bad in ["0", "4097", "-1", "many", "2.5"] {
            let err = config(&[("OPEN_RUNTIMES_MAX_HANDLERS", bad)]).unwrap_err();
            assert_eq!(err.0.len(), 1, "{bad}");
            assert_eq!(err.0[0].variable, "OPEN_RUNTIMES_MAX_HANDLERS");
            assert!(err.0[0].reason.contains("from 1 to 4096"), "{bad}");
        }
    }

    #[test]
    fn a_non_loopback_address_without_a_secret_is_refused() {
        let err = config(&[("OPEN_RUNTIMES_LISTEN_ADDR", "0.0.0.0")]).unwrap_err();
        assert_eq!(err.0[0].variable, "OPEN_RUNTIMES_SECRET");
        let c = config(&[
            ("OPEN_RUNTIMES_LISTEN_ADDR", "0.0.0.0"),
            ("OPEN_RUNTIMES_SECRET", "s3cret"),
        ])
        .unwrap();
        assert_eq!(c.listen_addr.to_string(), "0.0.0.0");
        assert!(config(&[("OPEN_RUNTIMES_LISTEN_ADDR", "::1")]).is_ok());
    }

    #[test]
    fn every_invalid_variable_is_reported_by_name_at_once() {
        let err = config(&[
            ("OPEN_RUNTIMES_PORT", "70000"),
            ("OPEN_RUNTIMES_LISTEN_ADDR", "localhost"),
            ("OPEN_RUNTIMES_HEADERS", "[1]"),
            ("OPEN_RUNTIMES_MAX_HANDLERS", "0"),
        ])
        .unwrap_err();
        let names: Vec<_> = err.0.iter().map(|e| e.variable).collect();
        assert_eq!(
            names,
            [
                "OPEN_RUNTIMES_LISTEN_ADDR",
                "OPEN_RUNTIMES_PORT",
                "OPEN_RUNTIMES_HEADERS",
                "OPEN_RUNTIMES_MAX_HANDLERS"
            ]
        );
        assert!(err.to_string().contains("OPEN_RUNTIMES_PORT"));
    }

    #[test]
    fn an_empty_headers_variable_means_no_enforced_headers() {
        let c = config(&[("OPEN_RUNTIMES_HEADERS", "")]).unwrap();
        assert!(c.enforced_headers.is_empty());
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let c = config(&[("OPEN_RUNTIMES_SECRET", "hunter2")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
