//! The deploy's last step: job-observer's function domain and the project webhook that feeds it
//! (docs/observer.md), through Appwrite's REST API: appwrite-cli 12.0.1 cannot pass a webhook
//! secret (docs/appwrite-notes.md § Webhooks and execution events), and its `push functions`
//! creates a function's domain only with a console session.
//!
//! Configured by `JOBS_OBSERVED_FUNCTIONS` (the function ids to observe, comma-separated) and
//! `JOBS_OBSERVER_URL` (the observer's domain URL). The URL must be one Appwrite will deliver
//! to: `POST /v1/webhooks` accepts only a URL on a public domain (a suffix on the public suffix
//! list: not `localhost`, `*.localhost` — so not the self-hosted default `*.functions.localhost`
//! —, `*.test`, `*.local`, `*.internal`, nor an IP address), and the webhooks worker refuses a
//! host resolving to a private or reserved address (Appwrite 1.9.6
//! `Modules/Webhooks/Http/Webhooks/Create.php`, `Workers/Webhooks.php`,
//! `Network/Validator/PublicHostname.php`); such a URL is refused before anything runs.
//!
//! The step makes sure job-observer's domain exists (`GET /v1/proxy/rules`, else
//! `POST /v1/proxy/rules/function` with the URL's host), then on the first deploy it generates a
//! secret, stores it and the URL as `job-observer`'s variables, and creates the webhook with that
//! secret; on later deploys it updates the webhook's URL and events and the URL variable, and
//! keeps the secret (a new one would be refused by running instances that still hold the old
//! variable until their next cold start).

use serde_json::{json, Value};
use shared::appwrite::AppwriteClient;

/// The webhook's id, stable so a second deploy finds it.
pub const WEBHOOK_ID: &str = "job-observer";
pub const OBSERVER: &str = "job-observer";
const NAME: &str = "Job Manager execution observer";

/// What the step needs from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub functions: Vec<String>,
    pub url: String,
}

impl WebhookSettings {
    /// `None` when no function is to be observed (the step is skipped); every problem named.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<WebhookSettings>, shared::config::ConfigError> {
        let mut vars = shared::config::Vars::new(lookup);
        let functions = vars.list("JOBS_OBSERVED_FUNCTIONS");
        if functions.is_empty() {
            return Ok(None);
        }
        for f in &functions {
            if !shared::store::id::is_valid(f) {
                vars.problem(
                    "JOBS_OBSERVED_FUNCTIONS",
                    format!("`{f}` is not a function id"),
                );
            }
            if f == OBSERVER {
                // Its own executions would call it again, forever.
                vars.problem("JOBS_OBSERVED_FUNCTIONS", "must not list job-observer");
            }
        }
        // Appwrite accepts at most 100 events per webhook; one per function.
        if functions.len() > 100 {
            vars.problem(
                "JOBS_OBSERVED_FUNCTIONS",
                "must list at most 100 function ids",
            );
        }
        let url = vars.required(
            "JOBS_OBSERVER_URL",
            "job-observer's domain URL: console → Functions → job-observer → Domains",
        );
        if !url.is_empty() && !url.starts_with("https://") && !url.starts_with("http://") {
            vars.problem("JOBS_OBSERVER_URL", "must start with https:// or http://");
        } else if let Some(problem) = delivery_problem(&url) {
            vars.problem("JOBS_OBSERVER_URL", problem);
        }
        vars.finish(Some(WebhookSettings { functions, url }))
    }

    /// The webhook's events: each observed function's execution updates, the only events that
    /// can change a job (the `create` of an asynchronous execution finds it waiting; docs/adopting.md
    /// § 4b, appwrite-notes.md § Webhooks and execution events).
    pub fn events(&self) -> Vec<String> {
        self.functions
            .iter()
            .map(|f| format!("functions.{f}.executions.*.update"))
            .collect()
    }

    /// The host of the URL: job-observer's domain.
    pub fn domain(&self) -> String {
        host(&self.url).unwrap_or_default().to_owned()
    }

    /// The plan, as printed by `--dry-run` (the secret never shown).
    pub fn plan(&self) -> Vec<String> {
        vec![
            format!(
                "GET /v1/proxy/rules: job-observer's domain {} exists, or POST /v1/proxy/rules/function domain={} functionId={OBSERVER}",
                self.domain(),
                self.domain()
            ),
            format!(
                "POST /v1/functions/{OBSERVER}/variables JOBS_OBSERVER_URL={} and JOBS_OBSERVER_SECRET=<generated> (first deploy; later: PUT the URL, keep the secret)",
                self.url
            ),
            format!(
                "POST /v1/webhooks {WEBHOOK_ID} url={} events={} tls=true secret=<the same> (later deploys: PUT url and events)",
                self.url,
                self.events().join(",")
            ),
        ]
    }
}

