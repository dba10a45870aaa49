//! Functions, deployments, variables, proxy rules and webhooks, as Appwrite 1.9.6 answers a
//! project API key (no console session): what `scripts/deploy` drives. This module owns the
//! function documents and their variables and routes every request of this family;
//! `deployments`: uploads and builds; `webhooks`: proxy rules and webhooks.
//!
//! - `POST/GET/PUT /v1/functions[/{id}]` (`Functions/{Create,Get,Update}.php`);
//! - `POST /v1/functions/{id}/deployments`: multipart with a `code` file named `*.gz`, `activate`,
//!   `entrypoint`, `commands`; chunked with `Content-Range` and `x-appwrite-id` above 5 MiB
//!   (`Deployments/Create.php`, `APP_LIMIT_UPLOAD_CHUNK_SIZE`). The build is a step: each
//!   `GET …/deployments/{id}` moves a deployment `waiting` → `processing` → `building` →
//!   `ready` (or `failed` for [`FakeAppwrite::fail_builds_of`](crate::FakeAppwrite::fail_builds_of),
//!   or stays `building` for [`FakeAppwrite::stall_builds_of`](crate::FakeAppwrite::stall_builds_of));
//!   a `ready` deployment uploaded with `activate=true` becomes the function's `deploymentId`;
//! - `PATCH /v1/functions/{id}/deployment` (`Functions/Deployment/Update.php`: 400
//!   `build_not_ready` unless `ready`);
//! - variables: `POST` needs `variableId` (`Variables/Create.php`), `PUT` refuses to unset
//!   `secret` (400 `variable_cannot_unset_secret`, `Variables/Update.php`);
//! - `GET /v1/proxy/rules`, `POST /v1/proxy/rules/function` (`Modules/Proxy/Http/Rules/…`);
//! - `POST/PUT /v1/webhooks[/{id}]`, `PATCH …/secret`: the URL must be on a public domain
//!   (`Webhooks/Create.php`: `Multiple([URL, PublicDomain])`);
//! - `GET /v1/console/variables` (scope `projects.read`, which no project key holds:
//!   `Console/Http/Variables/Get.php`) answers a key 401 `general_unauthorized_scope`.
//!
//! The key's scopes are checked before this module sees a request (`scopes`).

mod deployments;
mod webhooks;

use serde_json::{json, Value};

use crate::schema::valid_key;
use crate::scopes::unauthorized;
use crate::wire::{now_text, path_segments, Answer};
use crate::State;

/// What `handle` needs of the request beyond method, path and body.
pub(crate) struct Upload<'a> {
    pub content_type: Option<&'a str>,
    pub content_range: Option<&'a str>,
    pub upload_id: Option<&'a str>,
}

/// Appwrite's chunk size for uploads (`app/init/constants.php` `APP_LIMIT_UPLOAD_CHUNK_SIZE`).
pub const CHUNK_SIZE: usize = 5 * 1024 * 1024;

/// The state this module keeps.
#[derive(Default)]
pub(crate) struct Functions {
    /// Function documents by id, in creation order.
    functions: Vec<Value>,
    /// Bytes received per deployment (chunked uploads), with the total announced.
    uploads: std::collections::HashMap<String, (Vec<u8>, usize)>,
    /// Functions whose builds never finish.
    stalled: Vec<String>,
    rules: Vec<Value>,
    webhooks: Vec<Value>,
}

