//! Functions, deployments, variables, proxy rules, webhooks and key scopes, as Appwrite 1.9.6
//! answers a project API key (no console session): what `scripts/deploy` drives.
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
//!   `Console/Http/Variables/Get.php`) answers a key 401 `general_unauthorized_scope`;
//! - scopes: with [`FakeAppwrite::set_key_scopes`](crate::FakeAppwrite::set_key_scopes), a
//!   route refuses the key unless it holds one of the route's scopes, with Appwrite's message
//!   (`app/controllers/shared/api.php` step 9).

use serde_json::{json, Value};

use crate::{now_text, valid_id, Answer, State};

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
    /// `None`: the key holds every scope.
    pub(crate) key_scopes: Option<Vec<String>>,
}

impl Functions {
    pub(crate) fn stall(&mut self, function: &str) {
        self.stalled.push(function.to_owned());
    }
}

/// The scopes a route accepts (any one suffices), as labelled in Appwrite 1.9.6.
pub(crate) fn required_scopes(method: &str, parts: &[&str]) -> Option<&'static [&'static str]> {
    let read = method == "GET";
    Some(match parts {
        ["console", ..] => &["projects.read"],
        ["teams"] | ["teams", _] if read => &["teams.read"],
        ["teams", _, "memberships"] => &["teams.read"],
        ["teams", ..] => &["teams.write"],
        ["users", ..] => &["users.read"],
        ["tablesdb"] | ["tablesdb", _] if read => &["databases.read"],
        ["tablesdb"] | ["tablesdb", _] => &["databases.write"],
        ["tablesdb", _, "tables"] | ["tablesdb", _, "tables", _] if read => {
            &["tables.read", "collections.read"]
        }
        ["tablesdb", _, "tables"] | ["tablesdb", _, "tables", _] => {
            &["tables.write", "collections.write"]
        }
        ["tablesdb", _, "tables", _, "rows", ..] if read => &["rows.read", "documents.read"],
        ["tablesdb", _, "tables", _, "rows", ..] => &["rows.write", "documents.write"],
        ["tablesdb", _, "tables", _, "columns", ..] if read => &[
            "tables.read",
            "collections.read",
            "columns.read",
            "attributes.read",
        ],
        ["tablesdb", _, "tables", _, "columns", ..] => &[
            "tables.write",
            "collections.write",
            "columns.write",
            "attributes.write",
        ],
        ["tablesdb", _, "tables", _, "indexes", ..] if read => {
            &["tables.read", "collections.read", "indexes.read"]
        }
        ["tablesdb", _, "tables", _, "indexes", ..] => {
            &["tables.write", "collections.write", "indexes.write"]
        }
        // The legacy routes CLI 12.0.1 uses for columns and indexes accept only these.
        ["databases", _, "collections", ..] if read => &["collections.read"],
        ["databases", _, "collections", ..] => &["collections.write"],
        ["functions", _, "executions"] => &["executions.write", "execution.write"],
        ["functions", ..] if read => &["functions.read"],
        ["functions", ..] => &["functions.write"],
        ["proxy", ..] if read => &["rules.read"],
        ["proxy", ..] => &["rules.write"],
        ["webhooks", ..] if read => &["webhooks.read"],
        ["webhooks", ..] => &["webhooks.write"],
        _ => return None,
    })
}

fn unauthorized(project: &str, allowed: &[&str]) -> Answer {
    Answer::error(
        401,
        "general_unauthorized_scope",
        format!(
            "app.{project}@service.localhost (role: applications) missing scopes ({})",
            json!(allowed)
        ),
    )
}

