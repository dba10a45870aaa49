//! Appwrite's rules for ids, labels, roles and permission strings, ported so the validator
//! refuses offline what Appwrite would refuse at `push` (docs/appwrite-notes.md § Ids, labels
//! and roles). Each rule and message is the one of utopia-php/database 6.0.0, the version
//! Appwrite 1.9.6 locks (`composer.lock`):
//! - `src/Database/Validator/Key.php`: custom ids (`CustomId`, `UID`), column and index keys,
//!   and the identifier of every role but `label`;
//! - `src/Database/Validator/Label.php`: the identifier of a `label:` role;
//! - `src/Database/Validator/Roles.php` (`execute`), `Permissions.php` (`$permissions`) and
//!   `src/Database/Helpers/Role.php` / `Permission.php` (`parse`).
//!
//! Appwrite answers a refused parameter 400 `general_argument_invalid` with
//! ``Invalid `<param>` param: <description>`` (utopia-php/http 2.0.0-rc9 `src/Http/Http.php`,
//! Appwrite 1.9.6 `app/controllers/general.php`).

/// `Database::MAX_UID_DEFAULT_LENGTH`, and the MariaDB adapter's `getMaxUIDLength()`.
pub const MAX_ID_CHARS: usize = 36;

/// `Key::getDescription()` (also what `CustomId` answers): custom ids, column and index keys,
/// team and user ids in roles.
pub const KEY_RULE: &str = "Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can't start with a special char";

/// `Label::getDescription()`: the identifier of a `label:` role.
pub const LABEL_RULE: &str =
    "Value must be a valid string between 1 and 36 chars containing only alphanumeric chars";

/// The role names `Roles::ROLES` allows, in its order (its messages list them so).
const ROLES: &[&str] = &["any", "guests", "users", "user", "team", "member", "label"];
/// `Database::PERMISSIONS` plus `write`, in the order `Permissions`' message lists them.
const PERMISSIONS: &[&str] = &["create", "read", "update", "delete", "write"];
/// `Roles::USER_DIMENSIONS`.
const USER_DIMENSIONS: &[&str] = &["verified", "unverified"];

/// `Key::isValid` (no internal `$` keys): 1 to 36 chars of `A-Za-z0-9_.-`, not starting with
/// `_`, `.` or `-`.
pub fn is_key(value: &str) -> bool {
    key_of_length(value, MAX_ID_CHARS)
}

fn key_of_length(value: &str, max: usize) -> bool {
    !value.is_empty()
        && !value.starts_with(['_', '.', '-', '$'])
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && value.chars().count() <= max
}

/// `CustomId::isValid`: a key, or `unique()` (Appwrite then generates the id).
pub fn is_custom_id(value: &str) -> bool {
    value == "unique()" || is_key(value)
}

/// `Label::isValid`: a key made of `A-Za-z0-9` only, so 1 to 36 alphanumeric chars.
pub fn is_label(value: &str) -> bool {
    is_key(value) && value.chars().all(|c| c.is_ascii_alphanumeric())
}

/// PHP's `empty()` on a string: `""` and `"0"`.
fn php_empty(s: &str) -> bool {
    s.is_empty() || s == "0"
}