/// The answer for the routes of this module, or `None` to let the rest of the fake answer.
pub(crate) fn handle(
    state: &mut State,
    project: &str,
    method: &str,
    path: &str,
    upload: &Upload<'_>,
    raw: &[u8],
) -> Option<Answer> {
    let owned = path_segments(path)?;
    let parts: Vec<&str> = owned.iter().map(String::as_str).collect();
    if let ["console", "variables"] = parts.as_slice() {
        // A project key never holds `projects.read` (app/config/scopes/project.php lists no such
        // scope), so the CLI's console call cannot succeed without `appwrite login`.
        return Some(unauthorized(project, &["projects.read"]));
    }
    let is_multipart = upload
        .content_type
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    let body: Value = if raw.is_empty() || is_multipart {
        Value::Null
    } else {
        match serde_json::from_slice(raw) {
            Ok(v) => v,
            Err(_) => return Some(Answer::invalid_json()),
        }
    };
    let now = now_text();
    let answer = match (method, parts.as_slice()) {
        (_, ["functions", _, "executions"]) => return None,
        ("GET", ["functions"]) => {
            let list = &state.functions.functions;
            Answer::json(200, json!({"total": list.len(), "functions": list}))
        }
        ("POST", ["functions"]) => create_function(state, &body, &now),
        ("GET", ["functions", id]) => match find(state, id) {
            Some(f) => Answer::json(200, f.clone()),
            None => function_not_found(),
        },
        ("PUT", ["functions", id]) => update_function(state, id, &body, &now),
        ("PATCH", ["functions", id, "deployment"]) => deployments::activate(state, id, &body),
        ("POST", ["functions", id, "deployments"]) => match find(state, id) {
            None => function_not_found(),
            Some(f) => {
                let f = f.clone();
                deployments::create_deployment(state, &f, upload, raw, &now)
            }
        },
        ("GET", ["functions", id, "deployments"]) => {
            let list: Vec<&Value> = state
                .deployments
                .iter()
                .rev()
                .filter(|d| d["resourceId"] == *id)
                .collect();
            Answer::json(200, json!({"total": list.len(), "deployments": list}))
        }
        ("GET", ["functions", id, "deployments", deployment]) => {
            deployments::build_step(state, id, deployment)
        }
        ("GET", ["functions", id, "variables"]) => {
            let list = state.variables.get(*id).cloned().unwrap_or_default();
            Answer::json(200, json!({"total": list.len(), "variables": list}))
        }
        ("POST", ["functions", id, "variables"]) => create_variable(state, id, &body, &now),
        ("PUT", ["functions", id, "variables", variable]) => {
            update_variable(state, id, variable, &body)
        }
        ("GET", ["databases", db, "collections"]) => match state.databases.get(*db) {
            Some(tables) => Answer::json(200, json!({"total": tables.len(), "collections": []})),
            None => Answer::error(404, "database_not_found", "Database not found"),
        },
        ("GET", ["proxy", "rules"]) => {
            let list = &state.functions.rules;
            Answer::json(200, json!({"total": list.len(), "rules": list}))
        }
        ("POST", ["proxy", "rules", "function"]) => webhooks::create_rule(state, &body, &now),
        ("GET", ["webhooks"]) => {
            let list = &state.functions.webhooks;
            Answer::json(200, json!({"total": list.len(), "webhooks": list}))
        }
        ("POST", ["webhooks"]) => webhooks::create_webhook(state, &body, &now),
        ("PUT", ["webhooks", id]) => webhooks::update_webhook(state, id, &body, None),
        ("PATCH", ["webhooks", id, "secret"]) => {
            let secret = body["secret"].as_str().unwrap_or("generated").to_owned();
            webhooks::update_webhook(state, id, &Value::Null, Some(secret))
        }
        _ => return None,
    };
    Some(answer)
}

/// A function's document, for the executions list (`executions`).
pub(crate) fn find<'a>(state: &'a State, id: &str) -> Option<&'a Value> {
    state.functions.functions.iter().find(|f| f["$id"] == id)
}

fn find_mut<'a>(state: &'a mut State, id: &str) -> Option<&'a mut Value> {
    state
        .functions
        .functions
        .iter_mut()
        .find(|f| f["$id"] == id)
}

pub(crate) fn function_not_found() -> Answer {
    Answer::error(
        404,
        "function_not_found",
        "Function with the requested ID could not be found.",
    )
}

/// A setting's default.
type Default = fn() -> Value;

/// The settings `POST`/`PUT /v1/functions` take, with Appwrite's defaults.
const SETTINGS: [(&str, Default); 11] = [
    ("execute", || json!([])),
    ("events", || json!([])),
    ("schedule", || json!("")),
    ("timeout", || json!(15)),
    ("enabled", || json!(true)),
    ("logging", || json!(true)),
    ("entrypoint", || json!("")),
    ("commands", || json!("")),
    ("scopes", || json!([])),
    ("buildSpecification", || json!("s-1vcpu-512mb")),
    ("runtimeSpecification", || json!("s-1vcpu-512mb")),
];

/// Each setting of `body`, or its default when absent or null.
fn apply_settings(function: &mut Value, body: &Value) {
    for (key, default) in SETTINGS {
        function[key] = body
            .get(key)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(default);
    }
}

fn create_function(state: &mut State, body: &Value, now: &str) -> Answer {
    let Some(id) = body["functionId"].as_str() else {
        return Answer::missing_param("functionId");
    };
    let id = if id == "unique()" {
        state.sequence += 1;
        format!("fn{}", state.sequence)
    } else {
        id.to_owned()
    };
    if !valid_key(&id) {
        return Answer::error(
            400,
            "general_argument_invalid",
            "Invalid `functionId` param",
        );
    }
    for param in ["name", "runtime"] {
        if body[param].as_str().is_none_or(str::is_empty) {
            return Answer::missing_param(param);
        }
    }
    if find(state, &id).is_some() {
        return Answer::error(409, "function_already_exists", "Function with the requested ID already exists. Try again with a different ID or use ID.unique() to generate a unique ID.");
    }
    let mut function = json!({"$id": id, "$createdAt": now, "$updatedAt": now,
        "name": body["name"], "runtime": body["runtime"], "deploymentId": "",
        "latestDeploymentId": "", "latestDeploymentStatus": "", "live": true, "vars": []});
    apply_settings(&mut function, body);
    state.functions.functions.push(function.clone());
    Answer::json(201, function)
}

