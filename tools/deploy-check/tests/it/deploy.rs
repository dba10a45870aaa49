//! The deploy driver: what it reads from the environment, the exact CLI calls it plans (never
//! `--force`), the staged config, and a dry run that prints the calls and runs nothing.

use std::collections::HashMap;
use std::process::Command;

use deploy_check::config::AppwriteConfig;
use deploy_check::deploy::{calls, staged_config, Settings};
use deploy_check::repo_root;

/// The settings, or each problem as `NAME reason`.
fn settings(vars: &[(&str, &str)]) -> Result<Settings, Vec<String>> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|k| map.get(k).cloned()).map_err(|e| {
        e.problems
            .iter()
            .map(|p| format!("{} {}", p.variable, p.reason))
            .collect()
    })
}

const VARS: &[(&str, &str)] = &[
    ("APPWRITE_ENDPOINT", "https://appwrite.example.test/v1/"),
    ("APPWRITE_PROJECT_ID", "mailer-prod"),
    ("APPWRITE_API_KEY", "standard_0123456789secret"),
];

#[test]
fn every_missing_variable_is_reported_at_once() {
    let problems = settings(&[]).unwrap_err();
    assert_eq!(problems.len(), 3);
    for name in [
        "APPWRITE_ENDPOINT",
        "APPWRITE_PROJECT_ID",
        "APPWRITE_API_KEY",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(name)),
            "{name}: {problems:?}"
        );
    }
    let bad = settings(&[("APPWRITE_ENDPOINT", "appwrite.local"), VARS[1], VARS[2]]).unwrap_err();
    assert_eq!(
        bad,
        ["APPWRITE_ENDPOINT must start with http:// or https://"]
    );
}

#[test]
fn the_plan_pushes_teams_tables_then_functions_and_never_forces() {
    let s = settings(VARS).unwrap();
    let shown: Vec<String> = calls(&s).into_iter().map(|c| c.shown).collect();
    assert_eq!(
        shown,
        [
            "npx --yes appwrite-cli@12.0.1 client --endpoint https://appwrite.example.test/v1 --key <APPWRITE_API_KEY>",
            "npx --yes appwrite-cli@12.0.1 push teams --all",
            "npx --yes appwrite-cli@12.0.1 push tables --all",
            "npx --yes appwrite-cli@12.0.1 push functions --all",
        ]
    );
    for call in calls(&s) {
        assert!(
            !call.args.iter().any(|a| a == "--force" || a == "-f"),
            "{:?}",
            call.args
        );
        assert!(!call.shown.contains("secret"), "the key is never shown");
    }
}

#[test]
fn the_staged_config_carries_project_and_endpoint_and_paths_relative_to_dist() {
    let config = AppwriteConfig::load(&repo_root().join("appwrite.json")).unwrap();
    let staged = staged_config(&config, &settings(VARS).unwrap());
    assert_eq!(staged["projectId"], "mailer-prod");
    assert_eq!(staged["endpoint"], "https://appwrite.example.test/v1");
    let paths: Vec<&str> = staged["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"job-actions") && paths.iter().all(|p| !p.starts_with("dist/")),
        "{paths:?}"
    );
    assert!(
        config.json.get("projectId").is_none(),
        "the committed file stays project-neutral"
    );
}

#[test]
fn a_dry_run_prints_the_exact_calls_and_runs_no_cli() {
    // A fake `npx`/`appwrite` first on PATH would leave a mark if anything ran it.
    let bin = tempfile::tempdir().unwrap();
    let mark = bin.path().join("ran");
    for name in ["npx", "appwrite"] {
        let script = bin.path().join(name);
        std::fs::write(
            &script,
            format!("#!/bin/sh\ntouch {}\nexit 1\n", mark.display()),
        )
        .unwrap();
        let mut perms = std::fs::metadata(&script).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&script, perms).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_deploy-check"))
        .args(["deploy", "--dry-run"])
        .envs(VARS.iter().copied())
        .env("PATH", path)
        .env_remove("APPWRITE_CLI")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "deploy: project `mailer-prod` at https://appwrite.example.test/v1",
        "   npx --yes appwrite-cli@12.0.1 client --endpoint https://appwrite.example.test/v1 --key <APPWRITE_API_KEY>",
        "   npx --yes appwrite-cli@12.0.1 push teams --all",
        "   npx --yes appwrite-cli@12.0.1 push tables --all",
        "   npx --yes appwrite-cli@12.0.1 push functions --all",
        "4. create database `jobmanager` (Job Manager) unless it exists: GET /tablesdb/jobmanager, then POST /tablesdb",
        "   job-actions: JOBS_OPERATOR_LABELS=jobs-operator",
        "7. readiness: each of hook-campaign-run, hook-bulk-verify, hook-sqs-poll, hook-metrics-fetch, job-actions, job-retention must have a new deployment, `ready` (GET /functions/<id>/deployments)",
        "dry run: nothing was packaged, written or sent",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing {line:?} in:\n{stdout}"
        );
    }
    assert!(!stdout.contains("secret"), "the API key leaked:\n{stdout}");
    let cli_lines = stdout.lines().filter(|l| l.contains("appwrite-cli@"));
    assert!(
        cli_lines.clone().count() == 4 && cli_lines.clone().all(|l| !l.contains("--force")),
        "{stdout}"
    );
    assert!(!mark.exists(), "a dry run ran the CLI");
}

