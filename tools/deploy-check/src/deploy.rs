//! The deploy driver behind `scripts/deploy`: package the bundles, stage a copy of
//! `appwrite.json` with the project and endpoint from the environment, check the API key's
//! scopes (every read scope by a cheap GET, before anything is created), create the database
//! when missing (outside `push tables`, whose single question would otherwise pair "create it"
//! with "delete every other database": CLI 12.0.1 `push.js` `checkAndApplyTablesDBChanges`),
//! run Appwrite CLI 12 for `push teams` and `push tables`, then deploy the functions through
//! Appwrite's REST API with the key ([`crate::functions`]: CLI 12.0.1's `push functions` needs a
//! console session and exits 0 without one), set the function variables of `deploy.json`, wait
//! until every function has a `ready` deployment of this run and is running it, and finally
//! create job-observer's domain and webhook when configured ([`crate::webhook`]). It prints
//! every step before doing it, and `--dry-run` prints them all (with the scopes the key needs)
//! without running anything or touching the network.
//!
//! It never passes `--force` to `push tables`: that flag answers "yes" to the CLI's question
//! whether to delete every remote database and table missing from the file (appwrite-notes: push
//! tables deletes and recreates), and to recreating changed columns, which drops their data. The
//! CLI stays interactive and asks before any such change.
//!
//! The committed `appwrite.json` is never modified (`appwrite client --project-id` would write
//! into it): the CLI runs in `dist/` on the staged `dist/appwrite.config.json`, with a private
//! `HOME` so the API key it stores in `~/.appwrite/prefs.json` is deleted afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use shared::appwrite::{segment, AppwriteClient, Method};

use crate::config::{AppwriteConfig, Variables};
pub use crate::remote::Settings;
use crate::remote::{api_client, send};

/// One CLI call: its arguments after the CLI itself, and how it is shown (secrets masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub args: Vec<String>,
    pub shown: String,
}

/// The CLI calls of a deploy, in order: store endpoint and key in the (private) CLI config — the
/// CLI keeps a key only in a session, which `--endpoint` creates (it pings the endpoint) —
/// create the teams the permissions name, then create or update the tables. The functions are
/// not pushed by the CLI ([`crate::functions`]).
pub fn calls(settings: &Settings) -> Vec<Call> {
    let cli = settings.cli.join(" ");
    let call = |args: &[&str], shown_args: &[&str]| Call {
        args: args.iter().map(|a| a.to_string()).collect(),
        shown: format!("{cli} {}", shown_args.join(" ")),
    };
    // The key is shown as a placeholder: a dry run's output may end up in a CI log.
    let client = call(
        &[
            "client",
            "--endpoint",
            &settings.endpoint,
            "--key",
            &settings.api_key,
        ],
        &[
            "client",
            "--endpoint",
            &settings.endpoint,
            "--key",
            "<APPWRITE_API_KEY>",
        ],
    );
    let pushes: &[&[&str]] = if settings.ci {
        // CI asks nothing: only the push that never deletes is forced (tables are checked).
        &[&["push", "teams", "--all", "--force"]]
    } else {
        &[&["push", "teams", "--all"], &["push", "tables", "--all"]]
    };
    std::iter::once(client)
        .chain(pushes.iter().map(|args| call(args, args)))
        .collect()
}

/// `appwrite.json` as the CLI gets it in `dist/`: the project and endpoint filled in, and each
/// function's `path` relative to `dist/` (where the staged file lives).
pub fn staged_config(config: &AppwriteConfig, settings: &Settings) -> Value {
    let mut json = config.json.clone();
    json["projectId"] = settings.project_id.clone().into();
    json["endpoint"] = settings.endpoint.clone().into();
    if let Some(functions) = json["functions"].as_array_mut() {
        for f in functions {
            if let Some(path) = f["path"].as_str() {
                let inside = path.strip_prefix("dist/").unwrap_or(path).to_owned();
                f["path"] = inside.into();
            }
        }
    }
    json
}

