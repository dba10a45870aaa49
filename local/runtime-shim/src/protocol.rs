//! Owns the open-runtimes v5 rules that need no IO: the exact reply texts, header filtering,
//! timeout and secret checks, log ids, URL/query derivation, and the mapping of a handler's
//! `openruntimes::Response` to an HTTP response. Kept pure so every rule is unit-tested
//! without a socket; `server` only sequences them.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Largest accepted request body: exactly 20 MiB passes, one byte more is rejected.
pub const MAX_BODY_BYTES: usize = 20 * 1024 * 1024;

pub const UNAUTHORIZED: &str = "Unauthorized. Provide correct \"x-open-runtimes-secret\" header.";
pub const INVALID_TIMEOUT: &str =
    "Header \"x-open-runtimes-timeout\" must be an integer greater than 0.";
pub const BODY_TOO_LARGE: &str = "Request body size exceeds 20MB limit.";
pub const TIMED_OUT: &str = "Execution timed out.";
pub const JOIN_ERROR: &str = "Task join error.";
pub const BODY_READ_ERROR: &str = "Could not parse body into a string.";
/// The shim's own (no official runtime has a handler cap): the 503 body over
/// `OPEN_RUNTIMES_MAX_HANDLERS`. Stable, so callers and tests can match on it.
pub const BUSY: &str = "Too many executions in progress. Try again later.";

/// Headers reserved for the executor ↔ runtime conversation; never shown to handlers or callers.
pub const RESERVED_PREFIX: &str = "x-open-runtimes-";
pub const LOG_ID_HEADER: &str = "x-open-runtimes-log-id";

/// Longest log id kept; file names must stay under the usual 255-byte limit with the suffix.
const MAX_LOG_ID_LEN: usize = 128;

/// `x-open-runtimes-timeout`: absent or empty → no limit; otherwise a `u64 > 0` (the Rust
/// runtime's rule) or the request is rejected.
pub fn parse_timeout(header: Option<&str>) -> Result<Option<u64>, InvalidTimeout> {
    match header.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Some(secs)),
            _ => Err(InvalidTimeout),
        },
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct InvalidTimeout;

/// Compares the whole of both values so the time taken does not reveal how many leading
/// bytes of a guess were right. Only the length of the expected secret can leak.
pub fn secret_matches(expected: &str, given: &[u8]) -> bool {
    let expected = expected.as_bytes();
    let mut diff = expected.len() ^ given.len();
    for (i, &e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(!e);
        diff |= usize::from(e ^ g);
    }
    diff == 0
}

/// Logging is on when the header is absent, empty or exactly `enabled` (case-sensitive).
pub fn logging_enabled(header: &str) -> bool {
    header.is_empty() || header == "enabled"
}

/// Turns a caller-supplied log id into a safe file-name stem: ASCII letters, digits, `-`,
/// `_` and `.` are kept, anything else (notably `/`, `\` and NUL) becomes `_`, and the result
/// is capped at 128 bytes. Because `_logs.log` is appended, the file name can never be `.` or
/// `..`, so nothing can be written outside the logs directory.
pub fn sanitize_log_id(raw: &[u8]) -> String {
    raw.iter()
        .take(MAX_LOG_ID_LEN)
        .map(|&b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                char::from(b)
            } else {
                '_'
            }
        })
        .collect()
}

/// A PHP-`uniqid`-like id, 20 lowercase hex chars: Unix seconds (8), milliseconds within the
/// second (5), then 7 random digits, so ids sort by time and two requests differ.
pub fn generate_log_id(now: SystemTime, random: u32) -> String {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "{:08x}{:05x}{:07x}",
        since_epoch.as_secs(),
        since_epoch.subsec_millis(),
        random & 0x0fff_ffff
    )
}

/// Request headers as the handler sees them: lowercase names, `x-open-runtimes-*` removed,
/// values decoded lossily (the official runtime turns non-ASCII values into ""), repeated
/// headers joined (the official keeps only the last), then the enforced headers on top.
pub fn handler_headers(
    headers: &HeaderMap,
    enforced: &[(String, String)],
) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::with_capacity(headers.len() + enforced.len());
    for (name, value) in headers {
        let name = name.as_str();
        if name.starts_with(RESERVED_PREFIX) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes());
        match out.get_mut(name) {
            Some(existing) => {
                existing.push_str(if name == "cookie" { "; " } else { ", " });
                existing.push_str(&value);
            }
            None => {
                out.insert(name.to_owned(), value.into_owned());
            }
        }
    }
    for (name, value) in enforced {
        out.insert(name.clone(), value.clone());
    }
    out
}

