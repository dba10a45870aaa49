//! The retention and stall sweeper behind the scheduled `job-retention` function: its
//! configuration (read once per run from variables, every problem reported at once) and one
//! sweep (mark stalled jobs FAILED, then prune finished jobs in bounded batches within a time
//! budget), returning a [`Report`]. Defaults and their reasons are in `docs/retention.md`.

use chrono::Duration;
use serde::Serialize;

use crate::job::{JobType, Timestamp, ACTOR_SYSTEM};
use crate::store::{JobStore, MAX_PAGE};
use crate::usecase::{self, Act, KeepRule, StallPolicy};

/// Finished jobs kept by default: the requirements' "last 100 completed jobs".
const DEFAULT_KEEP: usize = 100;
/// Jobs deleted per store call: small enough for one Appwrite bulk request.
const DEFAULT_BATCH: usize = 100;
/// Wall-clock budget of one run; below Appwrite's default 15 s function timeout.
const DEFAULT_BUDGET_SECONDS: i64 = 10;
/// The sqs-poller's schedule period; its stall threshold follows it.
const DEFAULT_SQS_POLL_INTERVAL_SECONDS: i64 = 60;

/// Default RUNNING-without-heartbeat thresholds, in seconds (see docs/retention.md).
fn default_running_seconds(job_type: JobType, sqs_interval: i64) -> i64 {
    match job_type {
        // Appwrite's maximum function timeout (900 s) plus a minute's grace: a worker that only
        // reports at the end of an execution is still alive until its execution is killed.
        JobType::CampaignRun | JobType::BulkVerify => 960,
        // A couple of API calls; 5 minutes covers a raised timeout and a slow AWS answer.
        JobType::MetricsFetch => 300,
        // Heartbeats once per scheduled run: tolerate two missed runs plus a minute's grace.
        JobType::SqsPoll => 3 * sqs_interval + 60,
    }
}

/// Default QUEUED-without-pickup thresholds, in seconds: a resumed or retried job waits for its
/// re-triggered execution, which Appwrite may leave `waiting`.
fn default_queued_seconds(job_type: JobType, sqs_interval: i64) -> i64 {
    match job_type {
        // The poller picks a resumed job up on its next scheduled run.
        JobType::SqsPoll => 3 * sqs_interval + 60,
        _ => 600,
    }
}

use crate::config::ConfigError;

/// The longest duration any variable may give (ten years), so no value can overflow the
/// date arithmetic of a sweep.
const MAX_SECONDS: i64 = 10 * 366 * 24 * 3600;

/// What one sweep does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionConfig {
    /// What is kept of each job type, in [`JobType::ALL`] order: the newest N
    /// (`JOBS_RETENTION_KEEP_<TYPE>`, else `JOBS_RETENTION_KEEP`, ≥ 1) and the optional minimum
    /// age (`JOBS_RETENTION_MIN_AGE_<TYPE>_HOURS`, always shorter than the maximum age).
    rules: Vec<KeepRule>,
    /// Finished jobs older than this are deleted even inside the kept window.
    max_age: Option<Duration>,
    /// Jobs deleted (and stalled jobs examined per type) per store call.
    batch: usize,
    /// Stop starting new batches after this much time; the next run continues.
    budget: Duration,
    stall: StallPolicy,
}

impl RetentionConfig {
    /// Reads the configuration through `lookup` (the environment in production).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut vars = crate::config::Vars::new(lookup);
        let keep = vars.number("JOBS_RETENTION_KEEP", 1..=1_000_000, DEFAULT_KEEP);
        let max_age_days =
            vars.optional_number("JOBS_RETENTION_MAX_AGE_DAYS", 1..=MAX_SECONDS / 86_400);
        let batch = vars.number("JOBS_RETENTION_BATCH", 1..=MAX_PAGE, DEFAULT_BATCH);
        let budget = vars.number(
            "JOBS_RETENTION_BUDGET_SECONDS",
            1..=3_600,
            DEFAULT_BUDGET_SECONDS,
        );
        let sqs = vars.number(
            "JOBS_SQS_POLL_INTERVAL_SECONDS",
            1..=86_400,
            DEFAULT_SQS_POLL_INTERVAL_SECONDS,
        );
        let mut running = Vec::new();
        let mut queued = Vec::new();
        let mut rules = Vec::new();
        for &job_type in JobType::ALL {
            let type_keep = vars.number(
                &format!("JOBS_RETENTION_KEEP_{job_type}"),
                1..=1_000_000,
                keep,
            );
            let min_age_name = format!("JOBS_RETENTION_MIN_AGE_{job_type}_HOURS");
            let min_age_hours = vars.optional_number(&min_age_name, 1..=MAX_SECONDS / 3_600);
            // A job younger than the minimum age must never also be older than the maximum
            // age, or the two promises contradict each other.
            if let (Some(hours), Some(days)) = (min_age_hours, max_age_days) {
                if hours >= days * 24 {
                    vars.problem(
                        &min_age_name,
                        format!(
                            "({hours} h) must be shorter than JOBS_RETENTION_MAX_AGE_DAYS \
                             ({days} d = {} h): a job cannot be both kept for its youth and \
                             deleted for its age",
                            days * 24
                        ),
                    );
                }
            }
            rules.push(KeepRule {
                job_type,
                newest: type_keep,
                min_age: min_age_hours.map(Duration::hours),
            });
            let run = vars.number(
                &format!("JOBS_STALL_{job_type}_SECONDS"),
                1..=MAX_SECONDS,
                default_running_seconds(job_type, sqs),
            );
            let queue = vars.number(
                &format!("JOBS_QUEUED_{job_type}_SECONDS"),
                1..=MAX_SECONDS,
                default_queued_seconds(job_type, sqs),
            );
            running.push((job_type, Duration::seconds(run)));
            queued.push((job_type, Duration::seconds(queue)));
        }
        vars.finish(RetentionConfig {
            rules,
            max_age: max_age_days.map(Duration::days),
            batch,
            budget: Duration::seconds(budget),
            stall: StallPolicy { running, queued },
        })
    }
}

