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
