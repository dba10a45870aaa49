//! One request to Appwrite and its answer: [`Call`] (method, path, query, body, the
//! conditional-write timestamp), [`AppwriteClient::send`] with the project's headers and the
//! retries its [`Retry`] allows, and the decoding of bodies and of Appwrite's error shape into
//! [`Reply`] or [`AppwriteError`]. The endpoints themselves are in `rows`, `functions` and
//! `users`.

use std::sync::{Arc, OnceLock};

pub use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::{AppwriteConfig, AppwriteError, Retry, RetryPolicy};

/// The response/request model version we speak. Pinned so a server upgrade never changes the shapes
/// we parse: the server down-converts to this format (appwrite-notes: Response format). 1.9.0 is
/// the self-hosted line our notes were verified against (1.9.6); the TablesDB row models are the
/// same in the Cloud 2.x line.
const RESPONSE_FORMAT: &str = "1.9.0";

/// One process-wide HTTP client (connection pool, TLS setup) per certificate policy; cloning
/// it is cheap. The lenient one exists only when [`super::var::SELF_SIGNED`] asked for it.
fn shared_http(accept_invalid_certs: bool) -> Result<reqwest::blocking::Client, AppwriteError> {
    static STRICT: OnceLock<Result<reqwest::blocking::Client, String>> = OnceLock::new();
    static LENIENT: OnceLock<Result<reqwest::blocking::Client, String>> = OnceLock::new();
    let cell = if accept_invalid_certs {
        &LENIENT
    } else {
        &STRICT
    };
    cell.get_or_init(|| {
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(accept_invalid_certs)
            .build()
            .map_err(|e| e.without_url().to_string())
    })
    .clone()
    .map_err(AppwriteError::Client)
}

/// A successful answer and how many attempts it took (callers verify outcomes of retries).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub body: Value,
    attempts: u32,
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Call {
    method: Method,
    /// Path below the endpoint, starting with `/`.
    path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    /// `X-Appwrite-Timestamp`: the write applies only if the row was not updated after it
    /// (appwrite-notes: Conditional writes).
    pub(crate) timestamp: Option<String>,
    retry: Retry,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>, retry: Retry) -> Self {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            timestamp: None,
            retry,
        }
    }
}

/// The client: configuration, the shared HTTP pool and the retry policy. Build one per
/// execution (the key is per request); the HTTP pool underneath is per process.
#[derive(Debug, Clone)]
pub struct AppwriteClient {
    config: Arc<AppwriteConfig>,
    retry: RetryPolicy,
}

impl AppwriteClient {
    pub fn new(config: AppwriteConfig) -> Self {
        AppwriteClient {
            config: Arc::new(config),
            retry: RetryPolicy::default(),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn config(&self) -> &AppwriteConfig {
        &self.config
    }

    /// Sends `call`, retrying transient failures as its `retry` allows.
    pub fn send(&self, call: &Call) -> Result<Reply, AppwriteError> {
        let http = shared_http(self.config.accept_invalid_certs)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (result, reset) = self.attempt(&http, call);
            let err = match result {
                Ok(body) => {
                    return Ok(Reply {
                        body,
                        attempts: attempt,
                    })
                }
                Err(err) => err,
            };
            let retryable = match call.retry {
                Retry::Idempotent => err.is_transient(),
                Retry::OnlyRateLimit => err.status() == Some(429),
            };
            if !retryable {
                return Err(err);
            }
            if attempt >= self.retry.attempts.max(1) {
                return Err(AppwriteError::Exhausted {
                    attempts: attempt,
                    last: Box::new(err),
                });
            }
            (self.retry.sleep)(self.retry.delay(attempt, reset));
        }
    }

    /// One attempt: the decoded body or error, plus the rate-limit reset if one was sent.
    fn attempt(
        &self,
        http: &reqwest::blocking::Client,
        call: &Call,
    ) -> (Result<Value, AppwriteError>, Option<u64>) {
        let url = format!("{}{}", self.config.endpoint, call.path);
        let mut req = http
            .request(call.method.clone(), url)
            .timeout(self.config.timeout)
            .header("X-Appwrite-Project", &self.config.project)
            .header("X-Appwrite-Key", self.config.key.expose())
            .header("X-Appwrite-Response-Format", RESPONSE_FORMAT)
            .header("Accept", "application/json");
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        if let Some(ts) = &call.timestamp {
            req = req.header("X-Appwrite-Timestamp", ts);
        }
        if let Some(body) = &call.body {
            req = req
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let resp = match req.send() {
            Ok(resp) => resp,
            Err(e) => {
                return (
                    Err(AppwriteError::Transport(e.without_url().to_string())),
                    None,
                )
            }
        };
        let status = resp.status().as_u16();
        let reset = resp
            .headers()
            .get("X-RateLimit-Reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = match resp.bytes() {
            Ok(b) => b,
            Err(e) => {
                return (
                    Err(AppwriteError::Transport(e.without_url().to_string())),
                    reset,
                )
            }
        };
        (decode(status, &bytes), reset)
    }
}

/// Decodes a response: JSON on success, Appwrite's `{message, code, type, version}` otherwise.
fn decode(status: u16, bytes: &[u8]) -> Result<Value, AppwriteError> {
    if (200..300).contains(&status) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        return serde_json::from_slice(bytes)
            .map_err(|e| AppwriteError::Malformed(format!("status {status}: {e}")));
    }
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        message: String,
        #[serde(rename = "type", default)]
        kind: String,
    }
    match serde_json::from_slice::<Body>(bytes) {
        Ok(body) => Err(AppwriteError::Api {
            status,
            kind: body.kind,
            message: body.message,
        }),
        // A proxy's HTML page or a cut body: keep the status, show a short excerpt.
        Err(_) => Err(AppwriteError::Api {
            status,
            kind: String::new(),
            message: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
        }),
    }
}

/// An answer's body read as `T`; a body of another shape is [`AppwriteError::Malformed`].
pub(super) fn parse<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, AppwriteError> {
    serde_json::from_value(body).map_err(|e| AppwriteError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_keep_appwrites_type_and_message() {
        let err = decode(
            404,
            br#"{"message":"Row with the requested ID 'x' could not be found.","code":404,"type":"row_not_found","version":"1.9.6"}"#,
        )
        .unwrap_err();
        assert_eq!(err.kind(), Some("row_not_found"));
        assert!(err.to_string().contains("could not be found"));
        assert!(matches!(
            decode(200, b"{not json"),
            Err(AppwriteError::Malformed(_))
        ));
        assert_eq!(
            decode(502, b"<html>bad gateway</html>")
                .unwrap_err()
                .status(),
            Some(502)
        );
    }
}