/// One scope the API key needs, as the console's key dialog groups it (Appwrite 1.9.6
/// `app/config/scopes/project.php`, each scope's `category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub name: &'static str,
    /// The console's group: `Auth`, `Databases`, `Functions`, `Proxy`, `Other`.
    pub group: &'static str,
    /// What needs it.
    pub why: &'static str,
    /// A GET that answers 401 `general_unauthorized_scope` without it (`{db}`: the database id);
    /// `None` for write scopes, which cannot be probed without writing.
    pub probe: Option<&'static str>,
    /// Needed only when the observer's webhook step runs.
    pub observer_only: bool,
}

const fn scope(
    name: &'static str,
    group: &'static str,
    why: &'static str,
    probe: Option<&'static str>,
) -> Scope {
    Scope {
        name,
        group,
        why,
        probe,
        observer_only: false,
    }
}

/// Every scope the deploy needs (docs/deploy.md § Prerequisites has the same table).
pub const SCOPES: &[Scope] = &[
    scope("teams.read", "Auth", "push teams reads each team", Some("/teams")),
    scope("teams.write", "Auth", "push teams creates and renames the teams", None),
    scope(
        "databases.read",
        "Databases",
        "the deploy reads the database; push tables lists every database",
        Some("/tablesdb"),
    ),
    scope("databases.write", "Databases", "the deploy creates the database", None),
    scope(
        "tables.read",
        "Databases",
        "push tables and the --ci check read the tables (the route also accepts collections.read)",
        Some("/tablesdb/{db}/tables"),
    ),
    scope(
        "tables.write",
        "Databases",
        "push tables creates and updates the tables",
        None,
    ),
    scope(
        "collections.read",
        "Databases",
        "deprecated since Appwrite 1.9.5 but required: CLI 12.0.1 polls columns and indexes through the legacy /databases/{db}/collections/{table}/attributes|indexes routes, which accept only collections.read",
        Some("/databases/{db}/collections"),
    ),
    scope(
        "collections.write",
        "Databases",
        "deprecated since Appwrite 1.9.5 but required: CLI 12.0.1 creates columns and indexes through the legacy routes, which accept only collections.write",
        None,
    ),
    scope(
        "functions.read",
        "Functions",
        "the deploy reads each function and polls its deployment",
        Some("/functions"),
    ),
    scope(
        "functions.write",
        "Functions",
        "the deploy creates or updates the functions, uploads and activates deployments, sets variables",
        None,
    ),
    Scope {
        observer_only: true,
        ..scope(
            "rules.read",
            "Proxy",
            "the observer step looks for job-observer's domain",
            Some("/proxy/rules"),
        )
    },
    Scope {
        observer_only: true,
        ..scope(
            "rules.write",
            "Proxy",
            "the observer step creates job-observer's domain",
            None,
        )
    },
    Scope {
        observer_only: true,
        ..scope(
            "webhooks.write",
            "Other",
            "the observer step creates or updates the webhook",
            None,
        )
    },
];

/// The scopes a deploy needs: all of [`SCOPES`], less the observer's when it is not configured.
pub fn required_scopes(observer: bool) -> impl Iterator<Item = &'static Scope> {
    SCOPES.iter().filter(move |s| observer || !s.observer_only)
}

