//! The validator on the committed appwrite.json (after packaging into a temporary `dist/`),
//! and on broken copies of it: each defect is reported, naming what is wrong.

use std::path::Path;

use deploy_check::config::AppwriteConfig;
use deploy_check::{function_crates, package, repo_root, validate};
use serde_json::{json, Value};

fn committed() -> AppwriteConfig {
    AppwriteConfig::load(&repo_root().join("appwrite.json")).unwrap()
}

/// Packages every function under `base/dist`, as scripts/package does under the repository.
fn packaged() -> tempfile::TempDir {
    let base = tempfile::tempdir().unwrap();
    package::package_all(&repo_root(), &base.path().join("dist")).unwrap();
    base
}

fn problems(config: &AppwriteConfig, base: &Path) -> Vec<String> {
    validate::validate(config, base, &function_crates(&repo_root()).unwrap())
}

/// The problems of the committed file after `edit`, which must include one containing `says`.
fn assert_reported(base: &Path, edit: impl FnOnce(&mut Value), says: &str) {
    let mut config = committed();
    edit(&mut config.json);
    let found = problems(&config, base);
    assert!(
        found.iter().any(|p| p.contains(says)),
        "expected a problem containing {says:?}, got {found:#?}"
    );
}

fn table<'a>(json: &'a mut Value, id: &str) -> &'a mut Value {
    json["tables"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|t| t["$id"] == id)
        .unwrap()
}

fn column<'a>(json: &'a mut Value, table_id: &str, key: &str) -> &'a mut Value {
    table(json, table_id)["columns"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["key"] == key)
        .unwrap()
}

fn function<'a>(json: &'a mut Value, id: &str) -> &'a mut Value {
    json["functions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["$id"] == id)
        .unwrap()
}

#[test]
fn the_committed_appwrite_json_is_valid_once_packaged() {
    let base = packaged();
    assert_eq!(problems(&committed(), base.path()), Vec::<String>::new());
}

#[test]
fn function_paths_must_hold_a_packaged_bundle() {
    let empty = tempfile::tempdir().unwrap();
    let found = problems(&committed(), empty.path());
    assert!(
        found
            .iter()
            .any(|p| p.contains("job-actions") && p.contains("run scripts/package")),
        "{found:#?}"
    );
}

#[test]
fn keys_the_cli_does_not_understand_are_reported() {
    let base = packaged();
    assert_reported(
        base.path(),
        |j| j["collectionz"] = json!([]),
        "`collectionz`",
    );
    assert_reported(
        base.path(),
        |j| function(j, "job-actions")["entry"] = json!("main.rs"),
        "`entry`",
    );
    // A longer timeout would let a write commit after the polling delta stopped reaching back.
    assert_reported(
        base.path(),
        |j| function(j, "job-retention")["timeout"] = json!(600),
        "the polling delta's reach",
    );
    assert_reported(
        base.path(),
        |j| column(j, "jobs", "status")["values"] = json!([]),
        "`values`",
    );
}

#[test]
fn a_model_field_without_column_and_a_column_without_field_are_reported() {
    let base = packaged();
    assert_reported(
        base.path(),
        |j| {
            table(j, "jobs")["columns"]
                .as_array_mut()
                .unwrap()
                .retain(|c| c["key"] != "heartbeatAt")
        },
        "model field `heartbeatAt` has no column",
    );
    assert_reported(
        base.path(),
        |j| {
            table(j, "job_events")["columns"].as_array_mut().unwrap().push(json!({"key": "extra", "type": "string", "required": false, "array": false, "size": 10}))
        },
        "column `extra` matches no model field",
    );
}

#[test]
fn column_types_bounds_and_required_flags_follow_the_model() {
    let base = packaged();
    assert_reported(
        base.path(),
        |j| column(j, "jobs", "startedAt")["type"] = json!("string"),
        "`startedAt`: must be a datetime",
    );
    assert_reported(
        base.path(),
        |j| column(j, "jobs", "progress")["max"] = json!(1000),
        "`progress`: must be an integer with min 0 and max 100",
    );
    assert_reported(
        base.path(),
        |j| column(j, "jobs", "referenceId")["size"] = json!(64),
        "size must be at least 255",
    );
    assert_reported(
        base.path(),
        |j| column(j, "jobs", "metadata")["size"] = json!(16000),
        "wrapped JSON",
    );
    assert_reported(
        base.path(),
        |j| column(j, "jobs", "completedAt")["required"] = json!(true),
        "`required` must be false",
    );
    assert_reported(
        base.path(),
        |j| column(j, "jobs", "rev")["required"] = json!(false),
        "`required` must be true",
    );
    assert_reported(
        base.path(),
        |j| {
            column(j, "jobs", "status")["elements"]
                .as_array_mut()
                .unwrap()
                .pop();
        },
        "enum elements must be",
    );
    assert_reported(
        base.path(),
        |j| column(j, "job_events", "jobRev")["type"] = json!("double"),
        "`jobRev`: must be an integer",
    );
    assert_reported(
        base.path(),
        |j| column(j, "jobs", "pendingLog")["size"] = json!(16000),
        "`pendingLog`: size must be at least",
    );
    assert_reported(
        base.path(),
        |j| column(j, "jobs", "pendingLog")["required"] = json!(true),
        "`pendingLog`: `required` must be false",
    );
}

