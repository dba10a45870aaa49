//! Serves the dashboard (`/dashboard` in the repository): `/jobs`, `/jobs/schedules` and
//! `/jobs/:id` answer the page, `/assets/*` and `/config.js` the files. The files are compiled
//! into the binary; with `JOBS_DEV_DASHBOARD_DIR` they are read from disk on each request
//! instead (edit and reload).
//! Only the names listed here are served, so no path from a request ever reaches the disk.

use std::path::Path;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::Response;

macro_rules! files {
    ($($name:literal => $mime:literal),+ $(,)?) => {
        /// (name under dashboard/, content type, compiled-in bytes)
        const FILES: &[(&str, &str, &[u8])] = &[
            $(($name, $mime, include_bytes!(concat!("../../../dashboard/", $name)))),+
        ];
    };
}

files! {
    "index.html" => "text/html; charset=utf-8",
    "config.js" => "text/javascript; charset=utf-8",
    "assets/app.js" => "text/javascript; charset=utf-8",
    "assets/api.js" => "text/javascript; charset=utf-8",
    "assets/ui.js" => "text/javascript; charset=utf-8",
    "assets/list.js" => "text/javascript; charset=utf-8",
    "assets/detail.js" => "text/javascript; charset=utf-8",
    "assets/realtime.js" => "text/javascript; charset=utf-8",
    "assets/derive.js" => "text/javascript; charset=utf-8",
    "assets/mount.js" => "text/javascript; charset=utf-8",
    "assets/signin.js" => "text/javascript; charset=utf-8",
    "assets/list-state.js" => "text/javascript; charset=utf-8",
    "assets/detail-state.js" => "text/javascript; charset=utf-8",
    "assets/cells.js" => "text/javascript; charset=utf-8",
    "assets/log.js" => "text/javascript; charset=utf-8",
    "assets/connection.js" => "text/javascript; charset=utf-8",
    "assets/banner.js" => "text/javascript; charset=utf-8",
    "assets/patch.js" => "text/javascript; charset=utf-8",
    "assets/summary.js" => "text/javascript; charset=utf-8",
    "assets/filters.js" => "text/javascript; charset=utf-8",
    "assets/bulk.js" => "text/javascript; charset=utf-8",
    "assets/throughput.js" => "text/javascript; charset=utf-8",
    "assets/schedules.js" => "text/javascript; charset=utf-8",
    "assets/schedules-state.js" => "text/javascript; charset=utf-8",
    "assets/style.css" => "text/css; charset=utf-8",
}

/// What `config.js` ends with when there is no sign-in.
const NO_SIGN_IN: &[u8] =
    b"\n// jobs-dev: no development user has a password, so there is no sign-in.\nwindow.JOBS_CONFIG.signIn = false;\n";

/// Which dashboard file answers `path`, if any.
pub fn file_for(path: &str) -> Option<&'static str> {
    if path == "/jobs"
        || path == "/jobs/"
        || (path.starts_with("/jobs/") && !path[6..].contains('/'))
    {
        return Some("index.html");
    }
    let name = path.strip_prefix('/')?;
    FILES
        .iter()
        .find(|(n, _, _)| *n == name && *n != "index.html")
        .map(|(n, _, _)| *n)
}

/// Serves `path`. Without sign-in (no development user has a password) `config.js` also turns
/// the dashboard's sign-in off, so it never probes Account sessions that cannot exist (each
/// probe would be a failed request in the browser's console).
pub fn serve(path: &str, dir: Option<&Path>, sign_in: bool) -> Response<Full<Bytes>> {
    if path == "/" {
        return Response::builder()
            .status(302)
            .header("location", "/jobs")
            .body(Full::new(Bytes::new()))
            .expect("static response");
    }
    let Some((name, mime, embedded)) =
        file_for(path).and_then(|n| FILES.iter().find(|(f, _, _)| *f == n))
    else {
        return Response::builder()
            .status(404)
            .header("content-type", "text/plain; charset=utf-8")
            .body(Full::new(Bytes::from_static(
                b"Not found. The dashboard is at /jobs.",
            )))
            .expect("static response");
    };
    let mut bytes = dir
        .and_then(|d| std::fs::read(d.join(name)).ok())
        .map_or_else(|| Bytes::from_static(embedded), Bytes::from);
    if *name == "config.js" && !sign_in {
        let mut with = bytes.to_vec();
        with.extend_from_slice(NO_SIGN_IN);
        bytes = Bytes::from(with);
    }
    Response::builder()
        .header("content-type", *mime)
        .header("cache-control", "no-cache")
        .header("x-content-type-options", "nosniff")
        // No inline scripts, no third-party origins: the page loads only its own files.
        .header(
            "content-security-policy",
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        )
        .body(Full::new(bytes))
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_routes_answer_the_page_and_assets_their_files() {
        assert_eq!(file_for("/jobs"), Some("index.html"));
        assert_eq!(file_for("/jobs/job_123"), Some("index.html"));
        assert_eq!(file_for("/jobs/schedules"), Some("index.html"));
        assert_eq!(file_for("/assets/app.js"), Some("assets/app.js"));
        assert_eq!(file_for("/config.js"), Some("config.js"));
    }

    #[test]
    fn nothing_outside_the_list_is_served() {
        assert_eq!(file_for("/assets/../../Cargo.toml"), None);
        assert_eq!(file_for("/jobs/a/b"), None);
        assert_eq!(file_for("/index.html"), None);
    }

    #[test]
    fn without_sign_in_config_js_turns_the_dashboards_sign_in_off() {
        let body = |sign_in: bool| {
            let res = serve("/config.js", None, sign_in);
            let bytes = body_of(res);
            String::from_utf8(bytes).unwrap()
        };
        assert!(!body(true).contains("signIn = false"));
        assert!(body(false).ends_with("window.JOBS_CONFIG.signIn = false;\n"));
    }

    fn body_of(res: Response<Full<Bytes>>) -> Vec<u8> {
        use http_body_util::BodyExt;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(res.into_body().collect())
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    #[test]
    fn every_file_of_the_dashboard_is_served() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dashboard");
        let mut missing = Vec::new();
        for dir in ["", "assets"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let served = if dir.is_empty() {
                    name.clone()
                } else {
                    format!("{dir}/{name}")
                };
                let web = [".js", ".css", ".html"].iter().any(|e| name.ends_with(e));
                if web && !FILES.iter().any(|(f, _, _)| *f == served) {
                    missing.push(served);
                }
            }
        }
        assert!(missing.is_empty(), "not served by jobs-dev: {missing:?}");
    }
}
