//! Appwrite's wire conventions every resource of the fake shares: an answer (status, JSON body,
//! extra headers) and Appwrite's error body, datetimes as Appwrite writes them and the decoded
//! segments of an API path.

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{json, Value};

/// An answer: status, JSON body (or raw text), extra headers.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub(crate) fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body: body.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }

    /// Appwrite's error body `{message, code, type, version}` (appwrite-notes: Error body).
    pub(crate) fn error(status: u16, kind: &str, message: impl Into<String>) -> Answer {
        Answer::json(
            status,
            json!({"message": message.into(), "code": status, "type": kind, "version": crate::VERSION}),
        )
    }

    /// `204 No Content`.
    pub(crate) fn empty() -> Answer {
        Answer {
            status: 204,
            body: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// A required param the request lacks.
    pub(crate) fn missing_param(param: &str) -> Answer {
        Answer::error(
            400,
            "general_argument_invalid",
            format!("Param \"{param}\" is not optional."),
        )
    }

    /// A request body that is not JSON.
    pub(crate) fn invalid_json() -> Answer {
        Answer::error(400, "general_argument_invalid", "Invalid JSON body")
    }

    /// A route the resource does not serve.
    pub(crate) fn route_not_found() -> Answer {
        Answer::error(
            404,
            "general_route_not_found",
            "The requested route was not found.",
        )
    }
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// Datetimes as Appwrite answers them: milliseconds and an explicit offset (appwrite-notes:
/// Datetimes).
pub(crate) fn now_text() -> String {
    now().format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

/// An RFC 3339 instant, to Appwrite's millisecond precision.
pub(crate) fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(3))
}

/// The percent-decoded segments of an API path after `/v1/`, as Appwrite's router sees them.
pub(crate) fn path_segments(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix("/v1/")?;
    Some(
        rest.split('/')
            .map(|p| {
                form_urlencoded::parse(format!("x={p}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            })
            .collect(),
    )
}
