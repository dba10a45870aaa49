//! The API keys `jobs-dev` accepts: the development key (every scope), and the per-execution
//! keys it hands each function in `x-appwrite-key`, the way Appwrite does.
//!
//! Appwrite 1.9.6 gives every execution an `ephemeral_`-prefixed key carrying only the
//! function's `scopes` from `appwrite.json` (plus the keys role's `global`, `health.read`,
//! `graphql`) and expiring `timeout + 60` seconds later
//! (`src/Appwrite/Platform/Modules/Functions/Http/Executions/Create.php`,
//! `src/Appwrite/Platform/Workers/Functions.php`, `src/Appwrite/Auth/Key.php`,
//! `app/config/roles.php`). Doing the same here means a function missing a scope fails on a
//! laptop as it would when deployed, with Appwrite's answer (docs/appwrite-notes.md § Function
//! keys). Unlike Appwrite's signed JWTs these are random tokens remembered until they expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

use crate::lock;
use crate::wire::AwError;

/// What Appwrite adds to every key's scopes (`app/config/roles.php`, role `keys`).
const KEYS_ROLE_SCOPES: [&str; 3] = ["global", "health.read", "graphql"];
/// Appwrite's margin for cold starts on top of the function's timeout.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// The keys of one dev server. Issued keys are pruned when they expire, so the map holds at
/// most the executions of the last `timeout + 60` seconds.
#[derive(Debug)]
pub struct Keys {
    dev: String,
    issued: Mutex<HashMap<String, Issued>>,
}

#[derive(Debug, Clone)]
struct Issued {
    scopes: Vec<String>,
    expires: Instant,
}

/// What a request's key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// The development key: everything, like a console-made key with every scope.
    Dev,
    /// An execution's key: these scopes only.
    Scoped(Vec<String>),
}

impl Grant {
    /// Appwrite's check: the route needs one of `allowed` (`app/controllers/shared/api.php`,
    /// "Validate scope permissions"), answered with its exact 401 otherwise.
    pub fn require(&self, allowed: &[&str]) -> Result<(), AwError> {
        match self {
            Grant::Dev => Ok(()),
            Grant::Scoped(scopes) if allowed.iter().any(|a| scopes.iter().any(|s| s == a)) => {
                Ok(())
            }
            Grant::Scoped(_) => Err(AwError::new(
                401,
                "general_unauthorized_scope",
                format!(
                    "User (role: applications) missing scopes ({})",
                    serde_json::Value::from(allowed.to_vec())
                ),
            )),
        }
    }
}

impl Keys {
    pub fn new(dev: &str) -> Keys {
        Keys {
            dev: dev.to_owned(),
            issued: Mutex::new(HashMap::new()),
        }
    }

    /// A key for one execution of a function with `scopes` and `timeout`; an error only when
    /// the OS random source fails (a key is a secret, never a guessable value).
    pub fn issue(
        &self,
        scopes: &[String],
        timeout: Duration,
        now: Instant,
    ) -> Result<String, AwError> {
        let token = shared::random::secret_hex(32).map_err(|e| {
            AwError::new(
                500,
                "general_server_error",
                format!("no execution key: {e}"),
            )
        })?;
        let key = format!("ephemeral_{token}");
        let mut scopes = scopes.to_vec();
        scopes.extend(KEYS_ROLE_SCOPES.iter().map(|s| (*s).to_owned()));
        let mut issued = lock(&self.issued);
        issued.retain(|_, i| i.expires > now);
        issued.insert(
            key.clone(),
            Issued {
                scopes,
                expires: now + timeout + EXPIRY_MARGIN,
            },
        );
        Ok(key)
    }

    /// What `key` may do at `now`: Appwrite's answers for an unknown or an expired key.
    pub fn check(&self, key: &str, now: Instant) -> Result<Grant, AwError> {
        if bool::from(key.as_bytes().ct_eq(self.dev.as_bytes())) {
            return Ok(Grant::Dev);
        }
        let issued = lock(&self.issued).get(key).cloned();
        match issued {
            Some(i) if i.expires > now => Ok(Grant::Scoped(i.scopes)),
            Some(_) => Err(AwError::new(
                401,
                "project_key_expired",
                "The project key has expired. Please generate a new key using the Appwrite console.",
            )),
            None => Err(AwError::new(
                401,
                "user_unauthorized",
                "The API key is not valid for this project.",
            )),
        }
    }

    /// How many issued keys are remembered (for the bound's test).
    pub fn remembered(&self) -> usize {
        lock(&self.issued).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn an_execution_key_is_ephemeral_and_carries_only_the_functions_scopes() {
        let keys = Keys::new("dev-key");
        let now = Instant::now();
        let key = keys
            .issue(&scopes(&["rows.read"]), Duration::from_secs(15), now)
            .unwrap();
        assert!(key.starts_with("ephemeral_"), "{key}");
        let grant = keys.check(&key, now).unwrap();
        assert!(grant.require(&["rows.read"]).is_ok());
        assert!(grant.require(&["health.read"]).is_ok());
        let refused = grant
            .require(&["executions.write", "execution.write"])
            .unwrap_err();
        assert_eq!(
            (refused.code, refused.kind),
            (401, "general_unauthorized_scope")
        );
        assert_eq!(
            refused.message,
            r#"User (role: applications) missing scopes (["executions.write","execution.write"])"#
        );
        assert_eq!(keys.check("dev-key", now).unwrap(), Grant::Dev);
    }

    #[test]
    fn a_key_expires_a_minute_after_the_functions_timeout_and_is_then_forgotten() {
        let keys = Keys::new("dev-key");
        let now = Instant::now();
        let key = keys.issue(&[], Duration::from_secs(15), now).unwrap();
        assert!(keys.check(&key, now + Duration::from_secs(74)).is_ok());
        let expired = keys.check(&key, now + Duration::from_secs(75)).unwrap_err();
        assert_eq!(expired.kind, "project_key_expired");
        keys.issue(&[], Duration::from_secs(15), now + Duration::from_secs(75))
            .unwrap();
        assert_eq!(keys.remembered(), 1, "the expired key is pruned");
        assert_eq!(
            keys.check("nope", now).unwrap_err().kind,
            "user_unauthorized"
        );
    }
}