/// The answer for the routes of this module (and the scope check of every route), or `None`
/// to let the rest of the fake answer.
pub(crate) fn handle(
    state: &mut State,
    project: &str,
    method: &str,
    path: &str,
    upload: &Upload<'_>,
    raw: &[u8],
) -> Option<Answer> {
    let owned = crate::path_segments(path)?;
    let parts: Vec<&str> = owned.iter().map(String::as_str).collect();
    if let (Some(held), Some(allowed)) = (
        state.functions.key_scopes.as_ref(),
        required_scopes(method, &parts),
    ) {
        if !allowed.iter().any(|s| held.iter().any(|h| h == s)) {
            return Some(unauthorized(project, allowed));
        }
    }
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
            Err(_) => {
                return Some(Answer::error(
                    400,
                    "general_argument_invalid",
                    "Invalid JSON body",
                ))
            }
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
        ("PATCH", ["functions", id, "deployment"]) => activate(state, id, &body),
        ("POST", ["functions", id, "deployments"]) => match find(state, id) {
            None => function_not_found(),
            Some(f) => {
                let f = f.clone();
                create_deployment(state, &f, upload, raw, &now)
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
        ("GET", ["functions", id, "deployments", deployment]) => build_step(state, id, deployment),
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
        ("POST", ["proxy", "rules", "function"]) => create_rule(state, &body, &now),
        ("GET", ["webhooks"]) => {
            let list = &state.functions.webhooks;
            Answer::json(200, json!({"total": list.len(), "webhooks": list}))
        }
        ("POST", ["webhooks"]) => create_webhook(state, &body, &now),
        ("PUT", ["webhooks", id]) => update_webhook(state, id, &body, None),
        ("PATCH", ["webhooks", id, "secret"]) => {
            let secret = body["secret"].as_str().unwrap_or("generated").to_owned();
            update_webhook(state, id, &Value::Null, Some(secret))
        }
        _ => return None,
    };
    Some(answer)
}

fn find<'a>(state: &'a State, id: &str) -> Option<&'a Value> {
    state.functions.functions.iter().find(|f| f["$id"] == id)
}

fn function_not_found() -> Answer {
    Answer::error(
        404,
        "function_not_found",
        "Function with the requested ID could not be found.",
    )
}

fn missing(param: &str) -> Answer {
    Answer::error(
        400,
        "general_argument_invalid",
        format!("Param \"{param}\" is not optional."),
    )
}

/// The settings `POST`/`PUT /v1/functions` take, with Appwrite's defaults.
/// A setting's default.
type Default = fn() -> Value;

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

fn create_function(state: &mut State, body: &Value, now: &str) -> Answer {
    let Some(id) = body["functionId"].as_str() else {
        return missing("functionId");
    };
    let id = if id == "unique()" {
        state.sequence += 1;
        format!("fn{}", state.sequence)
    } else {
        id.to_owned()
    };
    if !valid_id(&id) {
        return Answer::error(
            400,
            "general_argument_invalid",
            "Invalid `functionId` param",
        );
    }
    for param in ["name", "runtime"] {
        if body[param].as_str().is_none_or(str::is_empty) {
            return missing(param);
        }
    }
    if find(state, &id).is_some() {
        return Answer::error(409, "function_already_exists", "Function with the requested ID already exists. Try again with a different ID or use ID.unique() to generate a unique ID.");
    }
    let mut function = json!({"$id": id, "$createdAt": now, "$updatedAt": now,
        "name": body["name"], "runtime": body["runtime"], "deploymentId": "",
        "latestDeploymentId": "", "latestDeploymentStatus": "", "live": true, "vars": []});
    for (key, default) in SETTINGS {
        function[key] = body
            .get(key)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(default);
    }
    state.functions.functions.push(function.clone());
    Answer::json(201, function)
}

fn update_function(state: &mut State, id: &str, body: &Value, now: &str) -> Answer {
    if body["name"].as_str().is_none_or(str::is_empty) {
        return missing("name");
    }
    let Some(function) = state
        .functions
        .functions
        .iter_mut()
        .find(|f| f["$id"] == id)
    else {
        return function_not_found();
    };
    function["name"] = body["name"].clone();
    if let Some(runtime) = body["runtime"].as_str().filter(|r| !r.is_empty()) {
        function["runtime"] = json!(runtime);
    }
    for (key, default) in SETTINGS {
        function[key] = body
            .get(key)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(default);
    }
    function["$updatedAt"] = json!(now);
    Answer::json(200, function.clone())
}

