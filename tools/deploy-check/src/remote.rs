//! The Appwrite project a deploy talks to: its settings from the environment and the REST
//! calls every step makes through one client (`deploy`, `functions`, `webhook` all use these,
//! so none of them imports another).

use serde_json::Value;
use shared::appwrite::{AppwriteClient, Call as ApiCall, Method, Retry};

/// The CLI, unless `APPWRITE_CLI` names another (e.g. `appwrite` from a global install).
pub const DEFAULT_CLI: &str = "npx --yes appwrite-cli@12.0.1";

/// What the deploy reads from the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub endpoint: String,
    pub project_id: String,
    pub api_key: String,
    pub cli: Vec<String>,
    /// `--ci`: no question asked. `push teams` runs with `--force` (it creates and updates, and
    /// deletes nothing: CLI 12.0.1 `push.js` has no delete call for teams); `push tables` does
    /// not run at all, because its questions include deleting other databases. (Functions never
    /// go through the CLI.) Instead the tables must already match `appwrite.json` (the
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

/// The REST client for the project in `settings`.
pub fn api_client(settings: &Settings) -> Result<AppwriteClient, String> {
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

/// One call of the deploy: GETs retried like any idempotent call, writes only on 429.
pub fn send(
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
