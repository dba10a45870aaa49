//! The action API's configuration, read through a lookup (the process environment on Appwrite,
//! a map in tests) so tests never touch the real environment. Every invalid variable is
//! reported at once, by name; values are never echoed since some deployments keep ids private.

use chrono::Duration;
use shared::job::JobType;

/// How long a resolved role is reused before Appwrite is asked again, unless configured.
pub const DEFAULT_ROLE_CACHE_SECONDS: i64 = 30;
/// Most rows one export returns, unless configured.
pub const DEFAULT_EXPORT_MAX_ROWS: usize = 10_000;
/// Upper bound for `JOBS_EXPORT_MAX_ROWS`: an export is answered in one response body.
pub const EXPORT_MAX_ROWS_CEILING: usize = 50_000;

/// Which labels and teams grant which role. Empty everywhere means nobody has a role: the API
/// is closed until someone configures it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct RoleConfig {
    pub operator_labels: Vec<String>,
    pub viewer_labels: Vec<String>,
    pub operator_teams: Vec<String>,
    pub viewer_teams: Vec<String>,
}

impl RoleConfig {
    pub fn is_empty(&self) -> bool {
        self.operator_labels.is_empty()
            && self.viewer_labels.is_empty()
            && self.operator_teams.is_empty()
            && self.viewer_teams.is_empty()
    }
}

/// Mirror of a campaign job's control actions onto the campaign row (off unless configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignStatus {
    pub database: String,
    pub table: String,
    pub field: String,
    /// The value written on pause, resume and cancel; `None` leaves the row alone for that action.
    pub on_pause: Option<String>,
    pub on_resume: Option<String>,
    pub on_cancel: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub roles: RoleConfig,
    pub role_cache_ttl: Duration,
    /// Worker function id per job type, re-triggered on resume and retry.
    pub workers: Vec<(JobType, String)>,
    /// Origins allowed to call through a function domain; `*` allows any.
    pub cors_origins: Vec<String>,
    /// Audit log link template with `{jobId}` and `{referenceId}` placeholders.
    pub audit_log_url: Option<String>,
    pub campaign: Option<CampaignStatus>,
    pub export_max_rows: usize,
}