fn activate(state: &mut State, id: &str, body: &Value) -> Answer {
    let Some(deployment_id) = body["deploymentId"].as_str() else {
        return missing("deploymentId");
    };
    let Some(deployment) = state
        .deployments
        .iter()
        .find(|d| d["$id"] == deployment_id && d["resourceId"] == id)
    else {
        return deployment_not_found();
    };
    if deployment["status"] != "ready" {
        return Answer::error(
            400,
            "build_not_ready",
            "Build with the requested ID is building and not ready for execution.",
        );
    }
    let Some(function) = state
        .functions
        .functions
        .iter_mut()
        .find(|f| f["$id"] == id)
    else {
        return function_not_found();
    };
    function["deploymentId"] = json!(deployment_id);
    Answer::json(200, function.clone())
}

/// One multipart part: its field name, file name and bytes.
struct Part<'a> {
    name: String,
    filename: Option<String>,
    data: &'a [u8],
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A small `multipart/form-data` reader (RFC 7578), enough for what clients send.
fn multipart<'a>(content_type: &str, raw: &'a [u8]) -> Option<Vec<Part<'a>>> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = &raw[find_bytes(raw, delimiter.as_bytes())? + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find_bytes(rest, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let after = &rest[head_end + 4..];
        let end = find_bytes(after, format!("\r\n{delimiter}").as_bytes())?;
        let attribute = |key: &str| {
            let marker = format!("{key}=\"");
            let start = head.find(&marker)? + marker.len();
            let len = head[start..].find('"')?;
            Some(head[start..start + len].to_owned())
        };
        parts.push(Part {
            name: attribute(" name").or_else(|| attribute(";name"))?,
            filename: attribute("filename"),
            data: &after[..end],
        });
        rest = &after[end + 2 + delimiter.len()..];
    }
}

/// `bytes start-end/size`.
fn content_range(raw: &str) -> Option<(usize, usize, usize)> {
    let range = raw.trim().strip_prefix("bytes ")?;
    let (span, size) = range.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    Some((start.parse().ok()?, end.parse().ok()?, size.parse().ok()?))
}