/// The host of an `http(s)://` URL (without user info and port; an IPv6 literal unbracketed).
pub fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

/// Top-level names that are on no public suffix list (reserved or private-use), so Appwrite's
/// `PublicDomain` refuses a webhook URL under them.
const NOT_PUBLIC: &[&str] = &[
    "localhost",
    "test",
    "local",
    "internal",
    "invalid",
    "example",
    "lan",
    "home",
    "corp",
    "localdomain",
    "intranet",
    "private",
    "arpa",
];

/// Why Appwrite will not deliver to `url`, if it will not: a host that is not a public domain.
/// Appwrite itself decides by the public suffix list (utopia-php/domains `PublicDomain`, as
/// `Webhooks/Create.php` validates `url`) and, at delivery, by resolving the host
/// (`PublicHostname`: private, loopback, link-local and reserved ranges are refused); this
/// check catches what can be known without DNS.
pub fn delivery_problem(url: &str) -> Option<String> {
    let Some(host) = host(url).filter(|h| !h.is_empty()) else {
        return Some("has no host".into());
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        let private = match ip {
            std::net::IpAddr::V4(v4) => {
                v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified()
            }
            std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified(),
        };
        return Some(format!(
            "`{host}` is an IP address{}: Appwrite accepts a webhook URL only on a public domain (docs/observer.md § Deployment)",
            if private { " in a private range" } else { "" }
        ));
    }
    let tld = host.rsplit('.').next().unwrap_or_default();
    if !host.contains('.') || NOT_PUBLIC.contains(&tld) {
        return Some(format!(
            "`{host}` is not a public domain (Appwrite refuses webhook URLs on localhost, *.localhost such as the self-hosted *.functions.localhost, *.test, *.local, *.internal and other names outside the public suffix list): give job-observer a domain under a public suffix that resolves to a public address (docs/observer.md § Deployment)"
        ));
    }
    None
}

/// Makes sure job-observer's domain (the URL's host) is a rule of job-observer: finds it with
/// `GET /v1/proxy/rules`, or creates it with `POST /v1/proxy/rules/function` (Appwrite 1.9.6
/// `Modules/Proxy/Http/Rules/XList.php`, `Function/Create.php`; scopes `rules.read`,
/// `rules.write`). A domain already used by another resource is an error naming it.
pub fn ensure_domain(api: &dyn Api, settings: &WebhookSettings) -> Result<String, String> {
    let domain = settings.domain();
    let query = shared::url::segment(
        &json!({"method": "equal", "attribute": "domain", "values": [domain]}).to_string(),
    );
    let rules = api
        .send(
            "GET",
            &format!("/proxy/rules?queries%5B%5D={query}"),
            Value::Null,
        )
        .map_err(|(status, kind)| {
            format!("listing proxy rules: Appwrite answered {status} {kind}")
        })?;
    let found = rules["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["domain"] == domain.as_str());
    match found {
        Some(rule) if rule["deploymentResourceId"] == OBSERVER => {
            Ok(format!("domain {domain} of {OBSERVER} exists"))
        }
        Some(rule) => Err(format!(
            "the domain {domain} of JOBS_OBSERVER_URL belongs to another resource ({} {}), not {OBSERVER}",
            rule["deploymentResourceType"].as_str().unwrap_or(rule["type"].as_str().unwrap_or("")),
            rule["deploymentResourceId"].as_str().unwrap_or_default()
        )),
        None => {
            api.send(
                "POST",
                "/proxy/rules/function",
                json!({"domain": domain, "functionId": OBSERVER}),
            )
            .map_err(|(status, kind)| {
                format!("creating the domain {domain} for {OBSERVER}: Appwrite answered {status} {kind}")
            })?;
            Ok(format!("created domain {domain} for {OBSERVER}"))
        }
    }
}

/// The Appwrite calls the step makes; a trait so tests record them without a network.
pub trait Api {
    /// Sends one request; `Err` carries the HTTP status (0 when none) and Appwrite's error type.
    fn send(&self, method: &str, path: &str, body: Value) -> Result<Value, (u16, String)>;
}

/// [`Api`] over the deploy's Appwrite client (its API key, its retries).
pub struct Remote<'a>(pub &'a AppwriteClient);

