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
    /// One action on many jobs (`POST /v1/jobs/batch`).
    Batch,
    /// Every scheduled function with its health (`GET /v1/schedules`, docs/schedules.md).
    Schedules,
    /// Run a scheduled function now, asynchronously.
    ScheduleRun,
    /// Set a scheduled function's `enabled` flag on.
    ScheduleEnable,
    /// Set a scheduled function's `enabled` flag off.
    ScheduleDisable,
}

impl Op {
    /// Whether the operation changes a job (operators only).
    pub fn is_action(self) -> bool {
        matches!(
            self,
            Op::Pause | Op::Resume | Op::Cancel | Op::Retry | Op::Batch
        ) || self.is_schedule_action()
    }

    /// Whether the operation acts on a scheduled function (operators only; no state machine,
    /// so never a 409).
    pub fn is_schedule_action(self) -> bool {
        matches!(
            self,
            Op::ScheduleRun | Op::ScheduleEnable | Op::ScheduleDisable
        )
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

/// Every route. Literal segments (`summary`, `export`, `batch`) are listed before `{id}` so they
/// win; generated job ids never equal them.
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
        method: "POST",
        path: "/v1/jobs/batch",
        op: Op::Batch,
        operation_id: "actOnJobs",
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

/// The Schedules routes (docs/schedules.md), after the job routes.
const SCHEDULE_ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/v1/schedules",
        op: Op::Schedules,
        operation_id: "listSchedules",
    },
    Route {
        method: "POST",
        path: "/v1/schedules/{functionId}/run",
        op: Op::ScheduleRun,
        operation_id: "runSchedule",
    },
    Route {
        method: "POST",
        path: "/v1/schedules/{functionId}/enable",
        op: Op::ScheduleEnable,
        operation_id: "enableSchedule",
    },
    Route {
        method: "POST",
        path: "/v1/schedules/{functionId}/disable",
        op: Op::ScheduleDisable,
        operation_id: "disableSchedule",
    },
];

/// Every route the API answers: [`ROUTES`] then [`SCHEDULE_ROUTES`].
pub fn all_routes() -> impl Iterator<Item = &'static Route> {
    ROUTES.iter().chain(SCHEDULE_ROUTES)
}

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
    let Some((template, id)) =
        all_routes().find_map(|r| match_template(r.path, path).map(|id| (r.path, id)))
    else {
        return Matched::NotFound;
    };
    let allowed: Vec<&'static str> = all_routes()
        .filter(|r| r.path == template)
        .map(|r| r.method)
        .collect();
    let method = method.to_ascii_uppercase();
    if method == "OPTIONS" {
        return Matched::Preflight(allowed);
    }
    match all_routes().find(|r| r.path == template && r.method == method) {
        Some(r) => Matched::Route(r.op, id),
        None => Matched::MethodNotAllowed(allowed),
    }
}

/// Matches a template like `/v1/jobs/{id}/pause` (any `{name}` segment is the id);
/// `Some(id)` (or `Some(None)`) when it fits.
fn match_template<'a>(template: &str, path: &'a str) -> Option<Option<&'a str>> {
    let mut id = None;
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(id),
            (Some(t), Some(seg)) if t.starts_with('{') && t.ends_with('}') && !seg.is_empty() => {
                id = Some(seg)
            }
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
