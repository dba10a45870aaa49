//! The deploy driver behind `scripts/deploy`: package the bundles, stage a copy of
//! `appwrite.json` with the project and endpoint from the environment, check the API key's
//! scopes, create the database when missing (outside `push tables`, whose single question
//! would otherwise pair "create it" with "delete every other database": CLI 12.0.1 `push.js`
//! `checkAndApplyTablesDBChanges`), run Appwrite CLI 12 (`push teams`, `push tables`,
//! `push functions`), set the function variables of `deploy.json`, then ask Appwrite whether
//! every function has a `ready` deployment created by this run: `push functions` reports a
//! failed build and still exits 0, so only that answer says the deploy worked. It prints every
//! step before doing it, and `--dry-run` prints them all without running anything or touching
//! the network.
//!
//! It never passes `--force`: on `push tables` that flag answers "yes" to the CLI's question
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
use shared::appwrite::{segment, AppwriteClient, Call as ApiCall, Method, Retry};

use crate::config::AppwriteConfig;
use crate::validate::Variables;

/// The CLI, unless `APPWRITE_CLI` names another (e.g. `appwrite` from a global install).
pub const DEFAULT_CLI: &str = "npx --yes appwrite-cli@12.0.1";

/// What the deploy reads from the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub endpoint: String,
    pub project_id: String,
    pub api_key: String,
    pub cli: Vec<String>,
    /// `--ci`: no question asked. `push teams` and `push functions` run with `--force` (they
    /// create and update, and delete nothing: CLI 12.0.1 `push.js` has no delete call for
    /// teams or functions); `push tables` does not run at all, because its questions include
    /// deleting other databases. Instead the tables must already match `appwrite.json` (the
    /// ported comparison of `cli.rs` against the server's answer), or the deploy stops.
    pub ci: bool,
}

impl Settings {
    /// Reads `APPWRITE_ENDPOINT`, `APPWRITE_PROJECT_ID`, `APPWRITE_API_KEY` (and the optional
    /// `APPWRITE_CLI`), reporting every missing or invalid one at once.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, shared::config::ConfigError> {
        let mut vars = shared::config::Vars::new(lookup);
        let endpoint = vars.required("APPWRITE_ENDPOINT", "e.g. https://cloud.appwrite.io/v1");
        let project_id = vars.required("APPWRITE_PROJECT_ID", "the project's id");
        let api_key = vars.required(
            "APPWRITE_API_KEY",
            "an API key of the project; see docs/deploy.md",
        );
        let is_url = endpoint.starts_with("https://") || endpoint.starts_with("http://");
        if !endpoint.is_empty() && !is_url {
            vars.problem("APPWRITE_ENDPOINT", "must start with http:// or https://");
        }
        let cli = vars
            .get("APPWRITE_CLI")
            .unwrap_or_else(|| DEFAULT_CLI.to_owned())
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        vars.finish(Settings {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            project_id,
            api_key,
            cli,
            ci: false,
        })
    }
}

impl std::fmt::Debug for Settings {
    /// Never shows the API key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("endpoint", &self.endpoint)
            .field("project_id", &self.project_id)
            .field("api_key", &"<hidden>")
            .field("cli", &self.cli)
            .field("ci", &self.ci)
            .finish()
    }
}

/// One CLI call: its arguments after the CLI itself, and how it is shown (secrets masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub args: Vec<String>,
    pub shown: String,
}

