//! A port of how Appwrite CLI 12.0.1 decides what `push tables` changes on a table that exists:
//! `lib/commands/push.js` `attributesToCreate`, `checkAttributeChanges`, `compareAttribute`,
//! `isEmpty`, `isEqual`, with the keys of `lib/config.js` `KeysAttributes` and `changeableKeys`
//! (docs/appwrite-notes.md § Deployment and the CLI). Run against the columns and indexes the server answers, it
//! shows offline what the next push would propose: nothing, if `appwrite.json` is written the way
//! the server answers.

use serde_json::Value;

/// `lib/config.js` `KeysAttributes` (12.0.1): the only remote keys the CLI compares, for columns
/// and indexes alike (an index's `columns` is not among them, so changing only the columns of an
/// index goes unnoticed by the CLI).
const KEYS_ATTRIBUTES: &[&str] = &[
    "key",
    "type",
    "required",
    "array",
    "size",
    "default",
    "min",
    "max",
    "format",
    "elements",
    "relatedCollection",
    "relationType",
    "twoWay",
    "twoWayKey",
    "onDelete",
    "side",
    "attributes",
    "orders",
    "encrypt",
];

/// `push.js` `changeableKeys`: a difference in any other compared key means delete and recreate.
const CHANGEABLE_KEYS: &[&str] = &[
    "status", "required", "xdefault", "elements", "min", "max", "default", "error",
];

/// `lib/config.js` `KeysTable` (12.0.1): the table keys `approveChanges` compares.
pub const KEYS_TABLE: &[&str] = &[
    "$id",
    "$permissions",
    "databaseId",
    "name",
    "enabled",
    "rowSecurity",
    "columns",
    "indexes",
];

/// `approveChanges(resource, get, keys, …, skipKeys)`: the keys of `remote` (whitelisted by
/// `keys`, minus `skip`) whose value differs from `local`'s, as `key: remote -> local`. Arrays
/// compare by their JSON text, everything else with `!==`. Any difference makes the CLI ask.
pub fn resource_changes(
    remote: &Value,
    local: &Value,
    keys: &[&str],
    skip: &[&str],
) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in remote.as_object().into_iter().flatten() {
        if !keys.contains(&key.as_str()) || skip.contains(&key.as_str()) {
            continue;
        }
        let local_value = local.get(key);
        if is_empty(Some(value)) && is_empty(local_value) {
            continue;
        }
        let differs = match (value, local_value) {
            (Value::Array(_), Some(Value::Array(_))) => Some(value) != local_value,
            // `!==`: objects and arrays are never identical to anything.
            (Value::Object(_) | Value::Array(_), _) => true,
            _ => Some(value) != local_value,
        };
        if differs {
            out.push(format!(
                "{key}: {value} -> {}",
                local_value.unwrap_or(&Value::Null)
            ));
        }
    }
    out
}

/// `checkAndApplyTablesDBChanges`: every remote database missing locally is `deleting`, every
/// local one missing remotely `creating`, and a different `name` or `enabled` `updating`; one
/// question covers them all.
pub fn databases_changes(remote: &[Value], local: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for r in remote {
        if !local.iter().any(|l| l["$id"] == r["$id"]) {
            out.push(format!("deleting database {}", r["$id"]));
        }
    }
    for l in local {
        match remote.iter().find(|r| r["$id"] == l["$id"]) {
            None => out.push(format!("creating database {}", l["$id"])),
            Some(r) => {
                for key in ["name", "enabled"] {
                    if r[key] != l[key] {
                        out.push(format!(
                            "updating database {} {key}: {} -> {}",
                            l["$id"], r[key], l[key]
                        ));
                    }
                }
            }
        }
    }
    out
}

/// What the CLI would do to one column or index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Remote only: `deleting` (its data is lost).
    Deleting,
    /// Local only: `adding`.
    Adding,
    /// A non-changeable key differs: `recreating` (delete, then create: its data is lost).
    Recreating,
    /// Only changeable keys differ: `changing` (an update call).
    Changing,
}

/// One line of the table the CLI draws before asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub key: String,
    pub action: Action,
    /// `"<key> changed from <remote> to <local>"`, one per line, as the CLI words it.
    pub reason: String,
}