/// Scheme, host, port and full URL as the Rust runtime derives them.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestUrl {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    pub url: String,
}

/// `x-forwarded-proto` (default `http`) gives the scheme and default port; the `Host` header
/// gives host and port. Unlike the official runtime, a bracketed IPv6 host keeps its colons.
pub fn request_url(
    forwarded_proto: Option<&str>,
    host_header: &str,
    path: &str,
    query: &str,
) -> RequestUrl {
    let scheme = forwarded_proto.unwrap_or("http").to_owned();
    let default_port = if scheme == "https" { 443 } else { 80 };
    let (host, port_text) = if host_header.starts_with('[') {
        match host_header.find(']') {
            Some(end) => (
                &host_header[..=end],
                host_header[end + 1..].strip_prefix(':'),
            ),
            None => (host_header, None),
        }
    } else {
        match host_header.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_header, None),
        }
    };
    let port = port_text
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(default_port);
    let port_in_url = if port == default_port {
        String::new()
    } else {
        format!(":{port}")
    };
    let query_in_url = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    RequestUrl {
        url: format!("{scheme}://{host}{port_in_url}{path}{query_in_url}"),
        scheme,
        host: host.to_owned(),
        port,
    }
}

/// `a=b&c==d&h` → `{a: b, c: =d, h: ""}`, percent-decoded (no `+` → space, as in the Rust
/// runtime). Empty segments from `&&` are skipped rather than becoming an empty key.
pub fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

/// Decodes `%XX` escapes; a malformed escape stays literal and invalid UTF-8 gives "" (the
/// official runtime's `urlencoding::decode(..).unwrap_or_default()`).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|s| s.into_owned())
        .unwrap_or_default()
}

/// The content-type rule: default `text/plain`; unless the value is `multipart/*` or already
/// names a charset, send it lowercased with `; charset=utf-8`; otherwise send it unchanged.
pub fn response_content_type(handler_value: Option<&str>) -> String {
    let original = handler_value.unwrap_or("text/plain");
    let lower = original.to_lowercase();
    if !lower.starts_with("multipart/") && !lower.contains("charset=") {
        format!("{lower}; charset=utf-8")
    } else {
        original.to_owned()
    }
}

/// Maps the handler's response to HTTP. Status 0 means 200; header names are lowercased
/// (the last of case-duplicates wins); `x-open-runtimes-*` headers are dropped; `set-cookie`
/// is split on `\n` into one header per cookie; the log id header goes first. An invalid
/// status or header value is an error, which the caller logs as the official runtime does.
pub fn build_response(
    output: openruntimes::Response,
    log_id_header: &str,
) -> Result<hyper::Response<Full<Bytes>>, String> {
    let status = if output.status_code == 0 {
        200
    } else {
        output.status_code
    };
    let status = hyper::StatusCode::from_u16(status)
        .map_err(|e| format!("Failed to build response: {e}"))?;

    let mut headers: HashMap<String, String> = HashMap::with_capacity(output.headers.len() + 1);
    for (name, value) in output.headers {
        let name = name.to_lowercase();
        if !name.starts_with(RESERVED_PREFIX) {
            headers.insert(name, value);
        }
    }
    let content_type = response_content_type(headers.get("content-type").map(String::as_str));
    headers.insert("content-type".to_owned(), content_type);

    let mut response = hyper::Response::new(Full::new(Bytes::from(output.body)));
    *response.status_mut() = status;
    let map = response.headers_mut();
    let invalid = |e: &dyn std::fmt::Display| format!("Failed to build response: {e}");
    map.insert(
        LOG_ID_HEADER,
        HeaderValue::from_str(log_id_header).map_err(|e| invalid(&e))?,
    );
    for (name, value) in headers {
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(&e))?;
        if name == "set-cookie" {
            for cookie in value.split('\n') {
                map.append(
                    header_name.clone(),
                    HeaderValue::from_str(cookie).map_err(|e| invalid(&e))?,
                );
            }
        } else {
            map.insert(
                header_name,
                HeaderValue::from_str(&value).map_err(|e| invalid(&e))?,
            );
        }
    }
    Ok(response)
}

/// A protocol-level reply that is not the handler's: `text/plain` without charset, as the
/// official runtime sends for its own errors.
pub fn plain(status: u16, body: &'static str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    response
}

