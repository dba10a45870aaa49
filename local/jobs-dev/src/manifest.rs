//! Reads what the dev server hosts from `appwrite.json`: each function's id, `execute`
//! permissions, CRON `schedule` and `timeout`, so local runs obey the deployed configuration.

use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FunctionSpec {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(default)]
    pub execute: Vec<String>,
    #[serde(default)]
    pub schedule: String,
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// The scopes of the key each execution gets (`crate::keys`).
    #[serde(default)]
    pub scopes: Vec<String>,
}

fn default_timeout() -> u64 {
    15
}

/// A table of `appwrite.json`: who may read its rows (the Realtime endpoint filters by it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TableSpec {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "databaseId", default)]
    pub database_id: String,
    #[serde(rename = "$permissions", default)]
    pub permissions: Vec<String>,
}

impl TableSpec {
    /// The roles of its `read("…")` permissions, e.g. `team:jobs-viewers`.
    pub fn read_roles(&self) -> Vec<String> {
        self.permissions
            .iter()
            .filter_map(|p| p.strip_prefix("read(\"")?.strip_suffix("\")"))
            .map(str::to_owned)
            .collect()
    }
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    functions: Vec<FunctionSpec>,
    #[serde(default)]
    tables: Vec<TableSpec>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid appwrite.json: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
}

pub fn load(path: &Path) -> Result<Vec<FunctionSpec>, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text).map_err(|source| ManifestError::Parse {
        path: path.display().to_string(),
        source,
    })
}

pub fn parse(text: &str) -> Result<Vec<FunctionSpec>, serde_json::Error> {
    Ok(serde_json::from_str::<Manifest>(text)?.functions)
}

/// The tables of the manifest at `path`.
pub fn load_tables(path: &Path) -> Result<Vec<TableSpec>, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str::<Manifest>(&text)
        .map(|m| m.tables)
        .map_err(|source| ManifestError::Parse {
            path: path.display().to_string(),
            source,
        })
}

/// A function's CRON, read as Appwrite reads it (five fields, day-of-week 0 and 7 both Sunday;
/// `tools/deploy-check` validates with the same crate). A sixth, leading seconds field is also
/// accepted here so tests need not wait for a minute boundary.
pub fn schedule(expr: &str) -> Result<croner::Cron, croner::errors::CronError> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .build()
        .parse(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_read_with_permissions_schedules_and_timeouts() {
        let specs = parse(
            r#"{"functions":[
                {"$id":"job-actions","execute":["team:ops"],"schedule":"","timeout":30},
                {"$id":"job-retention","execute":[],"schedule":"*/5 * * * *"}]}"#,
        )
        .unwrap();
        assert_eq!(specs[0].execute, vec!["team:ops"]);
        assert_eq!(specs[1].timeout, 15);
        assert_eq!(specs[1].schedule, "*/5 * * * *");
    }

    #[test]
    fn five_field_cron_expressions_fire_on_their_minutes() {
        let every_five = schedule("*/5 * * * *").unwrap();
        let after = chrono::DateTime::parse_from_rfc3339("2026-01-01T10:01:30Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let next = every_five.find_next_occurrence(&after, false).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-01-01T10:05:00+00:00");
    }

    #[test]
    fn day_of_week_zero_and_seven_are_sunday_as_in_appwrite() {
        // 2026-11-30 is a Monday; the next Sunday is 2026-12-06.
        let monday = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        for expr in ["0 9 * * 0", "0 9 * * 7", "0 9 * * SUN"] {
            let next = schedule(expr)
                .unwrap()
                .find_next_occurrence(&monday, false)
                .unwrap();
            assert_eq!(next.to_rfc3339(), "2026-12-06T09:00:00+00:00", "{expr}");
        }
    }

    #[test]
    fn a_malformed_schedule_is_an_error() {
        assert!(schedule("every five minutes").is_err());
    }
}