/// Prints the plan; unless `dry_run`, carries it out. Returns an error message on failure.
pub fn run(root: &Path, settings: &Settings, dry_run: bool) -> Result<(), String> {
    let config = AppwriteConfig::load(&root.join("appwrite.json")).map_err(|e| e.to_string())?;
    let dist = root.join("dist");
    let staged = dist.join("appwrite.config.json");
    let entries = config.entries("functions");
    let functions: Vec<String> = config
        .functions()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|f| f.id)
        .collect();
    println!(
        "deploy: project `{}` at {}",
        settings.project_id, settings.endpoint
    );
    println!("deploy: functions {}", functions.join(", "));
    let observer = crate::webhook::settings_from_env()?;
    print_local_steps(&dist, &staged);
    let variables =
        crate::config::load_variables(&root.join("deploy.json")).map_err(|e| e.to_string())?;
    let database = config
        .entries("tablesDB")
        .first()
        .cloned()
        .ok_or("appwrite.json declares no database in `tablesDB`")?;
    let database_id = database["$id"].as_str().unwrap_or_default().to_owned();
    print_remote_steps(
        settings,
        &dist,
        &database,
        observer.is_some(),
        &variables,
        &functions,
    );
    crate::webhook::print_plan(observer.as_ref());
    if dry_run {
        println!("dry run: nothing was packaged, written or sent");
        return Ok(());
    }

    // A private copy: what is archived cannot change under tar (tests and `scripts/package`
    // write `dist/<id>/` too).
    let private = PrivateDir::new(&dist, "deploy")?;
    let bundles = crate::package::package_all(root, &private.0)?;
    println!("packaged {} bundles", bundles.len());
    write_staged(&config, settings, &staged)?;

    let api = api_client(settings)?;
    check_scopes(&api, &database_id, observer.is_some())?;
    ensure_database(&api, &database)?;
    if settings.ci {
        tables_match(&api, &config)?;
    }
    run_cli(settings, &dist)?;

    for entry in entries {
        let done = crate::functions::upsert(&api, entry)?;
        println!(
            "function {}: {done}",
            entry["$id"].as_str().unwrap_or_default()
        );
    }
    set_variables(&api, &variables)?;
    let pending = upload_and_build(&api, settings, entries, &private.0)?;
    for (function, deployment) in &pending {
        crate::functions::ensure_active(&api, function, deployment)?;
    }
    if let Some(observer) = &observer {
        // After readiness: job-observer exists, and its variables precede the first delivery.
        crate::webhook::deploy(observer, &api)?;
    }
    println!("deploy: done: every function has a ready deployment from this run");
    Ok(())
}

/// Steps 1 and 2 of the plan: what is written on this machine.
fn print_local_steps(dist: &Path, staged: &Path) {
    println!(
        "1. package every function into {}/.deploy-<pid>/<id>/ (as scripts/package; private to this run, removed after it)",
        dist.display()
    );
    println!(
        "2. write {} (appwrite.json with projectId and endpoint; the committed file is not touched)",
        staged.display()
    );
}

/// Steps 3 to 8 of the plan: what is checked, run and sent against the project.
fn print_remote_steps(
    settings: &Settings,
    dist: &Path,
    database: &Value,
    observer: bool,
    variables: &Variables,
    functions: &[String],
) {
    let database_id = database["$id"].as_str().unwrap_or_default();
    println!("3. check the API key's scopes (console → Overview → API keys → Scopes); it needs:");
    for s in required_scopes(observer) {
        let probe = s.probe.map_or(String::new(), |p| {
            format!(" [probed: GET {}]", p.replace("{db}", database_id))
        });
        println!("   {}: {} ({}){probe}", s.group, s.name, s.why);
    }
    println!(
        "4. create database `{database_id}` ({}) unless it exists: GET /tablesdb/{database_id}, then POST /tablesdb",
        database["name"].as_str().unwrap_or_default()
    );
    println!("5. in {}, with a private HOME, run:", dist.display());
    for call in calls(settings) {
        println!("   {}", call.shown);
    }
    if settings.ci {
        println!("   (--ci: push tables does not run; before the pushes, every table must already match appwrite.json: GET /tablesdb/<db>/tables/<id>, compared as CLI 12.0.1 compares)");
    } else {
        println!("   (never --force: the CLI asks before deleting or recreating anything remote; answer no to any deletion)");
    }
    println!(
        "6. create or update each function through the REST API (not `push functions`, which needs `appwrite login`): GET /functions/<id>, then POST /functions or PUT /functions/<id>"
    );
    println!("7. set the function variables of deploy.json:");
    for (function, vars) in variables {
        for (key, value) in vars {
            println!("   {function}: {key}={value}");
        }
    }
    println!(
        "8. upload each bundle as a deployment (POST /functions/<id>/deployments, tar.gz, activate=true, in 5 MiB chunks when larger), wait until each of {} is `ready` (GET /functions/<id>/deployments/<deploymentId>, at most {} s) and active",
        functions.join(", "),
        crate::functions::build_timeout().as_secs()
    );
}