#[test]
fn indexes_must_name_existing_columns() {
    let base = packaged();
    assert_reported(
        base.path(),
        |j| table(j, "jobs")["indexes"][0]["columns"] = json!(["finishedAt"]),
        "column `finishedAt` does not exist",
    );
    assert_reported(
        base.path(),
        |j| table(j, "jobs")["indexes"][0]["type"] = json!("btree"),
        "type must be key, unique, fulltext or spatial",
    );
}

#[test]
fn the_observer_is_executable_by_anyone_and_nothing_else() {
    let base = packaged();
    for execute in [
        json!([]),
        json!(["team:jobs-operators"]),
        json!(["any", "users"]),
    ] {
        assert_reported(
            base.path(),
            |j| function(j, "job-observer")["execute"] = execute.clone(),
            "must be [\"any\"]",
        );
    }
}

#[test]
fn hooks_and_retention_are_server_only_and_the_action_api_is_team_only() {
    let base = packaged();
    assert_reported(
        base.path(),
        |j| function(j, "hook-sqs-poll")["execute"] = json!(["any"]),
        "must be [] (API keys only)",
    );
    assert_reported(
        base.path(),
        |j| function(j, "job-retention")["execute"] = json!(["users"]),
        "must be [] (API keys only)",
    );
    assert_reported(
        base.path(),
        |j| function(j, "job-actions")["execute"] = json!(["any"]),
        "is not a team or a label",
    );
    assert_reported(
        base.path(),
        |j| function(j, "job-actions")["execute"] = json!(["team:ops"]),
        "not declared in `teams`",
    );
}

#[test]
fn scopes_runtime_commands_and_schedules_are_checked() {
    let base = packaged();
    assert_reported(
        base.path(),
        |j| {
            function(j, "hook-bulk-verify")["scopes"] =
                json!(["rows.read", "rows.write", "users.write"])
        },
        "least privilege",
    );
    assert_reported(
        base.path(),
        |j| function(j, "job-actions")["runtime"] = json!("rust-1.85"),
        "`runtime` must be \"rust-1.83\"",
    );
    assert_reported(
        base.path(),
        |j| function(j, "job-actions")["commands"] = json!("cargo install"),
        "`commands` must be \"\"",
    );
    assert_reported(
        base.path(),
        |j| function(j, "job-retention")["schedule"] = json!("*/5 * * *"),
        "4 fields",
    );
    assert_reported(
        base.path(),
        |j| function(j, "hook-campaign-run")["schedule"] = json!("0 * * * *"),
        "only job-retention runs on a schedule",
    );
}

#[test]
fn tables_grant_reads_to_declared_teams_and_writes_to_nobody() {
    let base = packaged();
    assert_reported(
        base.path(),
        |j| {
            table(j, "jobs")["$permissions"]
                .as_array_mut()
                .unwrap()
                .push(json!("update(\"team:jobs-operators\")"))
        },
        "only functions (API keys) write",
    );
    assert_reported(
        base.path(),
        |j| j["teams"] = json!([]),
        "not declared in `teams`",
    );
}

#[test]
fn every_function_crate_has_an_entry() {
    let base = packaged();
    assert_reported(
        base.path(),
        |j| {
            j["functions"]
                .as_array_mut()
                .unwrap()
                .retain(|f| f["$id"] != "hook-metrics-fetch")
        },
        "function crate `hook-metrics-fetch` has no entry",
    );
}

#[test]
fn the_former_appwrite_json_without_encrypt_and_with_datetime_format_is_rejected() {
    let base = packaged();
    assert_reported(
        base.path(),
        |j| {
            column(j, "jobs", "referenceId")
                .as_object_mut()
                .unwrap()
                .remove("encrypt");
        },
        "column `referenceId`: needs `\"encrypt\": false`",
    );
    assert_reported(
        base.path(),
        |j| column(j, "jobs", "startedAt")["format"] = json!("datetime"),
        "column `startedAt`: `format` must be \"\"",
    );
}

fn committed_variables() -> deploy_check::config::Variables {
    deploy_check::config::load_variables(&repo_root().join("deploy.json")).unwrap()
}

#[test]
fn the_roles_job_actions_grants_agree_with_execute_and_table_reads() {
    assert_eq!(
        validate::roles(&committed(), &committed_variables()),
        Vec::<String>::new()
    );
    // A label granted by the variables but missing from `execute`: Appwrite's gate refuses it.
    let mut config = committed();
    function(&mut config.json, "job-actions")["execute"] =
        json!(["team:jobs-viewers", "team:jobs-operators"]);
    let found = validate::roles(&config, &committed_variables());
    assert!(
        found
            .iter()
            .any(|p| p.contains("grant `label:jobsoperator`, but `execute` does not list it")),
        "{found:#?}"
    );
    // A team allowed by `execute` and the tables that no variable grants.
    let mut vars = committed_variables();
    vars.get_mut("job-actions")
        .unwrap()
        .remove("JOBS_VIEWER_TEAMS");
    vars.insert("job-action".into(), Default::default());
    let found = validate::roles(&committed(), &vars);
    assert!(
        found
            .iter()
            .any(|p| p.contains("variables for `job-action`")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("`execute` lets `team:jobs-viewers` in")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("read(\"team:jobs-viewers\")` lets")),
        "{found:#?}"
    );
}