// The request's rules as the server applies them, one header or field each.

/// A header's value: `None` when absent, `Some(None)` when present but not visible ASCII.
#[inline]
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<Option<&'a str>> {
    headers.get(name).map(|v| v.to_str().ok())
}

/// The `x-open-runtimes-timeout` asked for, in seconds (`None`: no limit); a value that is
/// not text is as invalid as one that is not a number.
#[inline]
pub(crate) fn requested_timeout(headers: &HeaderMap) -> Result<Option<u64>, InvalidTimeout> {
    match header_str(headers, "x-open-runtimes-timeout") {
        Some(None) => Err(InvalidTimeout),
        Some(Some(v)) => parse_timeout(Some(v)),
        None => Ok(None),
    }
}

/// Whether the caller sent the configured secret; with none configured, every caller passes.
#[inline]
pub(crate) fn secret_accepted(secret: &str, headers: &HeaderMap) -> bool {
    if secret.is_empty() {
        return true;
    }
    let given = headers
        .get("x-open-runtimes-secret")
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    secret_matches(secret, given)
}

/// Whether `content-length` already announces a body over the limit, so it is refused unread.
#[inline]
pub(crate) fn declared_too_large(headers: &HeaderMap) -> bool {
    let declared_len = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    declared_len.is_some_and(|len| len > MAX_BODY_BYTES as u64)
}

/// The caller's log id (sanitized), else `dev` in development, else a fresh one.
#[inline]
pub(crate) fn request_log_id(headers: &HeaderMap, development: bool) -> String {
    match headers.get(LOG_ID_HEADER) {
        Some(v) => sanitize_log_id(v.as_bytes()),
        None if development => "dev".to_owned(),
        None => generate_log_id(SystemTime::now(), fastrand::u32(..)),
    }
}

