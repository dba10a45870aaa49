//! The deploy driver behind `scripts/deploy`: package the bundles, stage a copy of
//! `appwrite.json` with the project and endpoint from the environment, then run Appwrite CLI 12
//! (`push teams`, `push tables`, `push functions`). It prints every step before doing it, and
//! `--dry-run` prints the exact CLI calls without running anything or touching the network.
//!
//! It never passes `--force`: on `push tables` that flag answers "yes" to the CLI's question
//! whether to delete every remote database and table missing from the file
//! (`reference/appwrite.md` §4.3), and to recreating changed columns, which drops their data.
//! The CLI stays interactive and asks before any such change.
//!
//! The committed `appwrite.json` is never modified (`appwrite client --project-id` would write
//! into it): the CLI runs in `dist/` on the staged `dist/appwrite.config.json`, with a private
//! `HOME` so the API key it stores in `~/.appwrite/prefs.json` is deleted afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::config::AppwriteConfig;

/// The CLI, unless `APPWRITE_CLI` names another (e.g. `appwrite` from a global install).
pub const DEFAULT_CLI: &str = "npx --yes appwrite-cli@12.0.1";

/// What the deploy reads from the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub endpoint: String,
    pub project_id: String,
    pub api_key: String,
    pub cli: Vec<String>,
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
    vec![
        call(
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
        ),
        call(&["push", "teams", "--all"], &["push", "teams", "--all"]),
        call(&["push", "tables", "--all"], &["push", "tables", "--all"]),
        call(
            &["push", "functions", "--all"],
            &["push", "functions", "--all"],
        ),
    ]
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
    println!("3. in {}, with a private HOME, run:", dist.display());
    for call in calls(settings) {
        println!("   {}", call.shown);
    }
    println!("   (never --force: the CLI asks before deleting or recreating anything remote)");
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
    println!("deploy: done");
    Ok(())
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
