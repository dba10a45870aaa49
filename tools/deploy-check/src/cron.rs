//! A validator for the five-field cron expressions Appwrite accepts as a function `schedule`
//! (minute hour day-of-month month day-of-week, plus the `@daily`-style macros), as its
//! `Cron()` validator (dragonmantank/cron-expression) does. It accepts the common syntax —
//! `*`, numbers, names, ranges, lists and steps — and rejects anything else, so a schedule that
//! passes here is one Appwrite takes.

/// `Ok` for a valid expression, else what is wrong with it.
pub fn validate(expr: &str) -> Result<(), String> {
    const MACROS: &[&str] = &[
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    let expr = expr.trim();
    if expr.starts_with('@') {
        return if MACROS.contains(&expr) {
            Ok(())
        } else {
            Err(format!("unknown macro `{expr}`"))
        };
    }
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "`{expr}` has {} fields; expected 5 (minute hour day-of-month month day-of-week)",
            fields.len()
        ));
    }
    const MONTHS: &[&str] = &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let specs: [(&str, u32, u32, &[&str], u32); 5] = [
        ("minute", 0, 59, &[], 0),
        ("hour", 0, 23, &[], 0),
        ("day-of-month", 1, 31, &[], 0),
        ("month", 1, 12, MONTHS, 1),
        ("day-of-week", 0, 7, DAYS, 0),
    ];
    for (field, (name, min, max, names, first)) in fields.iter().zip(specs) {
        for part in field.split(',') {
            check_part(part, min, max, names, first)
                .map_err(|e| format!("{name} field `{field}`: {e}"))?;
        }
    }
    Ok(())
}

/// One list element: `*`, `*/n`, `a`, `a-b`, `a-b/n` or `a/n`.
fn check_part(part: &str, min: u32, max: u32, names: &[&str], first: u32) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (part, None),
    };
    if let Some(step) = step {
        let n: u32 = step
            .parse()
            .map_err(|_| format!("step `{step}` is not a number"))?;
        if n == 0 || n > max {
            return Err(format!("step {n} is outside 1..={max}"));
        }
    }
    if range == "*" {
        return Ok(());
    }
    let value = |text: &str| -> Result<u32, String> {
        let upper = text.to_ascii_uppercase();
        let n = match names.iter().position(|n| *n == upper) {
            Some(i) => i as u32 + first,
            None => text
                .parse()
                .map_err(|_| format!("`{text}` is not a number"))?,
        };
        if n < min || n > max {
            return Err(format!("{n} is outside {min}..={max}"));
        }
        Ok(n)
    };
    match range.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(format!("range {a}-{b} runs backwards"));
            }
            Ok(())
        }
        None => value(range).map(|_| ()),
    }
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
            ("*/0 * * * *", "step 0"),
            ("5-1 * * * *", "backwards"),
            ("@often", "unknown macro"),
            ("a * * * *", "not a number"),
        ] {
            let err = validate(bad).expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
