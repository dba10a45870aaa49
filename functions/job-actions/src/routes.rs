//! The route table: every method and path the API answers, in one constant that the router,
//! the OpenAPI agreement test and the docs all read. Paths use OpenAPI's `{id}` templates.

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Me,
    List,
    Summary,
    Export,
    Detail,
    Pause,
    Resume,
    Cancel,
    Retry,
}

impl Op {
    /// Whether the operation changes a job (operators only).
    pub fn is_action(self) -> bool {
        matches!(self, Op::Pause | Op::Resume | Op::Cancel | Op::Retry)
    }
}

/// One route: method, templated path, operation, and its OpenAPI `operationId`.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub op: Op,
    pub operation_id: &'static str,
}

/// Every route. Literal segments (`summary`, `export`) are listed before `{id}` so they win;
/// generated job ids never equal them.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/v1/me",
        op: Op::Me,
        operation_id: "getMe",
    },
    Route {
        method: "GET",
        path: "/v1/jobs",
        op: Op::List,
        operation_id: "listJobs",
    },
    Route {
        method: "GET",
        path: "/v1/jobs/summary",
        op: Op::Summary,
        operation_id: "getJobSummary",
    },
    Route {
        method: "GET",
        path: "/v1/jobs/export",
        op: Op::Export,
        operation_id: "exportJobs",
    },
    Route {
        method: "GET",
        path: "/v1/jobs/{id}",
        op: Op::Detail,
        operation_id: "getJob",
    },
    Route {
        method: "POST",
        path: "/v1/jobs/{id}/pause",
        op: Op::Pause,
        operation_id: "pauseJob",
    },
    Route {
        method: "POST",
        path: "/v1/jobs/{id}/resume",
        op: Op::Resume,
        operation_id: "resumeJob",
    },
    Route {
        method: "POST",
        path: "/v1/jobs/{id}/cancel",
        op: Op::Cancel,
        operation_id: "cancelJob",
    },
    Route {
        method: "POST",
        path: "/v1/jobs/{id}/retry",
        op: Op::Retry,
        operation_id: "retryJob",
    },
];

/// The outcome of routing a method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched<'a> {
    /// A route, with the `{id}` segment when the path has one.
    Route(Op, Option<&'a str>),
    /// `OPTIONS` on a known path: a CORS preflight.
    Preflight(Vec<&'static str>),
    /// A known path with another method; carries the allowed methods for the `allow` header.
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

/// Routes `method` and `path` (without query string). A trailing slash is ignored.
pub fn route<'a>(method: &str, path: &'a str) -> Matched<'a> {
    let path = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    };
    // Literal routes come first, so the first template that matches is the most specific.
    let Some((template, id)) = ROUTES
        .iter()
        .find_map(|r| match_template(r.path, path).map(|id| (r.path, id)))
    else {
        return Matched::NotFound;
    };
    let allowed: Vec<&'static str> = ROUTES
        .iter()
        .filter(|r| r.path == template)
        .map(|r| r.method)
        .collect();
    let method = method.to_ascii_uppercase();
    if method == "OPTIONS" {
        return Matched::Preflight(allowed);
    }
    match ROUTES
        .iter()
        .find(|r| r.path == template && r.method == method)
    {
        Some(r) => Matched::Route(r.op, id),
        None => Matched::MethodNotAllowed(allowed),
    }
}

/// Matches a template like `/v1/jobs/{id}/pause`; `Some(id)` (or `Some(None)`) when it fits.
fn match_template<'a>(template: &str, path: &'a str) -> Option<Option<&'a str>> {
    let mut id = None;
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(id),
            (Some("{id}"), Some(seg)) if !seg.is_empty() => id = Some(seg),
            (Some(a), Some(b)) if a == b => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_paths_win_over_the_id_template() {
        assert_eq!(
            route("GET", "/v1/jobs/summary"),
            Matched::Route(Op::Summary, None)
        );
        assert_eq!(
            route("GET", "/v1/jobs/export/"),
            Matched::Route(Op::Export, None)
        );
        assert_eq!(
            route("GET", "/v1/jobs/j123"),
            Matched::Route(Op::Detail, Some("j123"))
        );
        assert_eq!(
            route("post", "/v1/jobs/j123/pause"),
            Matched::Route(Op::Pause, Some("j123"))
        );
    }

    #[test]
    fn wrong_methods_name_the_allowed_ones_and_unknown_paths_are_not_found() {
        assert_eq!(
            route("DELETE", "/v1/jobs/j1"),
            Matched::MethodNotAllowed(vec!["GET"])
        );
        assert_eq!(
            route("GET", "/v1/jobs/j1/pause"),
            Matched::MethodNotAllowed(vec!["POST"])
        );
        assert_eq!(
            route("POST", "/v1/jobs/summary"),
            Matched::MethodNotAllowed(vec!["GET"])
        );
        assert_eq!(route("GET", "/v1/jobs/j1/explode"), Matched::NotFound);
        assert_eq!(route("GET", "/jobs"), Matched::NotFound);
        assert_eq!(route("GET", "/v1/jobs//pause"), Matched::NotFound);
        assert_eq!(
            route("OPTIONS", "/v1/jobs/j1/retry"),
            Matched::Preflight(vec!["POST"])
        );
    }
}