pub use shared::config::ConfigError;

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut vars = shared::config::Vars::new(lookup);
        let ttl_secs = vars.number(
            "JOBS_ROLE_CACHE_SECONDS",
            0..=3600,
            DEFAULT_ROLE_CACHE_SECONDS,
        );
        let export_max_rows = vars.number(
            "JOBS_EXPORT_MAX_ROWS",
            1..=EXPORT_MAX_ROWS_CEILING,
            DEFAULT_EXPORT_MAX_ROWS,
        );

        let workers = JobType::ALL
            .iter()
            .filter_map(|t| vars.get(&format!("JOBS_WORKER_{t}")).map(|f| (*t, f)))
            .collect();

        let campaign_parts = [
            vars.get("JOBS_CAMPAIGN_DATABASE"),
            vars.get("JOBS_CAMPAIGN_TABLE"),
            vars.get("JOBS_CAMPAIGN_STATUS_FIELD"),
        ];
        let campaign = match campaign_parts {
            [Some(database), Some(table), Some(field)] => Some(CampaignStatus {
                database,
                table,
                field,
                on_pause: vars.get("JOBS_CAMPAIGN_STATUS_ON_PAUSE"),
                on_resume: vars.get("JOBS_CAMPAIGN_STATUS_ON_RESUME"),
                on_cancel: vars.get("JOBS_CAMPAIGN_STATUS_ON_CANCEL"),
            }),
            [None, None, None] => None,
            _ => {
                vars.problem(
                    "JOBS_CAMPAIGN_DATABASE",
                    "JOBS_CAMPAIGN_TABLE and JOBS_CAMPAIGN_STATUS_FIELD must be set together with it",
                );
                None
            }
        };

        let audit_log_url = vars.get("JOBS_AUDIT_LOG_URL");
        if audit_log_url
            .as_deref()
            .is_some_and(|u| !u.contains("{jobId}") && !u.contains("{referenceId}"))
        {
            vars.problem(
                "JOBS_AUDIT_LOG_URL",
                "must contain {jobId} or {referenceId}",
            );
        }

        // Appwrite gives users only labels of 1-36 alphanumeric characters (utopia-php/database
        // `Validator/Label.php`, docs/appwrite-notes.md § Ids, labels and roles): any other name
        // could never match a user, so it is a configuration error, not a silent 403.
        let mut labels = |name: &str| {
            let list = vars.list(name);
            if let Some(bad) = list.iter().find(|l| {
                l.is_empty() || l.len() > 36 || !l.chars().all(|c| c.is_ascii_alphanumeric())
            }) {
                vars.problem(
                    name,
                    format!(
                        "label `{bad}` is not one Appwrite gives users: 1 to 36 alphanumeric characters (e.g. `{}`)",
                        bad.chars().filter(char::is_ascii_alphanumeric).take(36).collect::<String>()
                    ),
                );
            }
            list
        };
        let operator_labels = labels("JOBS_OPERATOR_LABELS");
        let viewer_labels = labels("JOBS_VIEWER_LABELS");
        let config = Config {
            roles: RoleConfig {
                operator_labels,
                viewer_labels,
                operator_teams: vars.list("JOBS_OPERATOR_TEAMS"),
                viewer_teams: vars.list("JOBS_VIEWER_TEAMS"),
            },
            role_cache_ttl: Duration::seconds(ttl_secs),
            workers,
            cors_origins: vars.list("JOBS_CORS_ORIGINS"),
            audit_log_url,
            campaign,
            export_max_rows,
        };
        vars.finish(config)
    }

    pub fn worker(&self, job_type: JobType) -> Option<&str> {
        self.workers
            .iter()
            .find(|(t, _)| *t == job_type)
            .map(|(_, f)| f.as_str())
    }
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
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_configured_means_no_roles_no_workers_and_no_cors() {
        let c = config(&[]).unwrap();
        assert!(c.roles.is_empty());
        assert!(c.workers.is_empty());
        assert!(c.cors_origins.is_empty());
        assert_eq!(c.campaign, None);
        assert_eq!(c.role_cache_ttl, Duration::seconds(30));
    }

    #[test]
    fn a_label_appwrite_would_refuse_is_a_configuration_error_naming_the_variable() {
        let err = config(&[("JOBS_OPERATOR_LABELS", "jobsoperator, jobs-operator")]).unwrap_err();
        assert_eq!(err.variables(), ["JOBS_OPERATOR_LABELS"]);
        assert!(err.to_string().contains("`jobsoperator`"), "{err}");
        assert!(config(&[("JOBS_VIEWER_LABELS", "jobsviewer,ops2")]).is_ok());
    }

    #[test]
    fn lists_are_comma_separated_and_trimmed() {
        let c = config(&[
            ("JOBS_OPERATOR_LABELS", " ops , jobsoperator,,"),
            ("JOBS_WORKER_CAMPAIGN_RUN", "orchestrator"),
        ])
        .unwrap();
        assert_eq!(c.roles.operator_labels, ["ops", "jobsoperator"]);
        assert_eq!(c.worker(JobType::CampaignRun), Some("orchestrator"));
        assert_eq!(c.worker(JobType::BulkVerify), None);
    }

    #[test]
    fn every_invalid_variable_is_reported_at_once() {
        let err = config(&[
            ("JOBS_ROLE_CACHE_SECONDS", "soon"),
            ("JOBS_EXPORT_MAX_ROWS", "0"),
            ("JOBS_CAMPAIGN_TABLE", "campaigns"),
            ("JOBS_AUDIT_LOG_URL", "https://example.test/audit"),
        ])
        .unwrap_err();
        assert_eq!(err.problems.len(), 4, "{err}");
        assert!(err.to_string().contains("JOBS_ROLE_CACHE_SECONDS"));
        assert!(err.to_string().contains("JOBS_CAMPAIGN_DATABASE"));
    }
}
