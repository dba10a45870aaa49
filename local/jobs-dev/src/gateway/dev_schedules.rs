//! `POST /v1/dev/schedules` (development key only; not an Appwrite route): registers a
//! scheduled function with a past history, so a test can have a schedule that is late or
//! failing now instead of waiting for the clock to make one (docs/local.md § What runs).
//! The function is then served like the demo's scheduled ones (`super::functions`): listed by
//! the Functions API, its runs in its executions list as Appwrite's scheduler records them.
//!
//! Body: `{"functionId", "name"?, "schedule", "since", "runs": [{"at", "status",
//! "duration"}]}`; `since` is the function's `$createdAt` and `$updatedAt`. A malformed field is
//! 400 naming it; an id already taken is 409; the answer is 201 with the function's document.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::Gateway;
use crate::wire::AwError;

/// Runs one request may record: enough for any health rule (10 recent runs, a day of hourly
/// ones), and far below the 1,000 executions the gateway keeps.
const MAX_RUNS: usize = 100;
/// Appwrite's limit on a function's name (`Functions/Create.php`'s `Text(128)`).
const MAX_NAME: usize = 128;
const FIELDS: [&str; 5] = ["functionId", "name", "schedule", "since", "runs"];
const RUN_FIELDS: [&str; 3] = ["at", "status", "duration"];

/// A validated request.
#[derive(Debug, PartialEq)]
struct Seed {
    id: String,
    name: String,
    schedule: String,
    /// Appwrite's datetime form, so it compares as text with every other date served.
    since: String,
    runs: Vec<Run>,
}

#[derive(Debug, PartialEq)]
struct Run {
    at: String,
    completed: bool,
    duration: f64,
}

impl Gateway {
    /// `POST /v1/dev/schedules`, the caller's key already checked.
    pub(super) fn seed_schedule(&self, raw: &[u8]) -> Result<(u16, Value), AwError> {
        let seed = parse(raw, Utc::now())?;
        self.register_seeded(&seed.id, &seed.name, &seed.schedule, &seed.since)?;
        for run in &seed.runs {
            self.record_scheduled_run(&seed.id, &run.at, run.completed, run.duration, false);
        }
        let (_, doc) = self.get_function(&seed.id)?;
        Ok((201, doc))
    }
}

fn invalid(field: &str, why: &str) -> AwError {
    AwError::new(
        400,
        "general_argument_invalid",
        format!("Invalid `{field}` param: {why}"),
    )
}

/// Reads and checks the body at `now`: nothing may have happened after it.
fn parse(raw: &[u8], now: DateTime<Utc>) -> Result<Seed, AwError> {
    let body: Value = serde_json::from_slice(raw)
        .map_err(|_| AwError::new(400, "general_argument_invalid", "Invalid JSON body."))?;
    let body = body
        .as_object()
        .ok_or_else(|| AwError::new(400, "general_argument_invalid", "Invalid JSON body."))?;
    unknown(body, &FIELDS, "")?;
    let id = text(body, "functionId", "functionId")?;
    if !shared::store::id::is_valid(&id) {
        return Err(invalid(
            "functionId",
            "Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can't start with a special char",
        ));
    }
    let name = match body.get("name") {
        None | Some(Value::Null) => id.clone(),
        Some(_) => text(body, "name", "name")?,
    };
    if name.chars().count() > MAX_NAME {
        return Err(invalid("name", "Value must be at most 128 characters"));
    }
    let schedule = text(body, "schedule", "schedule")?;
    if shared::schedules::Cron::parse(&schedule).is_none() {
        return Err(invalid(
            "schedule",
            "Value must be a valid cron expression (five fields, UTC)",
        ));
    }
    let created = instant(body, "since", "since", now)?;
    let runs = match body.get("runs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(runs)) if runs.len() <= MAX_RUNS => runs
            .iter()
            .enumerate()
            .map(|(i, run)| read_run(run, &format!("runs[{i}]"), created, now))
            .collect::<Result<_, _>>()?,
        Some(Value::Array(_)) => {
            return Err(invalid("runs", "Value must hold at most 100 runs"));
        }
        Some(_) => return Err(invalid("runs", "Value must be a valid array")),
    };
    Ok(Seed {
        id,
        name,
        schedule,
        since: shared::appwrite::datetime(&created),
        runs,
    })
}

