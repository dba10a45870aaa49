//! Who may do what. The caller is the Appwrite user in `x-appwrite-user-id` (filled in by
//! Appwrite for executions created with a user session); a viewer may read, an operator may
//! also act. Roles come from user labels and team memberships configured by environment, looked
//! up through the [`Directory`] and cached briefly so a dashboard polling every 5 s does not
//! cost two Appwrite calls per poll.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Duration;
use serde::Serialize;
use shared::job::Timestamp;

use crate::config::RoleConfig;
use crate::upstream::{Directory, UpstreamError};

/// Roles, weakest first: an operator can do everything a viewer can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
}

/// A role and what granted it, e.g. `label:jobsoperator` or `team:ops`: recorded on every
/// action's event so the audit shows why the actor was allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    pub source: String,
}

/// An authenticated caller with a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub grant: Grant,
}

impl Caller {
    pub fn can_act(&self) -> bool {
        self.grant.role >= Role::Operator
    }
}

/// Resolves a user's strongest role: operator sources first, then viewer sources; labels before
/// teams because one user lookup answers every label at once.
pub fn resolve(
    roles: &RoleConfig,
    directory: &dyn Directory,
    user_id: &str,
) -> Result<Option<Grant>, UpstreamError> {
    if roles.is_empty() {
        return Ok(None);
    }
    let labels = if roles.operator_labels.is_empty() && roles.viewer_labels.is_empty() {
        Vec::new()
    } else {
        directory.user_labels(user_id)?
    };
    let tiers = [
        (
            Role::Operator,
            &roles.operator_labels,
            &roles.operator_teams,
        ),
        (Role::Viewer, &roles.viewer_labels, &roles.viewer_teams),
    ];
    for (role, role_labels, role_teams) in tiers {
        if let Some(label) = role_labels.iter().find(|l| labels.contains(l)) {
            return Ok(Some(Grant {
                role,
                source: format!("label:{label}"),
            }));
        }
        for team in role_teams {
            if directory.is_team_member(team, user_id)? {
                return Ok(Some(Grant {
                    role,
                    source: format!("team:{team}"),
                }));
            }
        }
    }
    Ok(None)
}

/// Entries kept before expired ones are swept: bounds memory if many users come and go.
const CACHE_SWEEP_AT: usize = 4_096;

/// Resolved roles (including "none") per key, reused for a short time. Errors are not cached,
/// so a transient Appwrite failure is retried on the next request.
#[derive(Default)]
pub struct RoleCache {
    entries: Mutex<HashMap<String, (Timestamp, Option<Grant>)>>,
}

impl RoleCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The cached grant for `key` if resolved less than `ttl` ago, else resolves and stores it.
    pub fn get_or_resolve(
        &self,
        key: &str,
        now: Timestamp,
        ttl: Duration,
        resolve: impl FnOnce() -> Result<Option<Grant>, UpstreamError>,
    ) -> Result<Option<Grant>, UpstreamError> {
        if let Some((at, grant)) = self.lock().get(key) {
            if now >= *at && now - *at < ttl {
                return Ok(grant.clone());
            }
        }
        // Resolved outside the lock: a slow Appwrite call must not block other users' requests.
        let grant = resolve()?;
        if ttl > Duration::zero() {
            let mut entries = self.lock();
            if entries.len() >= CACHE_SWEEP_AT {
                entries.retain(|_, (at, _)| now >= *at && now - *at < ttl);
            }
            entries.insert(key.to_owned(), (now, grant.clone()));
        }
        Ok(grant)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Timestamp, Option<Grant>)>> {
        // A panic elsewhere while holding the lock leaves a map that is still valid.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Dir {
        labels: Vec<String>,
        teams: Vec<String>,
        calls: AtomicUsize,
    }

    impl Directory for Dir {
        fn user_labels(&self, _: &str) -> Result<Vec<String>, UpstreamError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(self.labels.clone())
        }
        fn is_team_member(&self, team: &str, _: &str) -> Result<bool, UpstreamError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(self.teams.iter().any(|t| t == team))
        }
    }

    fn dir(labels: &[&str], teams: &[&str]) -> Dir {
        Dir {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            teams: teams.iter().map(|s| s.to_string()).collect(),
            calls: AtomicUsize::new(0),
        }
    }

    fn roles() -> RoleConfig {
        RoleConfig {
            operator_labels: vec!["ops".into()],
            viewer_labels: vec!["view".into()],
            operator_teams: vec!["opsteam".into()],
            viewer_teams: vec!["viewteam".into()],
        }
    }

    #[test]
    fn without_role_configuration_nobody_has_a_role_and_appwrite_is_not_asked() {
        let d = dir(&["ops"], &["opsteam"]);
        assert_eq!(resolve(&RoleConfig::default(), &d, "u1").unwrap(), None);
        assert_eq!(d.calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn operator_sources_win_over_viewer_sources() {
        let d = dir(&["view"], &["opsteam"]);
        let grant = resolve(&roles(), &d, "u1").unwrap().unwrap();
        assert_eq!(grant.role, Role::Operator);
        assert_eq!(grant.source, "team:opsteam");
    }

    #[test]
    fn a_viewer_label_grants_viewer() {
        let d = dir(&["view"], &[]);
        let grant = resolve(&roles(), &d, "u1").unwrap().unwrap();
        assert_eq!(
            grant,
            Grant {
                role: Role::Viewer,
                source: "label:view".into()
            }
        );
    }

    #[test]
    fn cached_roles_are_reused_within_the_ttl_and_refreshed_after() {
        let cache = RoleCache::new();
        let d = dir(&["ops"], &[]);
        let t0 = chrono::Utc::now();
        let ttl = Duration::seconds(30);
        for at in [t0, t0 + Duration::seconds(29)] {
            let g = cache
                .get_or_resolve("k", at, ttl, || resolve(&roles(), &d, "u1"))
                .unwrap();
            assert_eq!(g.unwrap().role, Role::Operator);
        }
        assert_eq!(d.calls.load(Ordering::SeqCst), 1);
        cache
            .get_or_resolve("k", t0 + Duration::seconds(30), ttl, || {
                resolve(&roles(), &d, "u1")
            })
            .unwrap();
        assert_eq!(d.calls.load(Ordering::SeqCst), 2);
    }
}