impl Api for Remote<'_> {
    fn send(&self, method: &str, path: &str, body: Value) -> Result<Value, (u16, String)> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| (0, format!("bad method {method}")))?;
        let body = (method != reqwest::Method::GET).then_some(body);
        crate::remote::send(self.0, method, path, body).map_err(|e| {
            (
                e.status().unwrap_or(0),
                e.kind().map_or_else(|| e.to_string(), str::to_owned),
            )
        })
    }
}

/// A fresh webhook secret: 32 random bytes from the OS, as hex; an error (the deploy stops)
/// when the OS random source fails, never a weaker secret.
pub fn generate_secret() -> Result<String, String> {
    shared::random::secret_hex(32).map_err(|e| format!("cannot generate the webhook secret: {e}"))
}

/// Creates or updates the webhook and the observer's variables. Returns what it did, one line
/// per call, never the secret.
pub fn apply(
    api: &dyn Api,
    settings: &WebhookSettings,
    secret: &str,
) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    let fail = |what: &str, (status, kind): (u16, String)| {
        format!("{what}: Appwrite answered {status} {kind}")
    };
    let variables = format!("/functions/{OBSERVER}/variables");
    let existing = api
        .send("GET", &variables, Value::Null)
        .map_err(|e| fail("listing job-observer's variables", e))?;
    let find = |key: &str| {
        existing["variables"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["key"] == key)
            .and_then(|v| v["$id"].as_str())
            .map(str::to_owned)
    };
    let webhook = json!({
        "webhookId": WEBHOOK_ID, "name": NAME, "url": settings.url, "events": settings.events(),
        "enabled": true, "tls": true, "secret": secret,
    });
    let secret_id = find(shared::observer::SECRET_VAR);
    // The variables first: the observer must accept the webhook's first delivery.
    for (key, value, is_secret) in [
        (shared::observer::URL_VAR, settings.url.as_str(), false),
        (shared::observer::SECRET_VAR, secret, true),
    ] {
        match find(key) {
            Some(_) if key == shared::observer::SECRET_VAR => {
                done.push(format!("kept {key} (the webhook keeps its secret)"));
            }
            Some(id) => {
                // Without `secret`: Appwrite keeps it, and refuses to unset it (400
                // `variable_cannot_unset_secret`, 1.9.6 `Variables/Update.php`).
                api.send(
                    "PUT",
                    &format!("{variables}/{id}"),
                    json!({"key": key, "value": value}),
                )
                .map_err(|e| fail(&format!("updating {key}"), e))?;
                done.push(format!("updated {key}"));
            }
            None => {
                api.send("POST", &variables, json!({"variableId": "unique()", "key": key, "value": value, "secret": is_secret}))
                    .map_err(|e| fail(&format!("creating {key}"), e))?;
                done.push(format!("created {key}"));
            }
        }
    }
    match api.send("POST", "/webhooks", webhook.clone()) {
        Ok(_) if secret_id.is_none() => done.push(format!("created webhook {WEBHOOK_ID}")),
        Ok(_) => {
            // A webhook deleted by hand while its secret variable stayed: align the variable.
            let id = secret_id.unwrap_or_default();
            api.send(
                "PUT",
                &format!("{variables}/{id}"),
                json!({"key": shared::observer::SECRET_VAR, "value": secret, "secret": true}),
            )
            .map_err(|e| fail("updating JOBS_OBSERVER_SECRET", e))?;
            done.push(format!(
                "created webhook {WEBHOOK_ID} and updated JOBS_OBSERVER_SECRET"
            ));
        }
        Err((409, _)) => {
            let mut update = webhook;
            if let Some(map) = update.as_object_mut() {
                map.remove("webhookId");
                map.remove("secret");
            }
            api.send("PUT", &format!("/webhooks/{WEBHOOK_ID}"), update)
                .map_err(|e| fail("updating the webhook", e))?;
            done.push(format!("updated webhook {WEBHOOK_ID} (url, events)"));
            if secret_id.is_none() {
                // The variable was missing, so the webhook's key is unknown: give it ours.
                api.send(
                    "PATCH",
                    &format!("/webhooks/{WEBHOOK_ID}/secret"),
                    json!({"secret": secret}),
                )
                .map_err(|e| fail("setting the webhook's secret", e))?;
                done.push(format!("set the secret of webhook {WEBHOOK_ID}"));
            }
        }
        Err(e) => return Err(fail("creating the webhook", e)),
    }
    Ok(done)
}