fn read_run(
    run: &Value,
    field: &str,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Run, AwError> {
    let run = run
        .as_object()
        .ok_or_else(|| invalid(field, "Value must be a valid object"))?;
    unknown(run, &RUN_FIELDS, &format!("{field}."))?;
    let at_field = format!("{field}.at");
    let at = instant(run, "at", &at_field, now)?;
    // Appwrite records no execution of a function before the function exists.
    if at < created {
        return Err(invalid(&at_field, "Value must not be before `since`"));
    }
    let completed = match text(run, "status", &format!("{field}.status"))?.as_str() {
        "completed" => true,
        "failed" => false,
        _ => {
            return Err(invalid(
                &format!("{field}.status"),
                "Value must be one of (completed, failed)",
            ))
        }
    };
    let duration = run
        .get("duration")
        .and_then(Value::as_f64)
        .filter(|d| d.is_finite() && *d >= 0.0)
        .ok_or_else(|| {
            invalid(
                &format!("{field}.duration"),
                "Value must be a number of seconds, 0 or more",
            )
        })?;
    Ok(Run {
        at: shared::appwrite::datetime(&at),
        completed,
        duration,
    })
}

/// Refuses a key outside `allowed` (`prefix`: where the object sits), so a misspelt field
/// fails the test that sent it instead of being ignored.
fn unknown(object: &Map<String, Value>, allowed: &[&str], prefix: &str) -> Result<(), AwError> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(&format!("{prefix}{k}"), "Unknown parameter")),
        None => Ok(()),
    }
}

/// A non-empty string at `key` (`field`: its name in the answer).
fn text(object: &Map<String, Value>, key: &str, field: &str) -> Result<String, AwError> {
    match object.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(invalid(field, "Value must not be empty")),
        None | Some(Value::Null) => Err(AwError::new(
            400,
            "general_argument_invalid",
            format!("Param \"{field}\" is not optional."),
        )),
        Some(_) => Err(invalid(field, "Value must be a valid string")),
    }
}

/// An ISO 8601 date-time with an offset at `key`, not after `now`.
fn instant(
    object: &Map<String, Value>,
    key: &str,
    field: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, AwError> {
    let at = DateTime::parse_from_rfc3339(&text(object, key, field)?)
        .map_err(|_| invalid(field, "Value must be an ISO 8601 date-time with an offset"))?
        .with_timezone(&Utc);
    if at > now {
        return Err(invalid(field, "Value must not be in the future"));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-07T10:00:00Z".parse().unwrap()
    }

    fn refused(body: Value) -> AwError {
        parse(body.to_string().as_bytes(), now()).unwrap_err()
    }

    fn valid() -> Value {
        serde_json::json!({
            "functionId": "late-poller", "schedule": "* * * * *",
            "since": "2026-12-07T09:00:00+00:00",
            "runs": [{"at": "2026-12-07T09:50:00.250Z", "status": "failed", "duration": 1.5}],
        })
    }

    #[test]
    fn a_valid_body_is_read_with_dates_in_appwrite_form_and_the_id_as_default_name() {
        let seed = parse(valid().to_string().as_bytes(), now()).unwrap();
        assert_eq!(
            seed,
            Seed {
                id: "late-poller".into(),
                name: "late-poller".into(),
                schedule: "* * * * *".into(),
                since: "2026-12-07T09:00:00.000+00:00".into(),
                runs: vec![Run {
                    at: "2026-12-07T09:50:00.250+00:00".into(),
                    completed: false,
                    duration: 1.5,
                }],
            }
        );
    }

    #[test]
    fn every_malformed_field_is_refused_with_400_naming_it() {
        let cases: [(&str, Value); 12] = [
            ("functionId", Value::Null),
            ("functionId", "-starts-with-hyphen".into()),
            ("name", 7.into()),
            ("schedule", "every minute".into()),
            ("schedule", "0 * * * * *".into()),
            ("since", "yesterday".into()),
            ("since", "2026-12-07T11:00:00Z".into()),
            ("runs", serde_json::json!({})),
            (
                "runs[0].at",
                serde_json::json!([{"at": "2026-12-07T08:00:00Z", "status": "completed", "duration": 1}]),
            ),
            (
                "runs[0].status",
                serde_json::json!([{"at": "2026-12-07T09:30:00Z", "status": "ok", "duration": 1}]),
            ),
            (
                "runs[0].duration",
                serde_json::json!([{"at": "2026-12-07T09:30:00Z", "status": "failed", "duration": -1}]),
            ),
            (
                "runs[0].trigger",
                serde_json::json!([{"at": "2026-12-07T09:30:00Z", "status": "failed", "duration": 1, "trigger": "http"}]),
            ),
        ];
        for (field, value) in cases {
            let mut body = valid();
            let key = field.split('[').next().unwrap();
            body[key] = value;
            let e = refused(body);
            assert_eq!(
                (e.code, e.kind),
                (400, "general_argument_invalid"),
                "{field}"
            );
            assert!(e.message.contains(field), "{field}: {}", e.message);
        }
        let mut body = valid();
        body["schedul"] = "* * * * *".into();
        assert!(refused(body).message.contains("`schedul`"));
        assert_eq!(parse(b"[]", now()).unwrap_err().code, 400);
    }
}