/// What `Roles::isValid` answers for one `execute` role, or `None` when Appwrite accepts it.
pub fn role_error(role: &str) -> Option<String> {
    if role == "*" {
        return Some(r#"Wildcard role "*" has been replaced. Use "any" instead."#.into());
    }
    if role.contains("role:") {
        return Some(r#"Roles using the "role:" prefix have been removed. Use "users", "guests", or "any" instead."#.into());
    }
    if !ROLES.iter().any(|r| role.starts_with(r)) {
        return Some(format!(
            r#"Role "{role}" is not allowed. Must be one of: {}."#,
            ROLES.join(", ")
        ));
    }
    match parse_role(role) {
        Ok((name, identifier, dimension)) => role_parts_error(&name, &identifier, &dimension),
        Err(e) => Some(e),
    }
}

/// What `Permissions::isValid` answers for one `$permissions` entry (e.g. `read("team:x")`),
/// or `None` when Appwrite accepts it.
pub fn permission_error(permission: &str) -> Option<String> {
    if permission == "*" {
        return Some(r#"Wildcard permission "*" has been replaced. Use "any" instead."#.into());
    }
    if permission.contains("role:") {
        return Some(r#"Permissions using the "role:" prefix have been replaced. Use "users", "guests", or "any" instead."#.into());
    }
    if !PERMISSIONS.iter().any(|p| permission.starts_with(p)) {
        return Some(format!(
            r#"Permission "{permission}" is not allowed. Must be one of: {}."#,
            PERMISSIONS.join(", ")
        ));
    }
    // `Permission::parse`.
    let parts: Vec<&str> = permission.split("(\"").collect();
    if parts.len() != 2 {
        return Some(format!(
            r#"Invalid permission string format: "{permission}"."#
        ));
    }
    if !PERMISSIONS.contains(&parts[0]) {
        return Some(format!(r#"Invalid permission type: "{}"."#, parts[0]));
    }
    let role = parts[1].replace("\")", "");
    match parse_role(&role) {
        Ok((name, identifier, dimension)) => role_parts_error(&name, &identifier, &dimension),
        Err(e) => Some(e),
    }
}

/// `Role::parse`: `name[:identifier][/dimension]`.
fn parse_role(role: &str) -> Result<(String, String, String), String> {
    let parts: Vec<&str> = role.split(':').collect();
    let has_identifier = parts.len() > 1;
    let has_dimension = role.contains('/');
    let name = parts[0];
    let split_dimension = |s: &str| -> Result<(String, String), String> {
        let d: Vec<&str> = s.split('/').collect();
        if d.len() != 2 {
            return Err("Only one dimension can be provided".into());
        }
        if php_empty(d[1]) {
            return Err("Dimension must not be empty".into());
        }
        Ok((d[0].to_owned(), d[1].to_owned()))
    };
    match (has_identifier, has_dimension) {
        (false, false) => Ok((name.to_owned(), String::new(), String::new())),
        (true, false) => Ok((name.to_owned(), parts[1].to_owned(), String::new())),
        (false, true) => {
            let (name, dimension) = split_dimension(role)?;
            Ok((name, String::new(), dimension))
        }
        (true, true) => {
            let (identifier, dimension) = split_dimension(parts[1])?;
            Ok((name.to_owned(), identifier, dimension))
        }
    }
}

/// `Roles::isValidRole`.
fn role_parts_error(name: &str, identifier: &str, dimension: &str) -> Option<String> {
    // (identifier allowed, identifier required, dimension allowed, dimension options)
    let (id_allowed, id_required, dim_allowed, options): (bool, bool, bool, Option<&[&str]>) =
        match name {
            "any" | "guests" => (false, false, false, None),
            "users" => (false, false, true, Some(USER_DIMENSIONS)),
            "user" => (true, true, true, Some(USER_DIMENSIONS)),
            "team" => (true, true, true, None),
            "member" | "label" => (true, true, false, None),
            _ => {
                return Some(format!(
                    r#"Role "{name}" is not allowed. Must be one of: {}."#,
                    ROLES.join(", ")
                ))
            }
        };
    if !id_allowed && !php_empty(identifier) {
        return Some(format!(r#"Role "{name}" can not have an ID value."#));
    }
    if id_allowed && id_required && php_empty(identifier) {
        return Some(format!(r#"Role "{name}" must have an ID value."#));
    }
    if id_allowed && !php_empty(identifier) {
        let (valid, rule) = if name == "label" {
            (is_label(identifier), LABEL_RULE)
        } else {
            (is_key(identifier), KEY_RULE)
        };
        if !valid {
            return Some(format!(
                r#"Role "{name}" identifier value is invalid: {rule}"#
            ));
        }
    }
    if !dim_allowed && !php_empty(dimension) {
        return Some(format!(r#"Role "{name}" can not have a dimension value."#));
    }
    if dim_allowed && !php_empty(dimension) {
        if let Some(options) = options {
            if !options.contains(&dimension) {
                return Some(format!(
                    r#"Role "{name}" dimension value is invalid. Must be one of: {}."#,
                    options.join(", ")
                ));
            }
        }
        if !key_of_length(dimension, 81) {
            return Some(format!(
                r#"Role "{name}" dimension value is invalid: Parameter must contain at most 81 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can't start with a special char"#
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_alphanumeric_and_at_most_36_chars() {
        assert!(is_label("jobsoperator"));
        assert!(is_label("JobsViewer2"));
        assert!(is_label(&"a".repeat(36)));
        for bad in [
            "",
            "jobs-operator",
            "jobs_operator",
            "jobs.viewer",
            "a b",
            "é",
        ] {
            assert!(!is_label(bad), "{bad:?}");
        }
        assert!(!is_label(&"a".repeat(37)));
    }

    #[test]
    fn keys_allow_period_hyphen_underscore_but_not_first() {
        assert!(is_key("jobs-operators"));
        assert!(is_key("job_events"));
        assert!(is_key("a.b-c_d"));
        for bad in [
            "",
            "-jobs",
            "_jobs",
            ".jobs",
            "$id",
            "jobs operators",
            "jobs:x",
        ] {
            assert!(!is_key(bad), "{bad:?}");
        }
        assert!(!is_key(&"a".repeat(37)));
        assert!(is_custom_id("unique()"));
    }

    #[test]
    fn roles_and_permissions_answer_appwrites_messages() {
        let label = format!(r#"Role "label" identifier value is invalid: {LABEL_RULE}"#);
        assert_eq!(role_error("label:jobs-operator"), Some(label.clone()));
        assert_eq!(
            permission_error(r#"read("label:jobs-operator")"#),
            Some(label)
        );
        for ok in [
            "any",
            "users",
            "users/verified",
            "user:u1",
            "team:jobs-operators",
            "team:jobs-operators/owner",
            "member:m1",
            "label:jobsoperator",
        ] {
            assert_eq!(role_error(ok), None, "{ok}");
            assert_eq!(permission_error(&format!("read(\"{ok}\")")), None, "{ok}");
        }
        assert_eq!(
            role_error("team:-ops"),
            Some(format!(
                r#"Role "team" identifier value is invalid: {KEY_RULE}"#
            ))
        );
        assert_eq!(
            role_error("label:"),
            Some(r#"Role "label" must have an ID value."#.into())
        );
        assert_eq!(
            role_error("label:ops/x"),
            Some(r#"Role "label" can not have a dimension value."#.into())
        );
        assert!(role_error("admins").unwrap().contains("is not allowed"));
        // `Permission::parse` drops only a closing `")`: the quote stays in the label.
        assert_eq!(
            permission_error(r#"read("label:ops""#),
            Some(format!(
                r#"Role "label" identifier value is invalid: {LABEL_RULE}"#
            ))
        );
        assert!(permission_error("read(label:ops)")
            .unwrap()
            .contains("Invalid permission string format"));
        assert!(permission_error(r#"execute("any")"#)
            .unwrap()
            .contains("is not allowed"));
    }
}
