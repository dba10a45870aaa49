//! `appwrite.json`, the file the Appwrite CLI deploys from: loading it, and the few typed views
//! the packager and the deploy driver need. The validator works on the raw JSON so it can see
//! keys the CLI would not understand.

use std::fmt;
use std::path::Path;

use serde_json::Value;

/// The parsed file, kept as JSON.
#[derive(Debug, Clone)]
pub struct AppwriteConfig {
    pub json: Value,
}

/// A function entry, as far as packaging and deploying care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub id: String,
    /// The folder the CLI uploads, relative to the config file (`dist/<id>`).
    pub path: String,
    pub entrypoint: String,
}

#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl AppwriteConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let json: Value =
            serde_json::from_str(text).map_err(|e| ConfigError(format!("invalid JSON: {e}")))?;
        if !json.is_object() {
            return Err(ConfigError("the top level must be a JSON object".into()));
        }
        Ok(AppwriteConfig { json })
    }

    /// The entries of a top-level array (`functions`, `tables`, …); empty when absent.
    pub fn entries(&self, key: &str) -> &[Value] {
        self.json
            .get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn functions(&self) -> Result<Vec<Function>, ConfigError> {
        self.entries("functions")
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let field = |name: &str| {
                    f.get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            ConfigError(format!("functions[{i}] has no string `{name}`"))
                        })
                };
                Ok(Function {
                    id: field("$id")?,
                    path: field("path")?,
                    entrypoint: field("entrypoint")?,
                })
            })
            .collect()
    }
}

/// The variables `scripts/deploy` sets per function (`deploy.json` → `variables`).
pub type Variables = std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>;

/// `deploy.json`, the deployment's own settings beside `appwrite.json` (docs/deploy.md): the
/// variables `scripts/deploy` sets on each function. The database and the teams come from
/// `appwrite.json`. Secrets do not belong here; set those in the console.
pub fn load_variables(path: &Path) -> Result<Variables, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DeployFile {
        variables: Variables,
    }
    let file: DeployFile =
        serde_json::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
    Ok(file.variables)
}