/// Reads the step's settings from the environment; `None` when no function is observed.
pub fn settings_from_env() -> Result<Option<WebhookSettings>, String> {
    WebhookSettings::from_lookup(|name| std::env::var(name).ok()).map_err(|e| e.to_string())
}

/// Prints the step's plan: part of the deploy's printed plan, so `--dry-run` shows it.
pub fn print_plan(settings: Option<&WebhookSettings>) {
    match settings {
        None => println!(
            "9. observer domain and webhook: skipped (set JOBS_OBSERVED_FUNCTIONS and JOBS_OBSERVER_URL; docs/observer.md)"
        ),
        Some(s) => {
            println!("9. observer domain and webhook (Appwrite REST API, with APPWRITE_API_KEY), after readiness:");
            for line in s.plan() {
                println!("   {line}");
            }
        }
    }
}

/// Carries the step out with the deploy's Appwrite client.
pub fn deploy(settings: &WebhookSettings, api: &AppwriteClient) -> Result<(), String> {
    println!("observer: {}", ensure_domain(&Remote(api), settings)?);
    let secret = generate_secret()?;
    for line in apply(&Remote(api), settings, &secret)? {
        println!("observer webhook: {line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Appwrite as far as the step sees it: the webhook and the observer's variables.
    #[derive(Default)]
    struct Recorded {
        calls: Mutex<Vec<(String, String, Value)>>,
        variables: Mutex<Vec<(String, String, String)>>,
        webhook_secret: Mutex<Option<String>>,
    }

    impl Api for Recorded {
        fn send(&self, method: &str, path: &str, body: Value) -> Result<Value, (u16, String)> {
            self.calls
                .lock()
                .unwrap()
                .push((method.into(), path.into(), body.clone()));
            let mut vars = self.variables.lock().unwrap();
            let mut secret = self.webhook_secret.lock().unwrap();
            match (method, path) {
                ("GET", p) if p.starts_with("/proxy/rules") => Ok(json!({"rules": []})),
                ("POST", "/proxy/rules/function") => Ok(json!({})),
                ("GET", _) => Ok(
                    json!({"variables": vars.iter().map(|(id, k, _)| json!({"$id": id, "key": k})).collect::<Vec<_>>()}),
                ),
                ("POST", "/webhooks") if secret.is_some() => {
                    Err((409, "webhook_already_exists".into()))
                }
                ("POST", "/webhooks") | ("PATCH", _) => {
                    *secret = body["secret"].as_str().map(str::to_owned);
                    Ok(json!({}))
                }
                ("POST", _) => {
                    let id = format!("v{}", vars.len());
                    vars.push((
                        id,
                        body["key"].as_str().unwrap().into(),
                        body["value"].as_str().unwrap().into(),
                    ));
                    Ok(json!({}))
                }
                ("PUT", p) if p.contains("/variables/") => {
                    let id = p.rsplit('/').next().unwrap();
                    let v = vars.iter_mut().find(|(i, _, _)| i == id).unwrap();
                    v.2 = body["value"].as_str().unwrap().into();
                    Ok(json!({}))
                }
                _ => Ok(json!({})),
            }
        }
    }

    impl Recorded {
        fn variable(&self, key: &str) -> Option<String> {
            self.variables
                .lock()
                .unwrap()
                .iter()
                .find(|(_, k, _)| k == key)
                .map(|v| v.2.clone())
        }
    }

    fn settings() -> WebhookSettings {
        WebhookSettings::from_lookup(|k| match k {
            "JOBS_OBSERVED_FUNCTIONS" => Some("orchestrator, sqs-poller".into()),
            "JOBS_OBSERVER_URL" => Some("https://observer.example.com/".into()),
            _ => None,
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn the_first_deploy_stores_the_variables_then_creates_the_webhook_with_the_same_secret() {
        let appwrite = Recorded::default();
        apply(&appwrite, &settings(), "secret-one-0123456789").unwrap();
        assert_eq!(
            appwrite.variable("JOBS_OBSERVER_SECRET").as_deref(),
            Some("secret-one-0123456789")
        );
        assert_eq!(
            appwrite.variable("JOBS_OBSERVER_URL").as_deref(),
            Some("https://observer.example.com/")
        );
        assert_eq!(
            appwrite.webhook_secret.lock().unwrap().as_deref(),
            Some("secret-one-0123456789")
        );
        let calls = appwrite.calls.lock().unwrap();
        let create = calls
            .iter()
            .find(|(m, p, _)| m == "POST" && p == "/webhooks")
            .unwrap();
        assert_eq!(
            create.2["events"],
            json!([
                "functions.orchestrator.executions.*.update",
                "functions.sqs-poller.executions.*.update"
            ])
        );
        assert_eq!(create.2["tls"], true);
        let last_variable = calls
            .iter()
            .rposition(|(_, p, _)| p.contains("/variables"))
            .unwrap();
        let webhook = calls.iter().position(|(_, p, _)| p == "/webhooks").unwrap();
        assert!(
            last_variable < webhook,
            "variables must exist before the first delivery"
        );
    }

    #[test]
    fn a_second_deploy_updates_url_and_events_and_keeps_the_secret() {
        let appwrite = Recorded::default();
        apply(&appwrite, &settings(), "secret-one-0123456789").unwrap();
        let done = apply(&appwrite, &settings(), "secret-two-0123456789").unwrap();
        assert_eq!(
            appwrite.variable("JOBS_OBSERVER_SECRET").as_deref(),
            Some("secret-one-0123456789")
        );
        assert_eq!(
            appwrite.webhook_secret.lock().unwrap().as_deref(),
            Some("secret-one-0123456789")
        );
        assert!(
            done.iter().any(|l| l.contains("updated webhook")),
            "{done:?}"
        );
        let calls = appwrite.calls.lock().unwrap();
        let update = calls
            .iter()
            .find(|(m, p, _)| m == "PUT" && p == "/webhooks/job-observer")
            .unwrap();
        assert!(update.2.get("secret").is_none());
    }

    #[test]
    fn a_webhook_whose_secret_variable_is_missing_gets_the_new_secret() {
        let appwrite = Recorded::default();
        *appwrite.webhook_secret.lock().unwrap() = Some("unknown-old-secret".into());
        apply(&appwrite, &settings(), "secret-two-0123456789").unwrap();
        assert_eq!(
            appwrite.webhook_secret.lock().unwrap().as_deref(),
            Some("secret-two-0123456789")
        );
        assert_eq!(
            appwrite.variable("JOBS_OBSERVER_SECRET").as_deref(),
            Some("secret-two-0123456789")
        );
    }

    #[test]
    fn nothing_observed_skips_the_step_and_bad_settings_are_named() {
        assert_eq!(WebhookSettings::from_lookup(|_| None), Ok(None));
        let problems = WebhookSettings::from_lookup(|k| match k {
            "JOBS_OBSERVED_FUNCTIONS" => Some("job-observer, bad id".into()),
            _ => None,
        })
        .unwrap_err()
        .to_string();
        for part in [
            "must not list job-observer",
            "`bad id`",
            "JOBS_OBSERVER_URL",
        ] {
            assert!(problems.contains(part), "{problems}");
        }
    }

    #[test]
    fn an_observer_url_appwrite_will_not_deliver_to_is_refused_naming_the_rule() {
        for url in [
            "http://localhost/",
            "http://job-observer.functions.localhost/",
            "https://observer.example.test/",
            "https://observer.corp.internal/",
            "http://10.0.0.5/",
            "http://192.168.1.20:8080/",
            "http://[::1]/",
            "https://203.0.113.9/",
            "https://observer/",
        ] {
            let problem = delivery_problem(url).unwrap_or_else(|| panic!("{url} accepted"));
            assert!(
                problem.contains("public domain") && problem.contains("docs/observer.md"),
                "{url}: {problem}"
            );
        }
        for url in [
            "https://observer.example.com/",
            "https://64f0c1.fra.appwrite.run/",
            "https://user@jobs.pivotr.io:443/hook?x=1",
        ] {
            assert_eq!(delivery_problem(url), None, "{url}");
        }
        let problems = WebhookSettings::from_lookup(|k| match k {
            "JOBS_OBSERVED_FUNCTIONS" => Some("orchestrator".into()),
            "JOBS_OBSERVER_URL" => Some("http://abc.functions.localhost/".into()),
            _ => None,
        })
        .unwrap_err()
        .to_string();
        assert!(
            problems.contains("JOBS_OBSERVER_URL") && problems.contains("*.functions.localhost"),
            "{problems}"
        );
    }

    #[test]
    fn the_observer_domain_is_created_once_and_a_domain_of_another_resource_is_refused() {
        let appwrite = Recorded::default();
        let done = ensure_domain(&appwrite, &settings()).unwrap();
        assert_eq!(done, "created domain observer.example.com for job-observer");
        let calls = appwrite.calls.lock().unwrap();
        let create = calls.iter().find(|(m, _, _)| m == "POST").unwrap();
        assert_eq!(create.1, "/proxy/rules/function");
        assert_eq!(
            create.2,
            json!({"domain": "observer.example.com", "functionId": "job-observer"})
        );

        struct Rules(Value);
        impl Api for Rules {
            fn send(&self, method: &str, _: &str, _: Value) -> Result<Value, (u16, String)> {
                assert_eq!(method, "GET", "nothing is created when the rule exists");
                Ok(self.0.clone())
            }
        }
        let own = Rules(
            json!({"rules": [{"domain": "observer.example.com", "deploymentResourceId": "job-observer"}]}),
        );
        assert!(ensure_domain(&own, &settings()).unwrap().contains("exists"));
        let other = Rules(
            json!({"rules": [{"domain": "observer.example.com", "deploymentResourceType": "site", "deploymentResourceId": "landing"}]}),
        );
        let err = ensure_domain(&other, &settings()).unwrap_err();
        assert!(err.contains("site landing"), "{err}");
    }

    #[test]
    fn the_plan_never_shows_a_secret() {
        let plan = settings().plan().join("\n");
        assert!(
            plan.contains("<generated>")
                && plan.contains("functions.sqs-poller.executions.*.update")
        );
        assert_eq!(generate_secret().unwrap().len(), 64);
    }
}