/// What one sweep did; returned by the function and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    deleted: usize,
    marked_stalled: usize,
    /// Finished jobs still due for deletion (the next run continues).
    remaining_backlog: usize,
    duration_ms: i64,
}

/// One sweep: stalled jobs first (they become finished jobs the prune then counts), then prune
/// batches until the backlog is gone or the budget is spent. `clock` is read between batches;
/// the run's instant for thresholds and ages is its first reading.
///
/// Safe to overlap with another sweep: stall marks are compare-and-set, and pruning deletes by
/// rank among each type's finished jobs, so two runs at worst both delete the same rows.
pub fn sweep(
    store: &dyn JobStore,
    config: &RetentionConfig,
    clock: &dyn Fn() -> Timestamp,
) -> Result<Report, usecase::Error> {
    let started = clock();
    let act = Act::new(store, ACTOR_SYSTEM, started);
    let mut report = Report {
        marked_stalled: usecase::mark_stalled(&act, &config.stall, config.batch)?.len(),
        ..Report::default()
    };
    loop {
        let pass = usecase::prune(&act, &config.rules, config.max_age, config.batch)?;
        report.deleted += pass.deleted;
        report.remaining_backlog = pass.remaining;
        if pass.remaining == 0 || pass.deleted == 0 || clock() - started >= config.budget {
            break;
        }
    }
    report.duration_ms = (clock() - started).num_milliseconds().max(0);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<RetentionConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RetentionConfig::from_lookup(|k| vars.get(k).cloned())
    }

    fn of(c: &RetentionConfig, job_type: JobType) -> (usize, Option<Duration>) {
        let rule = c.rules.iter().find(|r| r.job_type == job_type).unwrap();
        (rule.newest, rule.min_age)
    }

    fn names(err: ConfigError) -> Vec<String> {
        err.variables()
    }

    #[test]
    fn defaults_keep_100_and_derive_the_sqs_threshold_from_its_schedule() {
        let c = config(&[]).unwrap();
        for &t in JobType::ALL {
            assert_eq!(of(&c, t), (100, None));
        }
        assert_eq!(c.max_age, None);
        let sqs = c.stall.running.iter().find(|(t, _)| *t == JobType::SqsPoll);
        assert_eq!(sqs.unwrap().1, Duration::seconds(240));
        let c = config(&[("JOBS_SQS_POLL_INTERVAL_SECONDS", "300")]).unwrap();
        let sqs = c.stall.running.iter().find(|(t, _)| *t == JobType::SqsPoll);
        assert_eq!(sqs.unwrap().1, Duration::seconds(960));
    }

    #[test]
    fn per_type_thresholds_and_max_age_are_read_from_their_variables() {
        let c = config(&[
            ("JOBS_STALL_CAMPAIGN_RUN_SECONDS", "120"),
            ("JOBS_QUEUED_BULK_VERIFY_SECONDS", "30"),
            ("JOBS_RETENTION_MAX_AGE_DAYS", "7"),
        ])
        .unwrap();
        assert!(c
            .stall
            .running
            .contains(&(JobType::CampaignRun, Duration::seconds(120))));
        assert!(c
            .stall
            .queued
            .contains(&(JobType::BulkVerify, Duration::seconds(30))));
        assert_eq!(c.max_age, Some(Duration::days(7)));
    }

    #[test]
    fn every_invalid_variable_is_named_at_once() {
        let err = config(&[
            ("JOBS_RETENTION_KEEP", "0"),
            ("JOBS_STALL_SQS_POLL_SECONDS", "soon"),
            ("JOBS_RETENTION_BATCH", "100000"),
            ("JOBS_RETENTION_MAX_AGE_DAYS", "9223372036854775807"),
        ])
        .unwrap_err();
        assert_eq!(
            names(err.clone()),
            [
                "JOBS_RETENTION_KEEP",
                "JOBS_RETENTION_MAX_AGE_DAYS",
                "JOBS_RETENTION_BATCH",
                "JOBS_STALL_SQS_POLL_SECONDS",
            ]
        );
        let text = err.to_string();
        assert!(
            text.contains("JOBS_RETENTION_KEEP must be a whole number from 1 to 1000000, got `0`"),
            "{text}"
        );
        assert!(text.contains("`soon`"), "{text}");
    }

    /// Values chrono cannot hold (or that overflow once subtracted from now) are invalid
    /// configuration, named, never a panic.
    #[test]
    fn huge_numbers_are_invalid_configuration_not_a_panic() {
        let huge = i64::MAX.to_string();
        let vars: Vec<(&str, &str)> = [
            "JOBS_RETENTION_KEEP",
            "JOBS_RETENTION_MAX_AGE_DAYS",
            "JOBS_RETENTION_BATCH",
            "JOBS_RETENTION_BUDGET_SECONDS",
            "JOBS_SQS_POLL_INTERVAL_SECONDS",
            "JOBS_STALL_CAMPAIGN_RUN_SECONDS",
            "JOBS_QUEUED_SQS_POLL_SECONDS",
        ]
        .into_iter()
        .map(|name| (name, huge.as_str()))
        .collect();
        let err = config(&vars).unwrap_err();
        assert_eq!(names(err).len(), vars.len());
        // The largest accepted values still leave every cutoff representable.
        let c = config(&[
            (
                "JOBS_RETENTION_MAX_AGE_DAYS",
                &(MAX_SECONDS / 86_400).to_string(),
            ),
            ("JOBS_SQS_POLL_INTERVAL_SECONDS", "86400"),
            ("JOBS_STALL_CAMPAIGN_RUN_SECONDS", &MAX_SECONDS.to_string()),
        ])
        .unwrap();
        let now = chrono::Utc::now();
        for (_, d) in c.stall.running.iter().chain(&c.stall.queued) {
            assert!(now.checked_sub_signed(*d).is_some());
        }
        assert!(now.checked_sub_signed(c.max_age.unwrap()).is_some());
    }

    #[test]
    fn per_type_keep_and_minimum_age_override_the_shared_keep() {
        let c = config(&[
            ("JOBS_RETENTION_KEEP", "50"),
            ("JOBS_RETENTION_KEEP_SQS_POLL", "20"),
            ("JOBS_RETENTION_MIN_AGE_CAMPAIGN_RUN_HOURS", "72"),
            ("JOBS_RETENTION_MAX_AGE_DAYS", "30"),
        ])
        .unwrap();
        assert_eq!(of(&c, JobType::SqsPoll), (20, None));
        assert_eq!(
            of(&c, JobType::CampaignRun),
            (50, Some(Duration::hours(72)))
        );
        assert_eq!(of(&c, JobType::BulkVerify), (50, None));
    }

    #[test]
    fn a_minimum_age_not_shorter_than_the_maximum_age_is_invalid_naming_both() {
        let err = config(&[
            ("JOBS_RETENTION_MIN_AGE_BULK_VERIFY_HOURS", "48"),
            ("JOBS_RETENTION_MIN_AGE_SQS_POLL_HOURS", "47"),
            ("JOBS_RETENTION_MAX_AGE_DAYS", "2"),
            ("JOBS_RETENTION_KEEP_METRICS_FETCH", "0"),
        ])
        .unwrap_err();
        assert_eq!(
            names(err.clone()),
            [
                "JOBS_RETENTION_MIN_AGE_BULK_VERIFY_HOURS",
                "JOBS_RETENTION_KEEP_METRICS_FETCH",
            ]
        );
        let text = err.to_string();
        assert!(
            text.contains("JOBS_RETENTION_MIN_AGE_BULK_VERIFY_HOURS (48 h) must be shorter than JOBS_RETENTION_MAX_AGE_DAYS"),
            "{text}"
        );
        // A minimum age alone, without a maximum age, is fine at any length.
        assert!(config(&[("JOBS_RETENTION_MIN_AGE_SQS_POLL_HOURS", "87840")]).is_ok());
    }

    #[test]
    fn a_negative_keep_is_invalid() {
        assert_eq!(
            names(config(&[("JOBS_RETENTION_KEEP", "-5")]).unwrap_err()),
            ["JOBS_RETENTION_KEEP"]
        );
    }
}
