//! The role agreement between `deploy.json` and `appwrite.json`: the roles job-actions grants
//! are the roles Appwrite's gate lets execute it and the roles the tables let read, each a team
//! id or label Appwrite accepts ([`appwrite_rules`]).

use std::collections::BTreeSet;

use super::{appwrite_rules, str_of, strings, Problems};
use crate::config::{AppwriteConfig, Variables};

/// Roles that work through Appwrite's gate: the roles job-actions grants from its variables
/// (`team:<id>` per `JOBS_*_TEAMS` entry, `label:<name>` per `JOBS_*_LABELS` entry) must be
/// exactly the roles its `execute` lists (Appwrite refuses anyone else before the function
/// runs: `src/Appwrite/Platform/Modules/Functions/Http/Executions/Create.php`), and each must
/// be allowed to read every table (the dashboard's Realtime subscription reads rows directly).
pub fn roles(config: &AppwriteConfig, variables: &Variables) -> Vec<String> {
    let mut v = Problems::default();
    for function in variables.keys() {
        let declared = config
            .entries("functions")
            .iter()
            .any(|f| str_of(f, "$id") == function);
        if !declared {
            v.push(format!(
                "deploy.json: variables for `{function}`, which appwrite.json does not declare"
            ));
        }
    }
    let granted = granted(variables, &mut v);
    if granted.is_empty() {
        v.push(
            "deploy.json: job-actions grants no role (set JOBS_*_TEAMS or JOBS_*_LABELS)".into(),
        );
    }
    let execute: BTreeSet<String> = config
        .entries("functions")
        .iter()
        .find(|f| str_of(f, "$id") == "job-actions")
        .and_then(|f| strings(f, "execute"))
        .unwrap_or_default()
        .into_iter()
        .collect();
    for role in granted.difference(&execute) {
        v.push(format!("job-actions: its variables grant `{role}`, but `execute` does not list it, so Appwrite refuses those users before job-actions runs"));
    }
    for role in execute.difference(&granted) {
        v.push(format!("job-actions: `execute` lets `{role}` in, but no JOBS_*_TEAMS / JOBS_*_LABELS variable grants it a role (every call would be 403)"));
    }
    for table in config.entries("tables") {
        let perms: BTreeSet<String> = strings(table, "$permissions")
            .unwrap_or_default()
            .into_iter()
            .collect();
        for role in &granted {
            if !perms.contains(&format!("read(\"{role}\")")) {
                v.push(format!("table `{}`: `{role}` may use job-actions but cannot read the table (the dashboard's live updates need `read(\"{role}\")`)", str_of(table, "$id")));
            }
        }
        for p in &perms {
            let role = p.trim_start_matches("read(\"").trim_end_matches("\")");
            if !granted.contains(role) {
                v.push(format!(
                    "table `{}`: `{p}` lets `{role}` read jobs, but job-actions grants it no role",
                    str_of(table, "$id")
                ));
            }
        }
    }
    v.0
}

/// The roles job-actions' variables grant (`team:<id>`, `label:<name>`), each one Appwrite
/// accepts.
fn granted(variables: &Variables, v: &mut Problems) -> BTreeSet<String> {
    let vars = variables.get("job-actions").cloned().unwrap_or_default();
    let mut granted = BTreeSet::new();
    for (name, prefix) in [
        ("JOBS_OPERATOR_TEAMS", "team:"),
        ("JOBS_VIEWER_TEAMS", "team:"),
        ("JOBS_OPERATOR_LABELS", "label:"),
        ("JOBS_VIEWER_LABELS", "label:"),
    ] {
        for item in vars
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
            .split(',')
        {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            granted.insert(format!("{prefix}{item}"));
            // A label Appwrite cannot store can never be a user's, and `label:<it>` in `execute`
            // or a table permission fails `push` (appwrite-notes: Ids, labels and roles).
            if prefix == "label:" && !appwrite_rules::is_label(item) {
                v.push(format!(
                    "deploy.json: job-actions {name}: `{item}` is not a label Appwrite accepts: {} (`PUT /v1/users/{{id}}/labels` refuses it, `push` refuses `label:{item}`); use letters and digits only, e.g. `{}`",
                    appwrite_rules::LABEL_RULE,
                    item.replace(|c: char| !c.is_ascii_alphanumeric(), "")
                ));
            }
            if prefix == "team:" && !appwrite_rules::is_key(item) {
                v.push(format!(
                    "deploy.json: job-actions {name}: `{item}` is not a team id Appwrite accepts: {}",
                    appwrite_rules::KEY_RULE
                ));
            }
        }
    }
    granted
}
