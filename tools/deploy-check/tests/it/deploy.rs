//! The deploy driver: what it reads from the environment, the exact CLI calls it plans (never
//! `--force` on tables, never `push functions`), the staged config, a dry run that prints the
//! calls and scopes and runs nothing, and whole deploys against the fake Appwrite answering a
//! key without a console session (a stand-in CLI for `client`/`push teams`/`push tables`; the
//! functions go through the REST API).

use std::collections::HashMap;
use std::process::Command;

use deploy_check::config::AppwriteConfig;
use deploy_check::deploy::{calls, staged_config};
use deploy_check::remote::Settings;
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
fn the_plan_pushes_teams_then_tables_never_forces_and_never_pushes_functions() {
    let s = settings(VARS).unwrap();
    let shown: Vec<String> = calls(&s).into_iter().map(|c| c.shown).collect();
    assert_eq!(
        shown,
        [
            "npx --yes appwrite-cli@12.0.1 client --endpoint https://appwrite.example.test/v1 --key <APPWRITE_API_KEY>",
            "npx --yes appwrite-cli@12.0.1 push teams --all",
            "npx --yes appwrite-cli@12.0.1 push tables --all",
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
        .env_remove("JOBS_OBSERVED_FUNCTIONS")
        .env_remove("JOBS_DEPLOY_BUILD_TIMEOUT_SECONDS")
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
        "   Databases: collections.read (deprecated since Appwrite 1.9.5 but required: CLI 12.0.1 polls columns and indexes through the legacy /databases/{db}/collections/{table}/attributes|indexes routes, which accept only collections.read) [probed: GET /databases/jobmanager/collections]",
        "   Databases: collections.write (deprecated since Appwrite 1.9.5 but required: CLI 12.0.1 creates columns and indexes through the legacy routes, which accept only collections.write)",
        "   Functions: functions.write (the deploy creates or updates the functions, uploads and activates deployments, sets variables)",
        "4. create database `jobmanager` (Job Manager) unless it exists: GET /tablesdb/jobmanager, then POST /tablesdb",
        "   job-actions: JOBS_OPERATOR_LABELS=jobsoperator",
        "8. upload each bundle as a deployment (POST /functions/<id>/deployments, tar.gz, activate=true, in 5 MiB chunks when larger), wait until each of hook-campaign-run, hook-bulk-verify, hook-sqs-poll, hook-metrics-fetch, job-actions, job-retention, job-observer is `ready` (GET /functions/<id>/deployments/<deploymentId>, at most 960 s) and active",
        "9. observer domain and webhook: skipped (set JOBS_OBSERVED_FUNCTIONS and JOBS_OBSERVER_URL; docs/observer.md)",
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
        cli_lines.clone().count() == 3 && cli_lines.clone().all(|l| !l.contains("--force")),
        "{stdout}"
    );
    assert!(!mark.exists(), "a dry run ran the CLI");
    // Without the observer, its scopes are not required.
    assert!(!stdout.contains("rules.write"), "{stdout}");
}

#[test]
fn a_dry_run_prints_the_observer_webhook_plan_without_a_secret() {
    let run = |extra: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_deploy-check"))
            .args(["deploy", "--dry-run"])
            .envs(VARS.iter().copied())
            .envs(extra.iter().copied())
            .env("APPWRITE_CLI", "false")
            .output()
            .unwrap()
    };
    let out = run(&[
        ("JOBS_OBSERVED_FUNCTIONS", "orchestrator, sqs-poller"),
        ("JOBS_OBSERVER_URL", "https://observer.example.com/"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("9. observer domain and webhook"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "POST /v1/proxy/rules/function domain=observer.example.com functionId=job-observer"
        ),
        "{stdout}"
    );
    for scope in [
        "Proxy: rules.read",
        "Proxy: rules.write",
        "Other: webhooks.write",
    ] {
        assert!(stdout.contains(scope), "{scope}: {stdout}");
    }
    assert!(
        stdout.contains(
            "events=functions.orchestrator.executions.*.update,functions.sqs-poller.executions.*.update"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("JOBS_OBSERVER_SECRET=<generated>"),
        "{stdout}"
    );
    assert!(!stdout.contains("standard_0123456789secret"), "{stdout}");
    // Observed functions without the observer's URL: refused before anything runs.
    let out = run(&[("JOBS_OBSERVED_FUNCTIONS", "orchestrator")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("JOBS_OBSERVER_URL"), "{stderr}");
    // The self-hosted default function domain: refused before anything runs, naming the rule.
    let out = run(&[
        ("JOBS_OBSERVED_FUNCTIONS", "orchestrator"),
        ("JOBS_OBSERVER_URL", "http://64f0c1.functions.localhost/"),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("JOBS_OBSERVER_URL") && stderr.contains("not a public domain"),
        "{stderr}"
    );
}

/// A stand-in for Appwrite CLI 12: records its calls and exits 0. (The teams and tables it would
/// push are not needed by the function deploy; `push functions` must never be called: the real
/// one answers `Session not found` for every function on a key and still exits 0.)
const STAND_IN_CLI: &str = r#"#!/bin/sh
echo "$1 $2 $3 $4" >> "$STAND_IN_LOG"
case "$1 $2" in
  "push functions") echo "push functions needs appwrite login" >&2; exit 1 ;;
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
    deploy_with_env(fake, args, key, &[])
}

/// Like [`deploy_with_key`], with extra environment variables.
fn deploy_with_env(
    fake: &fake_appwrite::FakeAppwrite,
    args: &[&str],
    key: Option<String>,
    env: &[(&str, &str)],
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
        .env_remove("JOBS_OBSERVED_FUNCTIONS")
        .env_remove("JOBS_OBSERVER_URL")
        .env_remove("JOBS_DEPLOY_BUILD_TIMEOUT_SECONDS")
        .envs(env.iter().copied())
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
            .any(|v| v["key"] == "JOBS_OPERATOR_LABELS" && v["value"] == "jobsoperator"),
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
fn a_ci_deploy_asks_nothing_forces_only_teams_and_never_pushes_tables() {
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
    assert_eq!(pushes, ["push teams --all --force"], "{calls}");
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

/// The ids of appwrite.json's functions.
fn function_ids() -> Vec<String> {
    AppwriteConfig::load(&repo_root().join("appwrite.json"))
        .unwrap()
        .functions()
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect()
}

/// The function's active deployment, which must be `ready`; panics naming the function otherwise.
fn active_ready_deployment(fake: &fake_appwrite::FakeAppwrite, function: &str) -> String {
    let remote = fake
        .function(function)
        .unwrap_or_else(|| panic!("{function} was not created"));
    let active = remote["deploymentId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let deployment = fake
        .deployments(function)
        .into_iter()
        .find(|d| d["$id"] == active.as_str())
        .unwrap_or_else(|| panic!("{function} has no active deployment: {remote}"));
    assert_eq!(deployment["status"], "ready", "{function}: {deployment}");
    active
}

#[test]
fn a_ci_deploy_on_a_key_without_a_console_session_leaves_every_function_on_a_ready_deployment_of_this_run(
) {
    let fake = fake_appwrite::FakeAppwrite::start_with("deploy-project", "deploy-key-0123");
    fake.add_manifest_tables(&std::fs::read_to_string(repo_root().join("appwrite.json")).unwrap());
    // What CLI 12.0.1's `push functions` needs first for a new function: refused for a key.
    let console = reqwest::blocking::Client::new()
        .get(format!("{}/console/variables", fake.endpoint()))
        .header("X-Appwrite-Project", fake.project())
        .header("X-Appwrite-Key", fake.key())
        .send()
        .unwrap();
    assert_eq!(console.status().as_u16(), 401);
    let body: serde_json::Value = console.json().unwrap();
    assert_eq!(body["type"], "general_unauthorized_scope", "{body}");
    // A variable someone marked secret in the console stays secret (PUT without `secret`).
    fake.add_function_variable("job-actions", "JOBS_OPERATOR_TEAMS", "old", true);

    let mut first = std::collections::HashMap::new();
    for run in 0..2 {
        let (out, calls) = deploy_with(&fake, &["--ci"]);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "run {run}:\n{stdout}\n{stderr}");
        assert!(!calls.contains("push functions"), "{calls}");
        assert!(!stdout.contains("deploy-key-0123"), "the key leaked");
        let verb = if run == 0 { "created" } else { "updated" };
        for function in function_ids() {
            assert!(
                stdout.contains(&format!("function {function}: {verb}")),
                "{function} not {verb}:\n{stdout}"
            );
            let active = active_ready_deployment(&fake, &function);
            assert!(
                stdout.contains(&format!("ready: {function} deployment {active}")),
                "{function}: the active deployment is not this run's:\n{stdout}"
            );
            if run == 0 {
                first.insert(function, active);
            } else {
                assert_ne!(
                    first[&function], active,
                    "{function} kept the old deployment"
                );
            }
        }
    }
    // The settings of appwrite.json reached Appwrite.
    let actions = fake.function("job-actions").unwrap();
    assert_eq!(actions["timeout"], 30);
    assert_eq!(actions["buildSpecification"], "s-2vcpu-2gb");
    assert_eq!(actions["entrypoint"], "main.rs");
    let teams = fake
        .function_variables("job-actions")
        .into_iter()
        .find(|v| v["key"] == "JOBS_OPERATOR_TEAMS")
        .unwrap();
    assert_eq!(teams["secret"], true, "{teams}");
    assert_ne!(teams["value"], "old", "{teams}");
}

#[test]
fn a_build_that_never_finishes_fails_the_deploy_naming_the_function() {
    let fake = fake_appwrite::FakeAppwrite::start_with("deploy-project", "deploy-key-0123");
    fake.stall_builds_of("job-observer");
    let (out, _) = deploy_with_env(
        &fake,
        &[],
        None,
        &[("JOBS_DEPLOY_BUILD_TIMEOUT_SECONDS", "2")],
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("not deployed: job-observer: deployment")
            && stderr.contains("still `building` after 2 s"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("ready: job-actions"), "{stdout}");
}

#[test]
fn a_key_without_the_deprecated_collections_read_stops_the_deploy_naming_it_before_anything_is_created(
) {
    let fake = fake_appwrite::FakeAppwrite::start_with("deploy-project", "deploy-key-0123");
    // Every scope docs/deploy.md listed before: collections.* missing.
    fake.set_key_scopes(Some(&[
        "teams.read",
        "teams.write",
        "databases.read",
        "databases.write",
        "tables.read",
        "tables.write",
        "columns.read",
        "columns.write",
        "indexes.read",
        "indexes.write",
        "functions.read",
        "functions.write",
        "rules.read",
    ]));
    let (out, calls) = deploy_with(&fake, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr
            .contains("collections.read (Databases: deprecated since Appwrite 1.9.5 but required"),
        "{stderr}"
    );
    assert!(
        stderr.contains("GET /databases/jobmanager/collections"),
        "{stderr}"
    );
    assert!(!stderr.contains("functions.read ("), "{stderr}");
    assert!(calls.is_empty(), "the CLI ran: {calls}");
    assert!(fake.function("job-actions").is_none());
    assert!(fake.rows("jobmanager", "jobs").is_empty());
}

#[test]
fn the_observer_step_creates_job_observers_domain_and_the_webhook() {
    let fake = fake_appwrite::FakeAppwrite::start_with("deploy-project", "deploy-key-0123");
    let (out, _) = deploy_with_env(
        &fake,
        &[],
        None,
        &[
            ("JOBS_OBSERVED_FUNCTIONS", "orchestrator"),
            ("JOBS_OBSERVER_URL", "https://observer.jobs.example.com/"),
        ],
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let rules = fake.rules();
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0]["domain"], "observer.jobs.example.com");
    assert_eq!(rules[0]["deploymentResourceId"], "job-observer");
    let webhooks = fake.webhooks();
    assert_eq!(webhooks.len(), 1, "{webhooks:?}");
    assert_eq!(webhooks[0]["url"], "https://observer.jobs.example.com/");
    let secret = fake
        .function_variables("job-observer")
        .into_iter()
        .find(|v| v["key"] == "JOBS_OBSERVER_SECRET")
        .unwrap();
    assert_eq!(secret["value"], webhooks[0]["secret"]);
    assert_eq!(secret["secret"], true);
}

#[test]
fn a_bundle_above_five_mebibytes_is_uploaded_in_chunks_as_one_deployment() {
    let fake = fake_appwrite::FakeAppwrite::start_with("deploy-project", "deploy-key-0123");
    let settings = Settings {
        endpoint: fake.endpoint(),
        project_id: fake.project(),
        api_key: fake.key(),
        cli: vec!["false".into()],
        ci: true,
    };
    let entry = serde_json::json!({"$id": "big", "name": "big", "runtime": "rust-1.83",
        "entrypoint": "main.rs", "commands": ""});
    let created = reqwest::blocking::Client::new()
        .post(format!("{}/functions", fake.endpoint()))
        .header("X-Appwrite-Project", fake.project())
        .header("X-Appwrite-Key", fake.key())
        .json(&deploy_check::functions::create_body(&entry))
        .send()
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let size = 2 * deploy_check::functions::CHUNK_SIZE + 12_345;
    let code: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let id = deploy_check::functions::upload(&settings, &entry, &code).unwrap();
    let deployments = fake.deployments("big");
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    assert_eq!(deployments[0]["$id"], id.as_str());
    assert_eq!(deployments[0]["sourceSize"], size);
    assert_eq!(deployments[0]["sourceChunksTotal"], 3);
    assert_eq!(deployments[0]["sourceChunksUploaded"], 3);
}