/// The labels appwrite.json and deploy.json shipped before issue 25: Appwrite 1.9.6 refuses a
/// hyphen in a label (utopia-php/database 6.0.0 `Validator/Label.php`).
fn with_hyphenated_labels(text: &str) -> String {
    text.replace("jobsoperator", "jobs-operator")
        .replace("jobsviewer", "jobs-viewer")
}

const LABEL_REFUSAL: &str = "Role \"label\" identifier value is invalid: Value must be a valid string between 1 and 36 chars containing only alphanumeric chars";

#[test]
fn the_former_hyphenated_labels_are_refused_naming_appwrites_rule() {
    let base = packaged();
    let text = std::fs::read_to_string(repo_root().join("appwrite.json")).unwrap();
    assert!(!text.contains("jobs-operator\"") && !text.contains("jobs-viewer\""));
    let old = AppwriteConfig::parse(&with_hyphenated_labels(&text)).unwrap();
    let found = problems(&old, base.path());
    for (at, what) in [
        (
            "function `job-actions`",
            "execute role `label:jobs-operator`: Invalid `execute` param: ",
        ),
        (
            "function `job-actions`",
            "execute role `label:jobs-viewer`: Invalid `execute` param: ",
        ),
        (
            "table `jobs`",
            "permission `read(\"label:jobs-operator\")`: Invalid `permissions` param: ",
        ),
        (
            "table `job_events`",
            "permission `read(\"label:jobs-viewer\")`: Invalid `permissions` param: ",
        ),
    ] {
        let says = format!("{at}: Appwrite refuses the {what}{LABEL_REFUSAL}");
        assert!(found.contains(&says), "expected {says:?} in {found:#?}");
    }
    // The fixed file: no problem at all (also the_committed_appwrite_json_is_valid_once_packaged).
    assert_eq!(problems(&committed(), base.path()), Vec::<String>::new());
}

#[test]
fn the_former_deploy_json_labels_are_refused_naming_appwrites_rule() {
    let text = std::fs::read_to_string(repo_root().join("deploy.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deploy.json");
    std::fs::write(&path, with_hyphenated_labels(&text)).unwrap();
    let old_vars = deploy_check::config::load_variables(&path).unwrap();
    let old_config = AppwriteConfig::parse(&with_hyphenated_labels(
        &std::fs::read_to_string(repo_root().join("appwrite.json")).unwrap(),
    ))
    .unwrap();
    let found = validate::roles(&old_config, &old_vars);
    for (name, label, fixed) in [
        ("JOBS_OPERATOR_LABELS", "jobs-operator", "jobsoperator"),
        ("JOBS_VIEWER_LABELS", "jobs-viewer", "jobsviewer"),
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(&format!(
                "deploy.json: job-actions {name}: `{label}` is not a label Appwrite accepts: Value must be a valid string between 1 and 36 chars containing only alphanumeric chars"
            )) && p.contains(&format!("e.g. `{fixed}`"))),
            "{found:#?}"
        );
    }
    // Team ids may hold a hyphen (`Validator/Key.php`): `jobs-operators` is not reported.
    assert!(!found.iter().any(|p| p.contains("TEAMS")), "{found:#?}");
    assert_eq!(
        validate::roles(&committed(), &committed_variables()),
        Vec::<String>::new()
    );
}

#[test]
fn ids_keys_and_roles_appwrite_refuses_are_reported() {
    let base = packaged();
    assert_reported(
        base.path(),
        |j| j["teams"][0]["$id"] = json!("-ops"),
        "Invalid `teamId` param: Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can't start with a special char",
    );
    assert_reported(
        base.path(),
        |j| column(j, "jobs", "referenceId")["key"] = json!("reference id"),
        "column `reference id`: Appwrite refuses the id `reference id`: Invalid `key` param",
    );
    assert_reported(
        base.path(),
        |j| table(j, "jobs")["$id"] = json!("a".repeat(37)),
        "Invalid `tableId` param",
    );
    assert_reported(
        base.path(),
        |j| function(j, "job-actions")["execute"] = json!(["label:ops_team"]),
        "Invalid `execute` param: Role \"label\" identifier value is invalid",
    );
    assert_reported(
        base.path(),
        |j| {
            table(j, "jobs")["$permissions"]
                .as_array_mut()
                .unwrap()
                .push(json!("read(\"team:jobs-operators/\")"))
        },
        "Invalid `permissions` param: Dimension must not be empty",
    );
}
