//! Fuzzes the shim's request-side rules in `runtime_shim::protocol` (pure functions, so no socket):
//! the timeout header, the secret check, log-id sanitising, header filtering, URL/host/port
//! derivation, query parsing, the content-type rule and the mapping of a handler's response.
//!
//! Input: newline-separated fields (timeout, secret, log id, x-forwarded-proto, host,
//! `path?query`, content type, status), then `name: value` header lines.

#![no_main]

use std::path::{Component, Path};

use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use runtime_shim::protocol::{self, RESERVED_PREFIX};

const SECRET: &str = "s3cret-value";

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|&b| b == b'\n');
    let mut next = || fields.next().unwrap_or(b"");
    let timeout = next();
    let secret = next();
    let log_id = next();
    let proto = next();
    let host = next();
    let target = next();
    let content_type = next();
    let status = next();
    let header_lines: Vec<&[u8]> = fields.collect();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();

    // Timeout: accepted values are positive whole seconds.
    let timeout = text(timeout);
    if let Ok(Some(secs)) = protocol::parse_timeout(Some(&timeout)) {
        assert!(secs > 0);
        assert_eq!(
            timeout.trim().trim_start_matches('+').parse::<u64>().ok(),
            Some(secs)
        );
    }

    // Secret: equal bytes and nothing else.
    assert_eq!(
        protocol::secret_matches(SECRET, secret),
        secret == SECRET.as_bytes()
    );

    // Log ids: the file names built from them stay inside the logs directory.
    let id = protocol::sanitize_log_id(log_id);
    assert!(id.len() <= 128);
    assert!(!id.contains(['/', '\\', '\0']), "{id:?}");
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')));
    assert_eq!(
        protocol::sanitize_log_id(id.as_bytes()),
        id,
        "not idempotent"
    );
    for suffix in ["_logs.log", "_errors.log"] {
        let name = format!("{id}{suffix}");
        let components: Vec<_> = Path::new(&name).components().collect();
        assert!(
            matches!(components.as_slice(), [Component::Normal(_)]),
            "{name:?} is not one plain file name"
        );
    }

    // URL: scheme, host and port as documented; the port is in the URL only when not default.
    let proto = (!proto.is_empty()).then(|| text(proto));
    let host = text(host);
    let target = text(target);
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let url = protocol::request_url(proto.as_deref(), &host, path, query);
    let scheme = proto.as_deref().unwrap_or("http");
    assert_eq!(url.scheme, scheme);
    assert!(host.starts_with(&url.host), "{host:?} → {:?}", url.host);
    let default_port = if scheme == "https" { 443 } else { 80 };
    let port = if url.port == default_port {
        String::new()
    } else {
        format!(":{}", url.port)
    };
    let query_part = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    assert_eq!(
        url.url,
        format!("{scheme}://{}{port}{path}{query_part}", url.host)
    );

    // Query: keys and values decoded like the reference below (malformed escapes literal).
    let parsed = protocol::parse_query(query);
    let mut expected = std::collections::HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        expected.insert(reference_decode(k), reference_decode(v));
    }
    assert_eq!(parsed, expected, "query {query:?}");

    // Content type: a charset is added unless multipart or present.
    let content_type = (!content_type.is_empty()).then(|| text(content_type));
    let sent = protocol::response_content_type(content_type.as_deref());
    let lower = sent.to_lowercase();
    assert!(
        lower.starts_with("multipart/") || lower.contains("charset="),
        "{sent:?}"
    );

    // Request headers: reserved ones never reach the handler; names are lowercase.
    let mut request_headers = HeaderMap::new();
    let mut response = openruntimes::Response::new();
    response.status_code = text(status).trim().parse().unwrap_or(0);
    for line in &header_lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            request_headers.append(n, v);
        }
        response.headers.insert(text(name), text(value));
    }
    let enforced = [("x-enforced".to_owned(), "yes".to_owned())];
    let seen = protocol::handler_headers(&request_headers, &enforced);
    assert_eq!(seen.get("x-enforced").map(String::as_str), Some("yes"));
    for name in seen.keys() {
        assert!(
            !name.starts_with(RESERVED_PREFIX),
            "{name} reached the handler"
        );
        assert_eq!(name, &name.to_lowercase());
    }

    // Response: whatever the handler returns maps to HTTP or to an error, never a panic; the
    // only reserved header sent is the log id.
    if let Ok(built) = protocol::build_response(response, &id) {
        assert_eq!(built.headers()[protocol::LOG_ID_HEADER], id.as_str());
        for name in built.headers().keys() {
            let name = name.as_str();
            assert!(!name.starts_with(RESERVED_PREFIX) || name == protocol::LOG_ID_HEADER);
        }
        assert!(built.headers().contains_key("content-type"));
    }
});

/// `%XX` with two hex digits decodes; anything else stays literal; invalid UTF-8 gives "".
fn reference_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_default()
}
