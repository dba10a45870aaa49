//! Appwrite's wire shapes that more than one part of the dev server answers with: the error
//! document (`AwError`), the body of `POST /v1/functions/{id}/executions` (`ExecRequest`), a
//! development user as Appwrite's user document, and JSON answers. It depends on no other
//! module of the server but `config`, so the gateway, the API keys and the Account API can all
//! use it without importing each other.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use crate::config::DevUser;

/// An HTTP answer of the dev server.
pub type HttpResponse = Response<Full<Bytes>>;

/// Appwrite's error answer: `{"message","code","type","version"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct AwError {
    pub code: u16,
    pub kind: &'static str,
    pub message: String,
}

impl AwError {
    pub fn new(code: u16, kind: &'static str, message: impl Into<String>) -> AwError {
        AwError {
            code,
            kind,
            message: message.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({"message": self.message, "code": self.code, "type": self.kind, "version": "local"})
    }
}

/// The parsed body of `POST …/executions`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecRequest {
    pub body: String,
    pub is_async: bool,
    pub path: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
}

impl ExecRequest {
    /// Validates like Appwrite: string body, known method, path ≤ 2048, caller headers with
    /// safe names that do not impersonate Appwrite's own (`x-appwrite-*`).
    pub fn parse(raw: &[u8]) -> Result<ExecRequest, AwError> {
        let invalid = |m: String| AwError::new(400, "general_argument_invalid", m);
        let v: Value = if raw.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(raw).map_err(|e| invalid(format!("Invalid JSON body: {e}")))?
        };
        let body = match v.get("body") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(invalid(
                    "Invalid `body` param: Value must be a valid string".into(),
                ))
            }
        };
        let is_async = match v.get("async") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(invalid(
                    "Invalid `async` param: Value must be a valid boolean".into(),
                ))
            }
        };
        let path = match v.get("path") {
            None | Some(Value::Null) => "/".to_owned(),
            Some(Value::String(s)) if s.starts_with('/') && s.len() <= 2048 => s.clone(),
            Some(_) => {
                return Err(invalid(
                    "Invalid `path` param: must start with / and be at most 2048 chars".into(),
                ))
            }
        };
        let method = match v.get("method") {
            None | Some(Value::Null) => "POST".to_owned(),
            Some(Value::String(s))
                if ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"].contains(&s.as_str()) =>
            {
                s.clone()
            }
            Some(_) => return Err(invalid("Invalid `method` param: Value must be one of (GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD)".into())),
        };
        let mut headers = Vec::new();
        match v.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (name, value) in map {
                    let ok_name = name.len() >= 2
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !name.starts_with('-')
                        && !name.ends_with('-');
                    if !ok_name || name.to_ascii_lowercase().starts_with("x-appwrite-") {
                        return Err(invalid(format!(
                            "Invalid `headers` param: header {name:?} is not allowed"
                        )));
                    }
                    let value = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    headers.push((name.to_ascii_lowercase(), value));
                }
            }
            Some(_) => {
                return Err(invalid(
                    "Invalid `headers` param: Value must be a valid object".into(),
                ))
            }
        }
        Ok(ExecRequest {
            body,
            is_async,
            path,
            method,
            headers,
        })
    }
}

/// A development user as Appwrite's user document (the fields job-actions reads).
pub fn user_document(user: &DevUser) -> Value {
    json!({
        "$id": user.id, "name": user.name, "email": user.email,
        "labels": user.labels, "status": true,
    })
}

/// A JSON answer, never cached.
pub fn json_response(status: u16, body: &Value) -> HttpResponse {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static headers are valid")
}

/// An API error as Appwrite answers it.
pub fn error(e: &AwError) -> HttpResponse {
    json_response(e.code, &e.body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_request_takes_appwrite_defaults() {
        let r = ExecRequest::parse(b"{}").unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.is_async),
            ("POST", "/", false)
        );
    }

    #[test]
    fn caller_headers_may_not_impersonate_appwrite() {
        let e = ExecRequest::parse(br#"{"headers":{"x-appwrite-user-id":"admin"}}"#).unwrap_err();
        assert_eq!((e.code, e.kind), (400, "general_argument_invalid"));
    }

    #[test]
    fn a_non_string_body_is_rejected() {
        assert_eq!(
            ExecRequest::parse(br#"{"body":{"a":1}}"#).unwrap_err().code,
            400
        );
    }
}