/// A stand-in for Appwrite CLI 12: remembers the endpoint and key of `client`, and on
/// `push functions` creates one deployment per function on the server, then exits 0 whatever
/// the builds do, as the real `push functions` does.
const STAND_IN_CLI: &str = r#"#!/bin/sh
echo "$1 $2 $3 $4" >> "$STAND_IN_LOG"
case "$1 $2" in
  "client --endpoint") printf '%s' "$3" > "$HOME/endpoint"; printf '%s' "$5" > "$HOME/key" ;;
  "push functions")
    for f in $STAND_IN_FUNCTIONS; do
      curl -s -o /dev/null -X POST -H "X-Appwrite-Project: $STAND_IN_PROJECT" \
        -H "X-Appwrite-Key: $(cat "$HOME/key")" "$(cat "$HOME/endpoint")/functions/$f/deployments"
    done ;;
esac
exit 0
"#;

/// Real deploys package into the repository's `dist/`: one at a time.
static DIST: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `deploy-check deploy` against `fake` with the stand-in CLI.
fn deploy_against(fake: &fake_appwrite::FakeAppwrite) -> std::process::Output {
    deploy_with(fake, &[]).0
}

/// Runs `deploy-check deploy <args>` against `fake`; also answers the CLI calls made.
fn deploy_with(
    fake: &fake_appwrite::FakeAppwrite,
    args: &[&str],
) -> (std::process::Output, String) {
    deploy_with_key(fake, args, None)
}

/// Like [`deploy_with`], with another API key than the fake's.
fn deploy_with_key(
    fake: &fake_appwrite::FakeAppwrite,
    args: &[&str],
    key: Option<String>,
) -> (std::process::Output, String) {
    let _dist = DIST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let bin = tempfile::tempdir().unwrap();
    let script = bin.path().join("appwrite");
    std::fs::write(&script, STAND_IN_CLI).unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    let log = bin.path().join("calls.log");
    let config = AppwriteConfig::load(&repo_root().join("appwrite.json")).unwrap();
    let functions: Vec<String> = config
        .functions()
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_deploy-check"))
        .arg("deploy")
        .args(args)
        .env("STAND_IN_LOG", &log)
        .env("APPWRITE_ENDPOINT", fake.endpoint())
        .env("APPWRITE_PROJECT_ID", fake.project())
        .env("APPWRITE_API_KEY", key.unwrap_or(fake.key()))
        .env("APPWRITE_CLI", script.to_str().unwrap())
        .env("STAND_IN_FUNCTIONS", functions.join(" "))
        .env("STAND_IN_PROJECT", fake.project())
        .output()
        .unwrap();
    (out, std::fs::read_to_string(&log).unwrap_or_default())
}

#[test]
fn a_deploy_whose_one_build_failed_exits_non_zero_naming_it() {
    let fake = fake_appwrite::FakeAppwrite::start_with("deploy-project", "deploy-key-0123");
    fake.fail_builds_of("job-retention");
    let out = deploy_against(&fake);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("job-retention: deployment") && stderr.contains("`failed`"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("database `jobmanager` created"), "{stdout}");
    assert!(stdout.contains("ready: job-actions"), "{stdout}");
    assert!(!stdout.contains("deploy-key-0123"), "the key leaked");
    // The variables of deploy.json were set.
    let vars = fake.function_variables("job-actions");
    assert!(
        vars.iter()
            .any(|v| v["key"] == "JOBS_OPERATOR_LABELS" && v["value"] == "jobs-operator"),
        "{vars:?}"
    );
}

#[test]
fn a_deploy_whose_builds_all_succeed_exits_zero() {
    let fake = fake_appwrite::FakeAppwrite::start_with("deploy-project", "deploy-key-0123");
    let out = deploy_against(&fake);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_ci_deploy_asks_nothing_forces_only_teams_and_functions_and_never_pushes_tables() {
    let fake = fake_appwrite::FakeAppwrite::start_with("deploy-project", "deploy-key-0123");
    fake.add_manifest_tables(&std::fs::read_to_string(repo_root().join("appwrite.json")).unwrap());
    let (out, calls) = deploy_with(&fake, &["--ci"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("tables: as appwrite.json declares them"),
        "{stdout}"
    );
    let pushes: Vec<&str> = calls.lines().filter(|l| l.starts_with("push")).collect();
    assert_eq!(
        pushes,
        ["push teams --all --force", "push functions --all --force"],
        "{calls}"
    );
}

#[test]
fn a_ci_deploy_stops_before_pushing_when_a_table_would_change() {
    let fake = fake_appwrite::FakeAppwrite::start_with("deploy-project", "deploy-key-0123");
    let (out, calls) = deploy_with(&fake, &["--ci"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("table `jobs` does not exist"), "{stderr}");
    assert!(!calls.contains("push"), "{calls}");
}

#[test]
fn a_key_without_the_read_scopes_stops_the_deploy_before_anything_is_pushed_naming_them() {
    let fake = fake_appwrite::FakeAppwrite::start_with("deploy-project", "deploy-key-0123");
    let (out, calls) = deploy_with_key(&fake, &[], Some("a-key-of-another-project".into()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for scope in ["teams.read", "databases.read", "functions.read"] {
        assert!(stderr.contains(scope), "{scope} not named: {stderr}");
    }
    assert!(calls.is_empty(), "the CLI ran: {calls}");
}
