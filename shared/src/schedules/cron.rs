//! A function's `schedule` read as Appwrite reads it: five CRON fields in UTC (Appwrite 1.9.6
//! validates with `src/Appwrite/Task/Validator/Cron.php` and runs schedules through
//! dragonmantank/cron-expression in `src/Appwrite/Platform/Tasks/ScheduleFunctions.php`), plus
//! the `@hourly`-style nicknames that library accepts. Parsed with `croner`, the crate
//! `jobs-dev` and `tools/deploy-check` read schedules with; said in words for the Schedules view.

use std::str::FromStr;

use chrono::Duration;
use croner::parser::{CronParser, Seconds};
use croner::Cron as Parsed;

use crate::job::Timestamp;

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Cron {
    expr: String,
    parsed: Parsed,
}

impl Cron {
    /// Reads `expr` (five fields or a nickname); `None` when it is not a schedule.
    pub fn parse(expr: &str) -> Option<Cron> {
        let expr = expr.trim();
        if expr.is_empty() {
            return None;
        }
        let parsed = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .build()
            .parse(expr)
            .ok()?;
        Some(Cron {
            expr: expr.to_owned(),
            parsed,
        })
    }

    /// The first run strictly after `t`.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        self.parsed.find_next_occurrence(&t, false).ok()
    }

    /// The last run at or before `t`.
    pub fn last_at_or_before(&self, t: Timestamp) -> Option<Timestamp> {
        self.parsed.find_previous_occurrence(&t, true).ok()
    }

    /// The time from the run at `run` to the one after it.
    pub fn interval_after(&self, run: Timestamp) -> Option<Duration> {
        self.next_after(run).map(|next| next - run)
    }

    /// The schedule in words, in UTC: "every minute", "every 5 minutes", "hourly at :00",
    /// "every 6 hours at :30", "daily at 03:00 UTC", "weekly on Monday at 08:00 UTC",
    /// "monthly on day 1 at 00:00 UTC"; any other schedule is given as written.
    pub fn words(&self) -> String {
        describe(&self.expr).unwrap_or_else(|| self.expr.clone())
    }
}

/// The words for the common shapes; `None` for everything else.
fn describe(expr: &str) -> Option<String> {
    let expanded = match expr.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *".to_owned(),
        "@monthly" => "0 0 1 * *".to_owned(),
        "@weekly" => "0 0 * * 0".to_owned(),
        "@daily" | "@midnight" => "0 0 * * *".to_owned(),
        "@hourly" => "0 * * * *".to_owned(),
        other => other.to_owned(),
    };
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields.as_slice() else {
        return None;
    };
    let number = |field: &str, max: u32| u32::from_str(field).ok().filter(|n| *n <= max);
    let step = |field: &str| {
        field
            .strip_prefix("*/")
            .and_then(|n| u32::from_str(n).ok())
            .filter(|n| *n > 0)
    };
    let any = |field: &str| field == "*";
    if !any(month) {
        return None;
    }
    let every_day = any(dom) && any(dow);
    match (number(minute, 59), number(hour, 23)) {
        (None, _) if any(hour) && every_day => {
            if any(minute) || step(minute) == Some(1) {
                Some("every minute".into())
            } else {
                step(minute).map(|n| format!("every {n} minutes"))
            }
        }
        (Some(m), _) if any(hour) && every_day => Some(format!("hourly at :{m:02}")),
        (Some(m), None) if every_day => step(hour).map(|h| match h {
            1 => format!("hourly at :{m:02}"),
            h => format!("every {h} hours at :{m:02}"),
        }),
        (Some(m), Some(h)) => {
            let at = format!("{h:02}:{m:02} UTC");
            if every_day {
                Some(format!("daily at {at}"))
            } else if any(dom) {
                weekday(dow).map(|day| format!("weekly on {day} at {at}"))
            } else if any(dow) {
                number(dom, 31)
                    .filter(|d| *d >= 1)
                    .map(|d| format!("monthly on day {d} at {at}"))
            } else {
                None
            }
        }
        _ => None,
    }
}

fn weekday(field: &str) -> Option<&'static str> {
    const DAYS: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    const NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let index = match u32::from_str(field) {
        Ok(7) => 0,
        Ok(n) if n < 7 => n as usize,
        Ok(_) => return None,
        Err(_) => NAMES.iter().position(|n| field.eq_ignore_ascii_case(n))?,
    };
    Some(DAYS[index])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn words(expr: &str) -> String {
        Cron::parse(expr).expect("a valid schedule").words()
    }

    #[test]
    fn common_schedules_are_said_in_words() {
        assert_eq!(words("* * * * *"), "every minute");
        assert_eq!(words("*/1 * * * *"), "every minute");
        assert_eq!(words("*/5 * * * *"), "every 5 minutes");
        assert_eq!(words("0 * * * *"), "hourly at :00");
        assert_eq!(words("@hourly"), "hourly at :00");
        assert_eq!(words("30 */6 * * *"), "every 6 hours at :30");
        assert_eq!(words("0 3 * * *"), "daily at 03:00 UTC");
        assert_eq!(words("@daily"), "daily at 00:00 UTC");
        assert_eq!(words("17 3 * * *"), "daily at 03:17 UTC");
        assert_eq!(words("0 8 * * 1"), "weekly on Monday at 08:00 UTC");
        assert_eq!(words("0 8 * * SUN"), "weekly on Sunday at 08:00 UTC");
        assert_eq!(words("0 0 1 * *"), "monthly on day 1 at 00:00 UTC");
    }

    #[test]
    fn other_schedules_are_given_as_written() {
        assert_eq!(words("0 9-17 * * 1-5"), "0 9-17 * * 1-5");
        assert_eq!(words("5,35 * * * *"), "5,35 * * * *");
        assert_eq!(words("0 0 1 1 *"), "0 0 1 1 *");
    }

    #[test]
    fn empty_and_invalid_schedules_are_not_schedules() {
        assert!(Cron::parse("").is_none());
        assert!(Cron::parse("   ").is_none());
        assert!(Cron::parse("every minute").is_none());
        assert!(Cron::parse("61 * * * *").is_none());
        // Appwrite's schedules have five fields: no seconds.
        assert!(Cron::parse("0 */5 * * * *").is_none());
    }

    #[test]
    fn next_and_last_runs_are_in_utc_on_minute_boundaries() {
        let cron = Cron::parse("*/5 * * * *").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 10, 7, 30).unwrap();
        assert_eq!(
            cron.next_after(t),
            Some(Utc.with_ymd_and_hms(2026, 12, 7, 10, 10, 0).unwrap())
        );
        let on = Utc.with_ymd_and_hms(2026, 12, 7, 10, 5, 0).unwrap();
        assert_eq!(cron.last_at_or_before(t), Some(on));
        assert_eq!(cron.last_at_or_before(on), Some(on));
        assert_eq!(cron.interval_after(on), Some(Duration::minutes(5)));
    }
}