fn update_function(state: &mut State, id: &str, body: &Value, now: &str) -> Answer {
    if body["name"].as_str().is_none_or(str::is_empty) {
        return Answer::missing_param("name");
    }
    let Some(function) = find_mut(state, id) else {
        return function_not_found();
    };
    function["name"] = body["name"].clone();
    if let Some(runtime) = body["runtime"].as_str().filter(|r| !r.is_empty()) {
        function["runtime"] = json!(runtime);
    }
    apply_settings(function, body);
    function["$updatedAt"] = json!(now);
    Answer::json(200, function.clone())
}

fn create_variable(state: &mut State, function: &str, body: &Value, now: &str) -> Answer {
    if find(state, function).is_none() {
        return function_not_found();
    }
    let Some(requested) = body["variableId"].as_str() else {
        return Answer::missing_param("variableId");
    };
    for param in ["key", "value"] {
        if body[param].as_str().is_none() {
            return Answer::missing_param(param);
        }
    }
    state.sequence += 1;
    let id = if requested == "unique()" {
        format!("var{}", state.sequence)
    } else {
        requested.to_owned()
    };
    let list = state.variables.entry(function.to_owned()).or_default();
    if list
        .iter()
        .any(|v| v["$id"] == id.as_str() || v["key"] == body["key"])
    {
        return Answer::error(409, "variable_already_exists", "Variable with the same ID already exists in this project. Try again with a different ID.");
    }
    let variable = json!({"$id": id, "$createdAt": now, "$updatedAt": now, "key": body["key"],
        "value": body["value"], "secret": body["secret"].as_bool().unwrap_or(true),
        "resourceType": "function", "resourceId": function});
    list.push(variable.clone());
    Answer::json(201, variable)
}

fn update_variable(state: &mut State, function: &str, id: &str, body: &Value) -> Answer {
    if find(state, function).is_none() {
        return function_not_found();
    }
    let list = state.variables.entry(function.to_owned()).or_default();
    let Some(v) = list.iter_mut().find(|v| v["$id"] == id) else {
        return Answer::error(
            404,
            "variable_not_found",
            "Variable with the requested ID could not be found.",
        );
    };
    if v["secret"] == true && body["secret"] == false {
        return Answer::error(400, "variable_cannot_unset_secret", "Secret variables cannot be marked as non-secret. Please re-create the variable if this is your intention.");
    }
    for key in ["key", "value", "secret"] {
        if let Some(value) = body.get(key).filter(|v| !v.is_null()) {
            v[key] = value.clone();
        }
    }
    Answer::json(200, v.clone())
}

impl crate::FakeAppwrite {
    /// Adds a deployed function as `POST /v1/functions` and an activated deployment would leave
    /// it: Appwrite's defaults, then `settings` (e.g. `{"schedule": "* * * * *"}`, and
    /// `$createdAt` / `$updatedAt`).
    pub fn add_function(&self, id: &str, name: &str, settings: Value) -> Value {
        let now = now_text();
        let mut function = json!({"$id": id, "$createdAt": now, "$updatedAt": now,
            "name": name, "runtime": "rust-1.83", "deploymentId": format!("dep-{id}"),
            "latestDeploymentId": format!("dep-{id}"), "latestDeploymentStatus": "ready",
            "live": true, "vars": []});
        apply_settings(&mut function, &settings);
        // Its own dates, when the test gives them (a function last changed days ago).
        for key in ["$createdAt", "$updatedAt"] {
            if let Some(value) = settings.get(key) {
                function[key] = value.clone();
            }
        }
        let mut state = self.shared.lock();
        state.functions.functions.retain(|f| f["$id"] != id);
        state.functions.functions.push(function.clone());
        function
    }

    /// A function's document, as `GET /v1/functions/{id}` answers it.
    pub fn function(&self, id: &str) -> Option<Value> {
        find(&self.shared.lock(), id).cloned()
    }

    /// The variables set on `function`, as `{key, value, secret}` documents.
    pub fn function_variables(&self, function: &str) -> Vec<Value> {
        self.shared
            .lock()
            .variables
            .get(function)
            .cloned()
            .unwrap_or_default()
    }

    /// Adds a variable as someone would in the console (e.g. marked secret).
    pub fn add_function_variable(&self, function: &str, key: &str, value: &str, secret: bool) {
        let mut state = self.shared.lock();
        state.sequence += 1;
        let id = format!("var{}", state.sequence);
        state
            .variables
            .entry(function.to_owned())
            .or_default()
            .push(json!({
            "$id": id, "key": key, "value": value, "secret": secret,
            "resourceType": "function", "resourceId": function}));
    }
}