/// Gives the handler the request as it sees it: filtered headers, method, URL and its parts.
#[inline]
pub(crate) fn fill_request(
    context: &mut openruntimes::Context,
    parts: &hyper::http::request::Parts,
    enforced_headers: &[(String, String)],
) {
    let headers = &parts.headers;
    context.req.headers = handler_headers(headers, enforced_headers);
    context.req.method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let host = headers
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let url = request_url(
        headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok()),
        host,
        &path,
        &query,
    );
    context.req.url = url.url;
    context.req.scheme = url.scheme;
    context.req.host = url.host;
    context.req.port = url.port;
    context.req.query = parse_query(&query);
    context.req.path = path;
    context.req.query_string = query;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timeouts_follow_the_rust_runtime() {
        assert_eq!(parse_timeout(None), Ok(None));
        assert_eq!(parse_timeout(Some("")), Ok(None));
        assert_eq!(parse_timeout(Some(" 2")), Ok(Some(2)));
        for bad in [
            "0",
            "-1",
            "1.5",
            "abc",
            "abcd",
            "99999999999999999999999",
            "1e3",
        ] {
            assert_eq!(parse_timeout(Some(bad)), Err(InvalidTimeout), "{bad}");
        }
    }

    #[test]
    fn the_secret_must_match_exactly() {
        assert!(secret_matches("s3cret", b"s3cret"));
        assert!(!secret_matches("s3cret", b"s3cre"));
        assert!(!secret_matches("s3cret", b"s3cret!"));
        assert!(!secret_matches("s3cret", b""));
        assert!(!secret_matches("s3cret", b"S3cret"));
    }

    #[test]
    fn logging_is_enabled_only_by_absent_empty_or_exact_enabled() {
        assert!(logging_enabled(""));
        assert!(logging_enabled("enabled"));
        for off in ["disabled", "DISABLED", "Enabled", "foo"] {
            assert!(!logging_enabled(off), "{off}");
        }
    }

    #[test]
    fn log_ids_cannot_traverse_out_of_the_logs_directory() {
        assert_eq!(sanitize_log_id(b"customLogs"), "customLogs");
        assert_eq!(sanitize_log_id(b"../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(sanitize_log_id(b"a\0b\\c"), "a_b_c");
        assert_eq!(sanitize_log_id(b""), "");
        assert_eq!(sanitize_log_id(&[b'x'; 1000]).len(), 128);
    }

    #[test]
    fn generated_log_ids_are_twenty_hex_chars() {
        let now = UNIX_EPOCH + Duration::from_millis(1_800_000_000_123);
        let id = generate_log_id(now, 0xffff_ffff);
        assert_eq!(id, "6b49d2000007bfffffff");
        assert_eq!(id.len(), 20);
    }

    #[test]
    fn reserved_headers_are_hidden_and_enforced_headers_win() {
        let mut h = HeaderMap::new();
        h.insert("x-open-runtimes-secret", HeaderValue::from_static("s"));
        h.insert("x-custom", HeaderValue::from_static("IS_IGNORED"));
        h.append("cookie", HeaderValue::from_static("a=1"));
        h.append("cookie", HeaderValue::from_static("b=2"));
        let out = handler_headers(&h, &[("x-custom".into(), "value".into())]);
        assert_eq!(out.get("x-custom").unwrap(), "value");
        assert_eq!(out.get("cookie").unwrap(), "a=1; b=2");
        assert!(!out.contains_key("x-open-runtimes-secret"));
    }

    #[test]
    fn urls_are_derived_like_the_rust_runtime() {
        let u = request_url(Some("https"), "www.mydomain.com:3001", "/a/b", "c=d&e=f");
        assert_eq!(u.url, "https://www.mydomain.com:3001/a/b?c=d&e=f");
        assert_eq!((u.host.as_str(), u.port), ("www.mydomain.com", 3001));
        let u = request_url(None, "www.mydomain.com:80", "/", "");
        assert_eq!((u.url.as_str(), u.port), ("http://www.mydomain.com/", 80));
        let u = request_url(Some("https"), "myapp.com", "/", "");
        assert_eq!((u.url.as_str(), u.port), ("https://myapp.com/", 443));
        let u = request_url(Some("https"), "myapp.com:80", "/", "");
        assert_eq!(u.url, "https://myapp.com:80/");
        let u = request_url(None, "[::1]:8080", "/", "");
        assert_eq!((u.host.as_str(), u.port), ("[::1]", 8080));
    }

    #[test]
    fn queries_keep_everything_after_the_first_equals_sign() {
        let q = parse_query("a=b&c==d&e=f=g=&h&i=j&&k&p=%2Fx%20y+z");
        assert_eq!(q["a"], "b");
        assert_eq!(q["c"], "=d");
        assert_eq!(q["e"], "f=g=");
        assert_eq!(q["h"], "");
        assert_eq!(q["k"], "");
        assert_eq!(q["p"], "/x y+z");
        assert!(!q.contains_key(""));
    }

    #[test]
    fn percent_decoding_leaves_malformed_escapes_alone() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%F0%9F%91%8B"), "👋");
        assert_eq!(percent_decode("%FF"), "");
    }

    #[test]
    fn an_escape_with_a_sign_is_malformed_and_stays_literal() {
        // Found by fuzz/fuzz_targets/runtime_protocol.rs: `%+F` used to decode to 0x0F.
        assert_eq!(percent_decode("%+F"), "%+F");
        assert_eq!(percent_decode("%-1x"), "%-1x");
        assert_eq!(parse_query("r=%+FF")["r"], "%+FF");
    }

    #[test]
    fn content_types_get_a_utf8_charset_unless_multipart_or_already_set() {
        assert_eq!(response_content_type(None), "text/plain; charset=utf-8");
        assert_eq!(
            response_content_type(Some("TEXT/PLAIN")),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            response_content_type(Some("text/plain; charset=iso-8859-1")),
            "text/plain; charset=iso-8859-1"
        );
        assert_eq!(
            response_content_type(Some("multipart/form-data; boundary=AbC")),
            "multipart/form-data; boundary=AbC"
        );
        assert_eq!(
            response_content_type(Some("image/png")),
            "image/png; charset=utf-8"
        );
    }

    #[test]
    fn set_cookie_is_split_and_reserved_headers_are_dropped() {
        let mut output = openruntimes::Response::new();
        output.status_code = 0;
        output
            .headers
            .insert("Set-Cookie".into(), "a=1; path=/\nb=2".into());
        output
            .headers
            .insert("x-open-runtimes-custom-out-header".into(), "x".into());
        let response = build_response(output, "abc").unwrap();
        assert_eq!(response.status(), 200);
        let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1; path=/", "b=2"]);
        assert!(!response
            .headers()
            .contains_key("x-open-runtimes-custom-out-header"));
        assert_eq!(response.headers()[LOG_ID_HEADER], "abc");
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn an_impossible_status_is_a_build_error() {
        let mut output = openruntimes::Response::new();
        output.status_code = 1000;
        let err = build_response(output, "").unwrap_err();
        assert!(err.starts_with("Failed to build response: "));
    }
}
