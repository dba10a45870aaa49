//! The guard in front of the router: which browser requests come from another site and are
//! refused before routing (`foreign_request`, the dev server's CSRF and DNS-rebinding defence),
//! which Web platforms the project trusts (`platforms`), and Appwrite's CORS headers on the
//! API's answers for those (`cors`, `with_cors`).

use hyper::{Method, Request};

use crate::wire::HttpResponse;

/// The hostnames of the Web platforms the project trusts (Appwrite's `allowedHostnames`).
/// With sign-in on: `localhost`, and so its loopback aliases, as on a self-hosted Appwrite
/// whose `_APP_DOMAIN` is the default `localhost` (appwrite 1.9.6 `app/config/platform.php`,
/// `app/init/resources/request.php`). Without it none: every browser call would be the
/// password-less development identity, which only the server's own pages may use.
pub(super) fn platforms(sign_in: bool) -> &'static [&'static str] {
    if sign_in {
        &["localhost"]
    } else {
        &[]
    }
}

/// Why a request must be refused because it does not come from this server's own pages or a
/// local tool, if it must. A page on another site can make the developer's browser send
/// requests here (a form post needs no CORS preflight), with the password-less dev identity,
/// and open the Realtime WebSocket (browsers send no preflight for WebSockets and let the page
/// read every message): so a state-changing request, and any read of the API (`/v1/…`: the
/// Realtime upgrade, execution documents, the account), whose `Origin` (or `Sec-Fetch-Site`)
/// names another site is refused; and on loopback the `Host` must be a loopback name (a
/// rebound DNS name is not). The own origin is the one the request is addressed to (`Origin`
/// equal to `Host`, as behind a proxy that keeps both). Reads of the dashboard's files and of
/// function domains (public by design, with the function's own CORS) stay open. Tools and
/// workers send no `Origin` and pass, and so do pages of a trusted Web platform
/// (`trusted_origin`), as Appwrite lets them.
pub fn foreign_request<B>(
    req: &Request<B>,
    allow_remote: bool,
    platforms: &[&str],
) -> Option<&'static str> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let host = header("host").unwrap_or("");
    if !allow_remote && !is_loopback_host(host) {
        return Some("jobs-dev answers only requests addressed to localhost");
    }
    let reads = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if reads && !is_api(req) {
        return None;
    }
    if header("origin").is_some_and(|o| trusted_origin(o, platforms)) {
        return None;
    }
    if header("sec-fetch-site") == Some("cross-site") {
        return Some("cross-site requests are refused");
    }
    match header("origin") {
        None => None,
        Some(origin) => {
            let authority = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            (authority != Some(host)).then_some("cross-origin requests are refused")
        }
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Appwrite's CORS headers for an API request (appwrite 1.9.6 `src/Appwrite/Network/Cors.php`,
/// `app/config/cors.php`): methods, headers, the exposed `X-Fallback-Cookies` and
/// `X-Appwrite-Session`, credentials, and the caller's own origin back when it is a trusted
/// platform. Empty for the dashboard's files and function domains, which are not the API.
pub(super) fn cors<B>(req: &Request<B>, platforms: &[&str]) -> Vec<(&'static str, String)> {
    if !is_api(req) {
        return Vec::new();
    }
    const ALLOWED_HEADERS: &str = "Accept, Origin, Cookie, Set-Cookie, Content-Type, \
        Content-Range, X-Appwrite-Project, X-Appwrite-Key, X-Appwrite-Dev-Key, X-Appwrite-Locale, \
        X-Appwrite-Mode, X-Appwrite-JWT, X-Appwrite-Organization, X-Appwrite-Response-Format, \
        X-Appwrite-Timeout, X-Appwrite-ID, X-Appwrite-Timestamp, X-Appwrite-Session, \
        X-Appwrite-Platform, X-Appwrite-Impersonate-User-Id, X-Appwrite-Impersonate-User-Email, \
        X-Appwrite-Impersonate-User-Phone, X-SDK-Version, X-SDK-Name, X-SDK-Language, \
        X-SDK-Platform, X-SDK-GraphQL, X-SDK-Profile, Range, Cache-Control, Expires, Pragma, \
        X-Fallback-Cookies, X-Requested-With, X-Forwarded-For, X-Forwarded-User-Agent";
    let mut headers = vec![
        (
            "access-control-allow-methods",
            "GET, POST, PUT, PATCH, DELETE".to_owned(),
        ),
        ("access-control-allow-headers", ALLOWED_HEADERS.to_owned()),
        (
            "access-control-expose-headers",
            "X-Appwrite-Session, X-Fallback-Cookies".to_owned(),
        ),
        ("access-control-allow-credentials", "true".to_owned()),
        ("access-control-max-age", "86400".to_owned()),
    ];
    let origin = req.headers().get("origin").and_then(|v| v.to_str().ok());
    if let Some(origin) = origin.filter(|o| trusted_origin(o, platforms)) {
        // Echoed exactly, never `*`: the answers carry credentials.
        headers.push((
            "access-control-allow-origin",
            origin.trim().to_ascii_lowercase(),
        ));
    }
    headers
}

pub(super) fn with_cors(mut res: HttpResponse, cors: &[(&'static str, String)]) -> HttpResponse {
    for (name, value) in cors {
        if let Ok(value) = hyper::header::HeaderValue::from_str(value) {
            res.headers_mut().append(*name, value);
        }
    }
    res
}

/// Whether a request is for the API (`/v1/…`, as `answer` splits paths, so `//v1/x` is too).
fn is_api<B>(req: &Request<B>) -> bool {
    req.uri().path().trim_matches('/').split('/').next() == Some("v1")
}

/// Whether `origin` is a Web page of a trusted platform: an http(s) origin whose host is one of
/// `platforms`, or one of Appwrite's spellings of loopback (`127.0.0.1`, `[::1]`) when
/// `localhost` is (appwrite 1.9.6 `src/Appwrite/Network/Validator/Origin.php`,
/// `Platform::LOOPBACK_ALIASES`). Matched exactly: `127.0.0.1.example.com` is not loopback.
fn trusted_origin(origin: &str, platforms: &[&str]) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = match authority.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((inside, _)) => format!("[{inside}]"),
            None => return false,
        },
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_owned(),
    };
    platforms.contains(&host.as_str())
        || (["127.0.0.1", "[::1]"].contains(&host.as_str()) && platforms.contains(&"localhost"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, headers: &[(&str, &str)]) -> Request<()> {
        request_to(method, "/v1/functions/f/executions", headers)
    }

    fn request_to(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn a_post_from_another_site_is_refused_and_one_from_the_dashboard_or_a_tool_passes() {
        let host = ("host", "127.0.0.1:8787");
        let evil = request("POST", &[host, ("origin", "https://evil.example")]);
        assert!(foreign_request(&evil, false, &[]).is_some());
        let fetch = request("POST", &[host, ("sec-fetch-site", "cross-site")]);
        assert!(foreign_request(&fetch, false, &[]).is_some());
        let own = request("POST", &[host, ("origin", "http://127.0.0.1:8787")]);
        assert_eq!(foreign_request(&own, false, &[]), None);
        let tool = request("POST", &[host]);
        assert_eq!(foreign_request(&tool, false, &[]), None);
    }

    #[test]
    fn an_api_read_from_another_site_is_refused_and_the_dashboards_files_stay_open() {
        let host = ("host", "127.0.0.1:8787");
        let evil = ("origin", "https://evil.example");
        for uri in [
            "/v1/functions/job-actions/executions/abc",
            "/v1/realtime?project=jobmanager&channels[]=rows",
            "/v1/account",
            "//v1/realtime",
        ] {
            let page = request_to("GET", uri, &[host, evil]);
            assert!(foreign_request(&page, false, &[]).is_some(), "{uri}");
            let fetch = request_to("GET", uri, &[host, ("sec-fetch-site", "cross-site")]);
            assert!(foreign_request(&fetch, false, &[]).is_some(), "{uri}");
            let own = request_to("GET", uri, &[host, ("origin", "http://127.0.0.1:8787")]);
            assert_eq!(foreign_request(&own, false, &[]), None, "{uri}");
            let tool = request_to("GET", uri, &[host]);
            assert_eq!(foreign_request(&tool, false, &[]), None, "{uri}");
        }
        for uri in ["/jobs", "/assets/app.js", "/config.js", "/domains/f/x"] {
            let page = request_to("GET", uri, &[host, evil]);
            assert_eq!(foreign_request(&page, false, &[]), None, "{uri}");
        }
    }

    #[test]
    fn a_page_of_a_trusted_platform_passes_with_appwrites_cors_headers_and_others_do_not() {
        let host = ("host", "localhost:8787");
        let platforms: &[&str] = &["localhost"];
        let allowed = |headers: &[(&str, String)]| {
            headers
                .iter()
                .find(|(n, _)| *n == "access-control-allow-origin")
                .map(|(_, v)| v.clone())
        };
        for origin in [
            "http://127.0.0.1:5173",
            "http://localhost:3000",
            "http://[::1]:8080",
        ] {
            let page = request(
                "POST",
                &[host, ("origin", origin), ("sec-fetch-site", "cross-site")],
            );
            assert_eq!(foreign_request(&page, false, platforms), None, "{origin}");
            let headers = cors(&page, platforms);
            assert_eq!(allowed(&headers).as_deref(), Some(origin));
            assert!(headers.contains(&(
                "access-control-expose-headers",
                "X-Appwrite-Session, X-Fallback-Cookies".to_owned()
            )));
            assert!(headers.contains(&("access-control-allow-credentials", "true".to_owned())));
            // Without sign-in there is no trusted platform: the dev identity stays same-origin.
            assert!(foreign_request(&page, false, &[]).is_some(), "{origin}");
        }
        for origin in [
            "https://evil.example",
            "http://127.0.0.1.evil.example",
            "http://127.0.0.2:8080",
            "http://localhost.:8080",
            "null",
        ] {
            let page = request("POST", &[host, ("origin", origin)]);
            assert!(
                foreign_request(&page, false, platforms).is_some(),
                "{origin}"
            );
            assert_eq!(allowed(&cors(&page, platforms)), None, "{origin}");
        }
        let file = request_to("GET", "/jobs", &[host, ("origin", "http://127.0.0.1:5173")]);
        assert!(
            cors(&file, platforms).is_empty(),
            "the dashboard's files are not the API"
        );
    }

    #[test]
    fn a_rebound_host_name_is_refused_on_loopback() {
        let rebound = request("GET", &[("host", "attacker.example:8787")]);
        assert!(foreign_request(&rebound, false, &[]).is_some());
        for ok in ["localhost:8787", "127.0.0.1", "[::1]:8787", "LOCALHOST"] {
            assert_eq!(
                foreign_request(&request("GET", &[("host", ok)]), false, &[]),
                None,
                "{ok}"
            );
        }
        assert_eq!(
            foreign_request(&rebound, true, &[]),
            None,
            "opted in to remote"
        );
    }
}