/// Writes the CLI's copy of `appwrite.json` (the committed file is never touched).
fn write_staged(config: &AppwriteConfig, settings: &Settings, staged: &Path) -> Result<(), String> {
    let json = serde_json::to_string_pretty(&staged_config(config, settings))
        .map_err(|e| e.to_string())?;
    std::fs::write(staged, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", staged.display()))
}

/// Runs the CLI calls in `dist/` with a private `HOME`, removed (with the key the CLI stores
/// there) when they are done; the first failing call ends the deploy.
fn run_cli(settings: &Settings, dist: &Path) -> Result<(), String> {
    let home = PrivateDir::new(dist, "cli-home")?;
    let npm_cache = std::env::var_os("npm_config_cache").unwrap_or_else(|| {
        let real_home = std::env::var_os("HOME").unwrap_or_default();
        PathBuf::from(real_home).join(".npm").into_os_string()
    });
    for call in calls(settings) {
        println!("$ {}", call.shown);
        let status = Command::new(&settings.cli[0])
            .args(&settings.cli[1..])
            .args(&call.args)
            .current_dir(dist)
            .env("HOME", &home.0)
            .env("npm_config_cache", &npm_cache)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", settings.cli.join(" ")))?;
        if !status.success() {
            return Err(format!(
                "`{}` failed ({status}); see docs/deploy.md",
                call.shown
            ));
        }
    }
    Ok(())
}

/// Uploads every function's bundle from `bundles`, then waits until each deployment is built;
/// every failure is reported together. Returns each function's (id, deployment).
fn upload_and_build(
    api: &AppwriteClient,
    settings: &Settings,
    entries: &[Value],
    bundles: &Path,
) -> Result<Vec<(String, String)>, String> {
    let mut pending = Vec::new();
    let mut failed = Vec::new();
    for entry in entries {
        let id = entry["$id"].as_str().unwrap_or_default().to_owned();
        let dir = bundles.join(&id);
        let uploaded = crate::functions::archive(&dir).and_then(|code| {
            crate::functions::upload(settings, entry, &code).map(|d| (code.len(), d))
        });
        match uploaded {
            Ok((size, deployment)) => {
                println!("uploaded: {id} deployment {deployment} ({size} bytes)");
                pending.push((id, deployment));
            }
            Err(e) => failed.push(e),
        }
    }
    let built = crate::functions::wait_ready(api, &pending, crate::functions::build_timeout());
    if let Err(e) = built {
        failed.push(e);
    }
    if !failed.is_empty() {
        return Err(failed.join("; "));
    }
    Ok(pending)
}

fn check_scopes(api: &AppwriteClient, database: &str, observer: bool) -> Result<(), String> {
    let mut missing = Vec::new();
    let mut probed = Vec::new();
    for s in required_scopes(observer) {
        let Some(path) = s.probe else { continue };
        let path = path.replace("{db}", &segment(database));
        match send(api, Method::GET, &path, None) {
            // A 404 (the database does not exist yet) passed the scope check, which comes first
            // (Appwrite 1.9.6 `app/controllers/shared/api.php`, step 9).
            Ok(_) => probed.push(s.name),
            Err(e) if e.status() == Some(404) => probed.push(s.name),
            Err(e) if e.status() == Some(401) => missing.push(format!(
                "{} ({}: {}; GET {path}: {e})",
                s.name, s.group, s.why
            )),
            Err(e) => return Err(format!("scope check GET {path}: {e}")),
        }
    }
    if missing.is_empty() {
        println!(
            "scopes: the key may read {} (write scopes cannot be probed: see docs/deploy.md)",
            probed.join(", ")
        );
        Ok(())
    } else {
        Err(format!(
            "the API key lacks scopes (nothing was created): {}",
            missing.join("; ")
        ))
    }
}

fn ensure_database(api: &AppwriteClient, database: &Value) -> Result<(), String> {
    let id = database["$id"].as_str().unwrap_or_default();
    match send(
        api,
        Method::GET,
        &format!("/tablesdb/{}", segment(id)),
        None,
    ) {
        Ok(_) => {
            println!("database `{id}` exists");
            Ok(())
        }
        Err(e) if e.status() == Some(404) => {
            send(
                api,
                Method::POST,
                "/tablesdb",
                Some(json!({"databaseId": id, "name": database["name"], "enabled": true})),
            )
            .map_err(|e| format!("cannot create database `{id}`: {e}"))?;
            println!("database `{id}` created");
            Ok(())
        }
        Err(e) => Err(format!("cannot read database `{id}`: {e}")),
    }
}

/// `--ci`: every table of `appwrite.json` exists and a `push tables` would propose nothing.
fn tables_match(api: &AppwriteClient, config: &AppwriteConfig) -> Result<(), String> {
    let mut problems = Vec::new();
    for table in config.entries("tables") {
        let (db, id) = (
            table["databaseId"].as_str().unwrap_or_default(),
            table["$id"].as_str().unwrap_or_default(),
        );
        let path = format!("/tablesdb/{}/tables/{}", segment(db), segment(id));
        let remote = match send(api, Method::GET, &path, None) {
            Ok(remote) => remote,
            Err(e) if e.status() == Some(404) => {
                problems.push(format!("table `{id}` does not exist"));
                continue;
            }
            Err(e) => return Err(format!("cannot read table `{id}`: {e}")),
        };
        for change in crate::cli::resource_changes(
            &remote,
            table,
            crate::cli::KEYS_TABLE,
            &["columns", "indexes"],
        ) {
            problems.push(format!("table `{id}`: {change}"));
        }
        let list = |v: &Value, key: &str| v[key].as_array().cloned().unwrap_or_default();
        for (what, remote, local) in [
            ("column", list(&remote, "columns"), list(table, "columns")),
            ("index", list(&remote, "indexes"), list(table, "indexes")),
        ] {
            for change in crate::cli::changes(&remote, &local) {
                problems.push(format!(
                    "table `{id}` {what} `{}`: {:?} ({})",
                    change.key,
                    change.action,
                    change.reason.replace('\n', "; ")
                ));
            }
        }
    }
    if problems.is_empty() {
        println!("tables: as appwrite.json declares them");
        Ok(())
    } else {
        Err(format!(
            "--ci pushes no schema change; run scripts/deploy from a terminal first: {}",
            problems.join("; ")
        ))
    }
}

fn str_id(d: &Value) -> String {
    d["$id"].as_str().unwrap_or_default().to_owned()
}

/// Creates or updates each variable of `deploy.json` (Appwrite reads function variables at every
/// execution: `src/Appwrite/Platform/Workers/Functions.php`, so no redeploy is needed). A new
/// variable is created with `variableId: unique()` (required by `Variables/Create.php`) and
/// `secret: false`; an update sends only `key` and `value`, so a variable someone marked secret
/// in the console stays secret (`Variables/Update.php` refuses to unset `secret`).
fn set_variables(api: &AppwriteClient, variables: &Variables) -> Result<(), String> {
    for (function, vars) in variables {
        let path = format!("/functions/{}/variables", segment(function));
        let existing = send(api, Method::GET, &path, None)
            .map_err(|e| format!("cannot list variables of {function}: {e}"))?;
        let existing = existing["variables"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (key, value) in vars {
            let result = match existing.iter().find(|v| v["key"] == key.as_str()) {
                Some(v) => send(
                    api,
                    Method::PUT,
                    &format!("{path}/{}", segment(&str_id(v))),
                    Some(json!({"key": key, "value": value})),
                ),
                None => send(
                    api,
                    Method::POST,
                    &path,
                    Some(
                        json!({"variableId": "unique()", "key": key, "value": value, "secret": false}),
                    ),
                ),
            };
            result.map_err(|e| format!("cannot set {key} on {function}: {e}"))?;
            println!("variable {function}: {key} set");
        }
    }
    Ok(())
}

/// A throw-away folder of this run under `dist/` (the CLI's `HOME`, the bundles), removed with
/// everything in it (the stored key) on drop.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn new(dist: &Path, what: &str) -> Result<Self, String> {
        let dir = dist.join(format!(".{what}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(PrivateDir(dir))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