/// `attributesToCreate(remote, local)`: every change the CLI lists for one table's columns (or
/// indexes), in its order: deletions, additions, recreations, then changes not already listed
/// as recreations.
pub fn changes(remote: &[Value], local: &[Value]) -> Vec<Change> {
    let find = |list: &[Value], key: &Value| list.iter().find(|a| a["key"] == *key).cloned();
    let key_of = |a: &Value| a["key"].as_str().unwrap_or_default().to_owned();
    let mut out: Vec<Change> = remote
        .iter()
        .filter(|r| find(local, &r["key"]).is_none())
        .map(|r| Change {
            key: key_of(r),
            action: Action::Deleting,
            reason: "Field isn't present on the appwrite.config.json file".into(),
        })
        .collect();
    out.extend(
        local
            .iter()
            .filter(|l| find(remote, &l["key"]).is_none())
            .map(|l| Change {
                key: key_of(l),
                action: Action::Adding,
                reason: "Field isn't present on the remote server".into(),
            }),
    );
    let recreating: Vec<Change> = remote
        .iter()
        .filter_map(|r| check(r, &find(local, &r["key"])?, true))
        .collect();
    let changing: Vec<Change> = remote
        .iter()
        .filter_map(|r| check(r, &find(local, &r["key"])?, false))
        .filter(|c| !recreating.iter().any(|r| r.key == c.key))
        .collect();
    out.extend(recreating);
    out.extend(changing);
    out
}

/// `checkAttributeChanges(remote, local, collection, recreating)`: iterates the *remote* keys.
fn check(remote: &Value, local: &Value, recreating: bool) -> Option<Change> {
    let mut reason = String::new();
    for (key, remote_value) in remote.as_object()? {
        if !KEYS_ATTRIBUTES.contains(&key.as_str()) {
            continue;
        }
        let changeable = CHANGEABLE_KEYS.contains(&key.as_str());
        if changeable == recreating {
            continue;
        }
        compare(remote_value, local.get(key), key, &mut reason);
    }
    (!reason.is_empty()).then(|| Change {
        key: remote["key"].as_str().unwrap_or_default().to_owned(),
        action: if recreating {
            Action::Recreating
        } else {
            Action::Changing
        },
        reason,
    })
}

/// `compareAttribute`: both empty is no change; arrays by their JSON text; otherwise `isEqual`.
fn compare(remote: &Value, local: Option<&Value>, key: &str, reason: &mut String) {
    let local_or_null = local.unwrap_or(&Value::Null);
    if is_empty(Some(remote)) && is_empty(local) {
        return;
    }
    let differs = match (remote, local_or_null) {
        // `JSON.stringify(remote) !== JSON.stringify(local)`: for arrays of strings (elements,
        // orders) the same as comparing the values.
        (Value::Array(_), Value::Array(_)) => remote != local_or_null,
        _ => !is_equal(remote, local),
    };
    if differs {
        if !reason.is_empty() {
            reason.push('\n');
        }
        let shown = |v: Option<&Value>| match v {
            None => "undefined".to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        reason.push_str(&format!(
            "{key} changed from {} to {}",
            shown(Some(remote)),
            shown(local)
        ));
    }
}

/// `isEmpty`: null, undefined, a blank string or an empty array (not `false`, not `0`).
fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

/// `isEqual`: `===`, or two numbers closer than `Number.EPSILON`; objects never equal.
fn is_equal(remote: &Value, local: Option<&Value>) -> bool {
    let Some(local) = local else { return false };
    match (remote, local) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x == y || (x - y).abs() < f64::EPSILON,
            _ => false,
        },
        (Value::Object(_), _) | (Value::Array(_), _) => false,
        _ => remote == local,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_missing_encrypt_against_the_servers_false_is_a_recreation() {
        let remote = json!({"key": "referenceId", "type": "string", "status": "available",
            "error": "", "required": true, "array": false, "size": 255, "default": null,
            "encrypt": false});
        let local = json!({"key": "referenceId", "type": "string", "required": true,
            "array": false, "size": 255});
        let found = changes(std::slice::from_ref(&remote), std::slice::from_ref(&local));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].action, Action::Recreating);
        assert_eq!(found[0].reason, "encrypt changed from false to undefined");
        let mut written = local;
        written["encrypt"] = json!(false);
        assert_eq!(changes(&[remote], &[written]), []);
    }

    #[test]
    fn an_empty_remote_format_against_datetime_is_a_recreation_but_a_default_only_a_change() {
        let remote = json!({"key": "startedAt", "type": "datetime", "required": false,
            "array": false, "format": "", "default": null});
        let local = json!({"key": "startedAt", "type": "datetime", "required": false,
            "array": false, "format": "datetime", "default": null});
        assert_eq!(
            changes(std::slice::from_ref(&remote), &[local])[0].action,
            Action::Recreating
        );
        let local = json!({"key": "startedAt", "type": "datetime", "required": false,
            "array": false, "format": "", "default": "2026-01-01T00:00:00.000+00:00"});
        assert_eq!(changes(&[remote], &[local])[0].action, Action::Changing);
    }

    #[test]
    fn columns_only_on_one_side_are_deleted_or_added() {
        let a = json!({"key": "a", "type": "boolean"});
        let b = json!({"key": "b", "type": "boolean"});
        let found = changes(&[a], &[b]);
        let actions: Vec<_> = found.iter().map(|c| (c.key.as_str(), &c.action)).collect();
        assert_eq!(actions, [("a", &Action::Deleting), ("b", &Action::Adding)]);
    }
}
