//! Development identities hold only the roles configured, and Appwrite's `execute` gate decides
//! before job-actions sees the call: a role job-actions would grant (a label in
//! `JOBS_OPERATOR_LABELS`) is useless unless `execute` lists it too.

use serde_json::{json, Value};

use crate::spawn_app_with;

/// The repository's `appwrite.json` with job-actions' `execute` replaced, in a temporary folder.
fn manifest_with_execute(execute: &[&str]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../appwrite.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(repo).unwrap()).unwrap();
    for f in manifest["functions"].as_array_mut().unwrap() {
        if f["$id"] == "job-actions" {
            f["execute"] = json!(execute);
        }
    }
    let path = dir.path().join("appwrite.json");
    std::fs::write(&path, manifest.to_string()).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

const LABEL_ONLY: &str = r#"[{"id":"lena","labels":["jobsoperator"]}]"#;

#[test]
fn a_label_only_identity_is_refused_by_execute_when_execute_lists_only_teams() {
    let (_dir, manifest) = manifest_with_execute(&["team:jobs-viewers", "team:jobs-operators"]);
    let (app, _) = spawn_app_with(
        "operator",
        &[
            ("JOBS_DEV_MANIFEST", &manifest),
            ("JOBS_DEV_USERS", LABEL_ONLY),
        ],
    );
    let (status, refused) = app.execute("job-actions", false, "GET", "/v1/me", Value::Null);
    assert_eq!(
        (status, refused["type"].as_str()),
        (401, Some("user_unauthorized")),
        "{refused}"
    );
}

#[test]
fn a_label_only_identity_passes_execute_when_execute_lists_its_label() {
    let (_dir, manifest) = manifest_with_execute(&["team:jobs-operators", "label:jobsoperator"]);
    let (app, _) = spawn_app_with(
        "operator",
        &[
            ("JOBS_DEV_MANIFEST", &manifest),
            ("JOBS_DEV_USERS", LABEL_ONLY),
        ],
    );
    let (code, me) = app.action("GET", "/v1/me", Value::Null);
    assert_eq!((code, me["role"].as_str()), (200, Some("operator")), "{me}");
}

#[test]
fn a_team_only_identity_acts_through_its_membership_and_one_without_roles_is_refused() {
    let users = r#"[{"id":"tom","teams":["jobs-operators"]},{"id":"nobody"}]"#;
    let (app, _) = spawn_app_with("operator", &[("JOBS_DEV_USERS", users)]);
    let (code, me) = app.action("GET", "/v1/me", Value::Null);
    assert_eq!((code, me["role"].as_str()), (200, Some("operator")), "{me}");

    let (app, _) = spawn_app_with(
        "operator",
        &[("JOBS_DEV_USERS", users), ("JOBS_DEV_USER", "nobody")],
    );
    let (status, refused) = app.execute("job-actions", false, "GET", "/v1/me", Value::Null);
    assert_eq!(
        (status, refused["type"].as_str()),
        (401, Some("user_unauthorized"))
    );
}

/// Appwrite 1.9.6 refuses a hyphen in a label (issue 25), so jobs-dev does not start with a
/// development user holding one; its error names the variable and Appwrite's rule.
#[test]
fn a_label_appwrite_refuses_stops_jobs_dev_at_start_naming_the_variable_and_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jobs-dev"))
        .env(
            "JOBS_DEV_USERS",
            r#"[{"id":"lena","labels":["jobs-operator"]}]"#,
        )
        .env("JOBS_DEV_PORT", "0")
        .env("JOBS_DEV_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("JOBS_DEV_USERS label \"jobs-operator\" of lena is one Appwrite refuses: Value must be a valid string between 1 and 36 chars containing only alphanumeric chars"),
        "{stderr}"
    );
}
