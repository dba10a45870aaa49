//! Appwrite's own refusals of `appwrite.json`: every team, database, function, table, column
//! and index id, every `execute` role and every table permission checked by Appwrite's rules
//! ([`appwrite_rules`](super::appwrite_rules)), so what `push` would refuse is reported
//! offline, quoting Appwrite's answer.

use super::appwrite_rules::{is_custom_id, is_key, permission_error, role_error, KEY_RULE};
use super::{str_of, strings, Problems};
use crate::config::AppwriteConfig;

/// Everything of the file Appwrite 1.9.6 would refuse at `push` by its id and role rules,
/// quoting the answer it gives (400 `general_argument_invalid`).
pub(super) fn check(config: &AppwriteConfig, v: &mut Problems) {
    let id = |v: &mut Problems, at: &str, param: &str, value: &str, valid: bool| {
        if !valid {
            v.push(format!(
                "{at}: Appwrite refuses the id `{value}`: Invalid `{param}` param: {KEY_RULE}"
            ));
        }
    };
    for (list, kind, param) in [
        ("teams", "team", "teamId"),
        ("tablesDB", "database", "databaseId"),
    ] {
        for entry in config.entries(list) {
            let eid = str_of(entry, "$id");
            id(v, &format!("{kind} `{eid}`"), param, eid, is_custom_id(eid));
        }
    }
    for f in config.entries("functions") {
        let fid = str_of(f, "$id");
        let at = format!("function `{fid}`");
        id(v, &at, "functionId", fid, is_custom_id(fid));
        for role in strings(f, "execute").unwrap_or_default() {
            if let Some(why) = role_error(&role) {
                v.push(format!(
                    "{at}: Appwrite refuses the execute role `{role}`: Invalid `execute` param: {why}"
                ));
            }
        }
    }
    for table in config.entries("tables") {
        let tid = str_of(table, "$id");
        let at = format!("table `{tid}`");
        id(v, &at, "tableId", tid, is_custom_id(tid));
        for p in strings(table, "$permissions").unwrap_or_default() {
            if let Some(why) = permission_error(&p) {
                v.push(format!(
                    "{at}: Appwrite refuses the permission `{p}`: Invalid `permissions` param: {why}"
                ));
            }
        }
        for (kind, list) in [("column", "columns"), ("index", "indexes")] {
            for item in table[list].as_array().cloned().unwrap_or_default() {
                let key = str_of(&item, "key");
                id(v, &format!("{at} {kind} `{key}`"), "key", key, is_key(key));
            }
        }
    }
}
