//! Validates the five-field cron expressions Appwrite accepts as a function `schedule`
//! (minute hour day-of-month month day-of-week, plus the `@daily`-style macros), as its
//! `Cron()` validator (dragonmantank/cron-expression, day-of-week 0 and 7 both Sunday) does,
//! through the `croner` crate that `jobs-dev`'s scheduler also runs on: a schedule that passes
//! here is one Appwrite takes and one `jobs-dev` fires at the same minutes.

use croner::parser::{CronParser, Seconds};

const FIELDS: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];

fn parser() -> CronParser {
    CronParser::builder().seconds(Seconds::Disallowed).build()
}

/// `Ok` for a valid expression, else what is wrong with it, naming the field.
pub fn validate(expr: &str) -> Result<(), String> {
    let expr = expr.trim();
    if expr.starts_with('@') {
        return parser()
            .parse(expr)
            .map(|_| ())
            .map_err(|_| format!("unknown macro `{expr}`"));
    }
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "`{expr}` has {} fields; expected 5 (minute hour day-of-month month day-of-week)",
            fields.len()
        ));
    }
    // Each field alone (the others `*`), so the error names the field croner found wrong.
    for (i, (name, field)) in FIELDS.iter().zip(&fields).enumerate() {
        let mut alone = ["*"; 5];
        alone[i] = field;
        parser()
            .parse(&alone.join(" "))
            .map_err(|e| format!("{name} field `{field}`: {e}"))?;
    }
    parser()
        .parse(expr)
        .map(|_| ())
        .map_err(|e| format!("`{expr}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn common_schedules_are_accepted() {
        for ok in [
            "*/5 * * * *",
            "17 3 * * *",
            "0 0 1 JAN *",
            "0 9-17/2 * * MON-FRI",
            "0,30 * * * 0,7",
            "@daily",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn malformed_schedules_are_rejected_with_the_field_named() {
        for (bad, says) in [
            ("* * * *", "4 fields"),
            ("0 0 * * * *", "6 fields"),
            ("60 * * * *", "minute"),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day-of-month"),
            ("* * * 13 *", "month"),
            ("* * * * 8", "day-of-week"),
            ("*/0 * * * *", "minute"),
            ("5-1 * * * *", "minute"),
            ("@often", "unknown macro"),
            ("a * * * *", "minute"),
        ] {
            let err = validate(bad).expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