/// The CLI calls of a deploy, in order: store endpoint and key in the (private) CLI config — the
/// CLI keeps a key only in a session, which `--endpoint` creates (it pings the endpoint) —
/// create the teams the permissions name, create or update the tables, then build and deploy
/// the functions.
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
        // CI asks nothing: only the pushes that never delete are forced (tables are checked).
        &[
            &["push", "teams", "--all", "--force"],
            &["push", "functions", "--all", "--force"],
        ]
    } else {
        &[
            &["push", "teams", "--all"],
            &["push", "tables", "--all"],
            &["push", "functions", "--all"],
        ]
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

/// Prints the plan; unless `dry_run`, carries it out. Returns an error message on failure.
pub fn run(root: &Path, settings: &Settings, dry_run: bool) -> Result<(), String> {
    let config = AppwriteConfig::load(&root.join("appwrite.json")).map_err(|e| e.to_string())?;
    let dist = root.join("dist");
    let staged = dist.join("appwrite.config.json");
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
    println!(
        "1. package every function into {}/<id>/ (scripts/package)",
        dist.display()
    );
    println!(
        "2. write {} (appwrite.json with projectId and endpoint; the committed file is not touched)",
        staged.display()
    );
    let variables =
        crate::config::load_variables(&root.join("deploy.json")).map_err(|e| e.to_string())?;
    let database = config
        .entries("tablesDB")
        .first()
        .cloned()
        .ok_or("appwrite.json declares no database in `tablesDB`")?;
    let database_id = database["$id"].as_str().unwrap_or_default().to_owned();
    println!(
        "3. check the API key's scopes: GET {} (each answers 401 naming a missing scope)",
        SCOPE_PROBES.map(|(path, _)| path).join(", ")
    );
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
    println!("6. set the function variables of deploy.json:");
    for (function, vars) in &variables {
        for (key, value) in vars {
            println!("   {function}: {key}={value}");
        }
    }
    println!(
        "7. readiness: each of {} must have a new deployment, `ready` (GET /functions/<id>/deployments)",
        functions.join(", ")
    );
    if dry_run {
        println!("dry run: nothing was packaged, written or sent");
        return Ok(());
    }

    let bundles = crate::package::package_all(root, &dist)?;
    println!("packaged {} bundles", bundles.len());
    let json = serde_json::to_string_pretty(&staged_config(&config, settings))
        .map_err(|e| e.to_string())?;
    std::fs::write(&staged, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", staged.display()))?;

    let api = api_client(settings)?;
    check_scopes(&api)?;
    ensure_database(&api, &database)?;
    if settings.ci {
        tables_match(&api, &config)?;
    }
    let before: Vec<Option<String>> = functions
        .iter()
        .map(|f| newest_deployment(&api, f).map(|d| d.map(|d| str_id(&d))))
        .collect::<Result<_, _>>()?;

    let home = PrivateHome::new(&dist)?;
    let npm_cache = std::env::var_os("npm_config_cache").unwrap_or_else(|| {
        let real_home = std::env::var_os("HOME").unwrap_or_default();
        PathBuf::from(real_home).join(".npm").into_os_string()
    });
    for call in calls(settings) {
        println!("$ {}", call.shown);
        let status = Command::new(&settings.cli[0])
            .args(&settings.cli[1..])
            .args(&call.args)
            .current_dir(&dist)
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
    set_variables(&api, &variables)?;
    readiness(&api, &functions, &before)?;
    println!("deploy: done: every function has a ready deployment from this run");
    Ok(())
}

/// Read probes for the scopes the CLI and this driver need; Appwrite answers a key without the
/// scope with 401 `general_unauthorized_scope` and names the missing scope in its message. Write
/// scopes cannot be probed without writing: docs/deploy.md lists them.
const SCOPE_PROBES: [(&str, &str); 3] = [
    ("/teams", "teams.read"),
    ("/tablesdb", "databases.read"),
    ("/functions", "functions.read"),
];

fn api_client(settings: &Settings) -> Result<AppwriteClient, String> {
    use shared::appwrite::var;
    let config = shared::appwrite::AppwriteConfig::from_lookup(
        |name| match name {
            var::ENDPOINT => Some(settings.endpoint.clone()),
            var::PROJECT => Some(settings.project_id.clone()),
            var::API_KEY => Some(settings.api_key.clone()),
            _ => None,
        },
        None,
    )
    .map_err(|e| e.to_string())?;
    Ok(AppwriteClient::new(config))
}

fn send(
    api: &AppwriteClient,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, shared::appwrite::AppwriteError> {
    let retry = if method == Method::GET {
        Retry::Idempotent
    } else {
        Retry::OnlyRateLimit
    };
    let mut call = ApiCall::new(method, path, retry);
    call.body = body;
    api.send(&call).map(|r| r.body)
}

fn check_scopes(api: &AppwriteClient) -> Result<(), String> {
    let mut missing = Vec::new();
    for (path, scope) in SCOPE_PROBES {
        match send(api, Method::GET, path, None) {
            Ok(_) => {}
            Err(e) if e.status() == Some(401) => missing.push(format!("{scope} (GET {path}: {e})")),
            Err(e) => return Err(format!("scope check GET {path}: {e}")),
        }
    }
    if missing.is_empty() {
        println!("scopes: the key may read teams, databases and functions");
        Ok(())
    } else {
        Err(format!("the API key lacks scopes: {}", missing.join("; ")))
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

/// The newest deployment of `function`, if any (`None` also when the function does not exist yet).
fn newest_deployment(api: &AppwriteClient, function: &str) -> Result<Option<Value>, String> {
    let mut call = ApiCall::new(
        Method::GET,
        format!("/functions/{}/deployments", segment(function)),
        Retry::Idempotent,
    );
    call.query = vec![
        (
            "queries[]",
            json!({"method": "orderDesc", "attribute": "$createdAt"}).to_string(),
        ),
        (
            "queries[]",
            json!({"method": "limit", "values": [1]}).to_string(),
        ),
    ];
    match api.send(&call) {
        Ok(r) => Ok(r.body["deployments"].get(0).cloned()),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(format!("cannot list deployments of {function}: {e}")),
    }
}

/// Creates or updates each variable of `deploy.json` (Appwrite reads function variables at every
/// execution: `src/Appwrite/Platform/Workers/Functions.php`, so no redeploy is needed).
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
            let body = json!({"key": key, "value": value, "secret": false});
            let result = match existing.iter().find(|v| v["key"] == key.as_str()) {
                Some(v) => send(
                    api,
                    Method::PUT,
                    &format!("{path}/{}", segment(&str_id(v))),
                    Some(body),
                ),
                None => send(api, Method::POST, &path, Some(body)),
            };
            result.map_err(|e| format!("cannot set {key} on {function}: {e}"))?;
            println!("variable {function}: {key} set");
        }
    }
    Ok(())
}

/// Every function must have a deployment newer than `before` whose build is `ready`; builds
/// still running are waited for (up to Appwrite's 900 s build timeout).
fn readiness(
    api: &AppwriteClient,
    functions: &[String],
    before: &[Option<String>],
) -> Result<(), String> {
    let mut failed = Vec::new();
    for (function, old) in functions.iter().zip(before) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(960);
        loop {
            let newest = newest_deployment(api, function)?;
            let status = newest
                .as_ref()
                .and_then(|d| d["status"].as_str())
                .unwrap_or_default()
                .to_owned();
            match newest.as_ref().map(str_id) {
                None => failed.push(format!("{function}: no deployment")),
                Some(id) if Some(&id) == old.as_ref() => failed.push(format!(
                    "{function}: no deployment created by this run (newest is {id})"
                )),
                Some(id) if status == "ready" => println!("ready: {function} deployment {id}"),
                Some(id)
                    if ["waiting", "processing", "building"].contains(&status.as_str())
                        && std::time::Instant::now() < deadline =>
                {
                    println!("waiting: {function} deployment {id} is {status}");
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    continue;
                }
                Some(id) => failed.push(format!("{function}: deployment {id} is `{status}`")),
            }
            break;
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("not deployed: {}", failed.join("; ")))
    }
}

/// A throw-away `HOME` for the CLI, removed with everything in it (the stored key) on drop.
struct PrivateHome(PathBuf);

impl PrivateHome {
    fn new(dist: &Path) -> Result<Self, String> {
        let dir = dist.join(format!(".cli-home-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(PrivateHome(dir))
    }
}

impl Drop for PrivateHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
