//! Reading configuration variables, written once for every function, `jobs-dev` and the deploy:
//! values are trimmed (empty means unset), numbers are range-checked before anything converts
//! them (so no variable can reach an overflow or a panic), and every missing or invalid variable
//! is collected, so one deploy fixes them all. Values are never echoed for variables that may
//! hold secrets: callers name the variable, not its content.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::sync::Arc;

/// Where a function reads its variables: the process environment in production, a map in
/// tests. Shared by the platform and every configuration that is built from it.
pub type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// One unusable variable and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: String,
    pub reason: String,
}

/// Every unusable variable of a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// The names of the unusable variables.
    pub fn variables(&self) -> Vec<String> {
        self.problems.iter().map(|p| p.variable.clone()).collect()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid configuration: ")?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", p.variable, p.reason)?;
        }
        Ok(())
    }
}

type BorrowedLookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// A variable lookup (the environment, a function's variables, a test's map) that collects
/// problems as values are read; [`Vars::finish`] turns them into one [`ConfigError`].
pub struct Vars<'a> {
    lookup: BorrowedLookup<'a>,
    problems: Vec<Problem>,
}

impl<'a> Vars<'a> {
    pub fn new(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Vars {
            lookup: Box::new(lookup),
            problems: Vec::new(),
        }
    }

    /// The trimmed value; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A comma-separated list, blanks dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A value that must be set; `why` tells the operator what to put there.
    pub fn required(&mut self, name: &str, why: &str) -> String {
        self.get(name).unwrap_or_else(|| {
            self.problem(name, format!("is not set ({why})"));
            String::new()
        })
    }

    /// A whole number within `range`, or `default` when unset. Out of range or not a number is
    /// a problem (and the default is returned so reading can go on).
    pub fn number<T>(&mut self, name: &str, range: RangeInclusive<T>, default: T) -> T
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
    {
        self.optional_number(name, range).unwrap_or(default)
    }

    /// Like [`Vars::number`], `None` when unset.
    pub(crate) fn optional_number<T>(&mut self, name: &str, range: RangeInclusive<T>) -> Option<T>
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
    {
        let raw = self.get(name)?;
        match raw.parse::<T>() {
            Ok(v) if range.contains(&v) => Some(v),
            _ => {
                self.problem(
                    name,
                    format!(
                        "must be a whole number from {} to {}, got `{raw}`",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// A yes/no switch: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`.
    pub fn flag(&mut self, name: &str, default: bool) -> bool {
        match self.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => default,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(other) => {
                self.problem(name, format!("must be 0 or 1, got `{other}`"));
                default
            }
        }
    }

    /// Records a problem found by the caller's own check.
    pub fn problem(&mut self, name: &str, reason: impl Into<String>) {
        self.problems.push(Problem {
            variable: name.to_owned(),
            reason: reason.into(),
        });
    }

    /// `value` when every variable read was usable, else every problem at once.
    pub fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_problem_is_reported_at_once_with_the_variable_named() {
        let map = vars(&[("A", "x"), ("B", "99999999999999999999"), ("C", "maybe")]);
        let mut v = Vars::new(|k| map.get(k).cloned());
        v.number::<i64>("A", 1..=10, 5);
        v.number::<i64>("B", 1..=10, 5);
        v.flag("C", false);
        v.required("D", "the thing");
        let err = v.finish(()).unwrap_err();
        assert_eq!(err.variables(), ["A", "B", "C", "D"]);
        assert!(
            err.to_string().contains("D is not set (the thing)"),
            "{err}"
        );
    }

    #[test]
    fn blank_values_are_unset_and_lists_drop_blanks() {
        let map = vars(&[("N", "  "), ("L", " a, ,b ,")]);
        let mut v = Vars::new(|k| map.get(k).cloned());
        assert_eq!(v.number::<u32>("N", 1..=3, 2), 2);
        assert_eq!(v.list("L"), ["a", "b"]);
        assert!(v.finish(()).is_ok());
    }
}