fn create_deployment(
    state: &mut State,
    function: &Value,
    upload: &Upload<'_>,
    raw: &[u8],
    now: &str,
) -> Answer {
    let id = function["$id"].as_str().unwrap_or_default().to_owned();
    let parts = upload
        .content_type
        .filter(|t| t.starts_with("multipart/form-data"))
        .and_then(|t| multipart(t, raw))
        .unwrap_or_default();
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
            .map(|p| String::from_utf8_lossy(p.data).into_owned())
    };
    let entrypoint = field("entrypoint")
        .or_else(|| function["entrypoint"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if entrypoint.is_empty() {
        return Answer::error(400, "function_entrypoint_missing", "Entrypoint for your Appwrite Function is missing. Please specify it when making deployment or update the entrypoint under your function's \"Settings\" > \"Configuration\" > \"Entrypoint\".");
    }
    let Some(code) = parts
        .iter()
        .find(|p| p.name == "code" && p.filename.is_some())
    else {
        return Answer::error(400, "storage_file_empty", "No file sent");
    };
    if !code
        .filename
        .as_deref()
        .unwrap_or_default()
        .ends_with(".gz")
    {
        return Answer::error(
            400,
            "storage_file_type_unsupported",
            "The given file extension is not supported.",
        );
    }
    let activate = matches!(field("activate").as_deref(), Some("true" | "1"));
    let (deployment_id, complete) = match upload.content_range {
        None => {
            state.sequence += 1;
            (format!("dep{}", state.sequence), Some(code.data.to_vec()))
        }
        Some(range) => {
            let Some((start, end, size)) = content_range(range).filter(|(s, e, n)| s <= e && e < n)
            else {
                return Answer::error(416, "storage_invalid_content_range", "The content range is invalid. Please check the value of the Content-Range header.");
            };
            let deployment_id = match upload.upload_id {
                Some(id) => id.to_owned(),
                None => {
                    state.sequence += 1;
                    format!("dep{}", state.sequence)
                }
            };
            let entry = state
                .functions
                .uploads
                .entry(deployment_id.clone())
                .or_insert_with(|| (vec![0; size], 0));
            if code.data.len() != end - start + 1 || entry.0.len() != size {
                return Answer::error(416, "storage_invalid_content_range", "The content range is invalid. Please check the value of the Content-Range header.");
            }
            entry.0[start..=end].copy_from_slice(code.data);
            entry.1 += code.data.len();
            let done = (entry.1 >= size).then(|| entry.0.clone());
            (deployment_id, done)
        }
    };
    let chunks_total = content_range(upload.content_range.unwrap_or(""))
        .map_or(1, |(_, _, size)| size.div_ceil(CHUNK_SIZE));
    let existing = state
        .deployments
        .iter()
        .position(|d| d["$id"] == deployment_id);
    let deployment = json!({"$id": deployment_id, "$createdAt": now, "$updatedAt": now,
        "type": "manual", "resourceId": id, "resourceType": "functions",
        "entrypoint": entrypoint, "buildCommands": field("commands").unwrap_or_default(),
        "sourceSize": complete.as_ref().map_or(0, Vec::len), "activate": activate,
        "status": "waiting", "buildLogs": "", "sourceChunksTotal": chunks_total,
        "sourceChunksUploaded": if complete.is_some() { chunks_total } else { 0 },
        "source": complete.as_ref().map_or(json!(null), |b| json!(b.len()))});
    match existing {
        Some(i) => state.deployments[i] = deployment.clone(),
        None => state.deployments.push(deployment.clone()),
    }
    if complete.is_some() {
        state.functions.uploads.remove(&deployment_id);
        state.sequence += 1;
        if let Some(f) = state
            .functions
            .functions
            .iter_mut()
            .find(|f| f["$id"] == id)
        {
            f["latestDeploymentId"] = json!(deployment_id);
            f["latestDeploymentStatus"] = json!("waiting");
        }
    }
    Answer::json(202, deployment)
}

/// Reading a deployment moves its build one step on.
fn build_step(state: &mut State, function: &str, deployment_id: &str) -> Answer {
    let fails = state.failing_builds.iter().any(|f| f == function);
    let stalls = state.functions.stalled.iter().any(|f| f == function);
    let Some(deployment) = state
        .deployments
        .iter_mut()
        .find(|d| d["$id"] == deployment_id && d["resourceId"] == function)
    else {
        return deployment_not_found();
    };
    let uploaded = deployment["sourceChunksUploaded"] == deployment["sourceChunksTotal"];
    let next = match deployment["status"].as_str().unwrap_or_default() {
        _ if !uploaded => "waiting",
        "waiting" => "processing",
        "processing" => "building",
        "building" if stalls => "building",
        "building" if fails => "failed",
        "building" => "ready",
        other => other,
    }
    .to_owned();
    deployment["status"] = json!(next);
    if next == "failed" {
        deployment["buildLogs"] = json!("error[E0308]: mismatched types (fake build failure)");
    }
    let activate = deployment["activate"] == true;
    let answer = deployment.clone();
    if let Some(f) = state
        .functions
        .functions
        .iter_mut()
        .find(|f| f["$id"] == function)
    {
        if f["latestDeploymentId"] == deployment_id {
            f["latestDeploymentStatus"] = json!(next);
        }
        if next == "ready" && activate {
            f["deploymentId"] = json!(deployment_id);
        }
    }
    Answer::json(200, answer)
}

fn create_variable(state: &mut State, function: &str, body: &Value, now: &str) -> Answer {
    if find(state, function).is_none() {
        return function_not_found();
    }
    let Some(requested) = body["variableId"].as_str() else {
        return missing("variableId");
    };
    for param in ["key", "value"] {
        if body[param].as_str().is_none() {
            return missing(param);
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

fn create_rule(state: &mut State, body: &Value, now: &str) -> Answer {
    let (Some(domain), Some(function)) = (body["domain"].as_str(), body["functionId"].as_str())
    else {
        return missing("domain");
    };
    if find(state, function).is_none() {
        return Answer::error(404, "rule_resource_not_found", "Resource could not be found. Please check if the resourceId and resourceType are correct, or if the resource actually exists.");
    }
    if state.functions.rules.iter().any(|r| r["domain"] == domain) {
        return Answer::error(
            409,
            "rule_already_exists",
            "Domain is already used. Please try again with a different domain.",
        );
    }
    state.sequence += 1;
    let rule = json!({"$id": format!("rule{}", state.sequence), "$createdAt": now,
        "$updatedAt": now, "domain": domain, "type": "deployment", "trigger": "manual",
        "deploymentResourceType": "function", "deploymentResourceId": function,
        "deploymentId": "", "status": "unverified", "logs": ""});
    state.functions.rules.push(rule.clone());
    Answer::json(201, rule)
}

/// `PublicDomain` (utopia-php/domains): the host's suffix must be on the public suffix list;
/// the fake knows the reserved names that are not.
fn public_domain(url: &str) -> bool {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let tld = host.rsplit('.').next().unwrap_or_default();
    host.contains('.')
        && host.parse::<std::net::IpAddr>().is_err()
        && !matches!(
            tld,
            "localhost" | "test" | "local" | "internal" | "invalid" | "example"
        )
}

fn create_webhook(state: &mut State, body: &Value, now: &str) -> Answer {
    let url = body["url"].as_str().unwrap_or_default();
    if !public_domain(url) {
        return Answer::error(400, "general_argument_invalid", "Invalid `url` param: Value must be a valid URL with following schemes (http, https) and Value must be a public domain");
    }
    let id = body["webhookId"].as_str().unwrap_or("unique()").to_owned();
    if state
        .functions
        .webhooks
        .iter()
        .any(|w| w["$id"] == id.as_str())
    {
        return Answer::error(
            409,
            "webhook_already_exists",
            "A webhook with the same ID already exists. Try again with a different ID.",
        );
    }
    let webhook = json!({"$id": id, "$createdAt": now, "$updatedAt": now, "name": body["name"],
        "url": url, "events": body["events"], "enabled": body["enabled"].as_bool().unwrap_or(true),
        "tls": body["tls"].as_bool().unwrap_or(false),
        "secret": body["secret"].as_str().unwrap_or("generated")});
    state.functions.webhooks.push(webhook.clone());
    Answer::json(201, webhook)
}

fn update_webhook(state: &mut State, id: &str, body: &Value, secret: Option<String>) -> Answer {
    if let Some(url) = body["url"].as_str() {
        if !public_domain(url) {
            return Answer::error(400, "general_argument_invalid", "Invalid `url` param: Value must be a valid URL with following schemes (http, https) and Value must be a public domain");
        }
    }
    let Some(webhook) = state.functions.webhooks.iter_mut().find(|w| w["$id"] == id) else {
        return Answer::error(
            404,
            "webhook_not_found",
            "Webhook with the requested ID could not be found.",
        );
    };
    for key in ["name", "url", "events", "enabled", "tls"] {
        if let Some(value) = body.get(key).filter(|v| !v.is_null()) {
            webhook[key] = value.clone();
        }
    }
    if let Some(secret) = secret {
        webhook["secret"] = json!(secret);
    }
    Answer::json(200, webhook.clone())
}

impl crate::FakeAppwrite {
    /// Limits the fake's key to `scopes` (every route then refuses it unless it holds one of
    /// the route's scopes); `None` gives it every scope again.
    pub fn set_key_scopes(&self, scopes: Option<&[&str]>) {
        self.shared.lock().functions.key_scopes =
            scopes.map(|s| s.iter().map(|s| s.to_string()).collect());
    }

    /// Makes every later build of `function` stay `building`.
    pub fn stall_builds_of(&self, function: &str) {
        self.shared.lock().functions.stall(function);
    }

    /// A function's document, as `GET /v1/functions/{id}` answers it.
    pub fn function(&self, id: &str) -> Option<Value> {
        find(&self.shared.lock(), id).cloned()
    }

    /// The deployments of `function`, newest last.
    pub fn deployments(&self, function: &str) -> Vec<Value> {
        self.shared
            .lock()
            .deployments
            .iter()
            .filter(|d| d["resourceId"] == function)
            .cloned()
            .collect()
    }

    /// The proxy rules created.
    pub fn rules(&self) -> Vec<Value> {
        self.shared.lock().functions.rules.clone()
    }

    /// The webhooks created, with their secrets.
    pub fn webhooks(&self) -> Vec<Value> {
        self.shared.lock().functions.webhooks.clone()
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

/// Appwrite's answer for a deployment id the function does not have.
fn deployment_not_found() -> Answer {
    Answer::error(
        404,
        "deployment_not_found",
        "Deployment with the requested ID could not be found.",
    )
}
