//! Query strings into [`JobQuery`]: the list and export filters. Strict on purpose: an unknown
//! key, a malformed date, a reversed range or a bad cursor is a 400 naming the parameter, so a
//! typo in a dashboard never silently shows the wrong jobs.

use shared::http::ApiError;
use shared::job::{parse_timestamp, JobStatus, JobType, Timestamp, MAX_REFERENCE_CHARS};
use shared::store::{id, DateField, DateRange, JobQuery, Order, Scope, MAX_PAGE};

/// Page size when none is asked for.
pub const DEFAULT_LIMIT: usize = 50;

/// The filters shared by list and export.
pub const FILTER_KEYS: &[&str] = &[
    "type",
    "status",
    "scope",
    "dateField",
    "from",
    "to",
    "updatedSince",
    "q",
    "order",
    "limit",
    "cursor",
];

/// Keys that may repeat (`type=A&type=B` means the same as `type=A,B`).
const LIST_KEYS: &[&str] = &["type", "status"];

/// Decoded `key=value` pairs in their order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Splits and decodes a raw query string as a form (`URLSearchParams`) encodes it: `%XX`
    /// escapes, and `+` for a space. An unencoded `+02:00` offset therefore arrives as a
    /// space, which the timestamp parser reads back as the sign it was.
    pub fn parse(raw: &str) -> Result<Params, ApiError> {
        let mut pairs = Vec::new();
        for part in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let key = shared::url::decode_query_value(k)
                .ok_or_else(|| ApiError::invalid("query", "malformed query key"))?;
            let value = shared::url::decode_query_value(v).ok_or_else(|| {
                ApiError::invalid(
                    key.clone(),
                    format!("`{key}` is not percent-encoded correctly"),
                )
            })?;
            pairs.push((key, value));
        }
        Ok(Params(pairs))
    }

    /// Rejects keys outside `allowed` and repeats of single-valued keys.
    pub fn check(&self, allowed: &[&str]) -> Result<(), ApiError> {
        for (i, (key, _)) in self.0.iter().enumerate() {
            if !allowed.contains(&key.as_str()) {
                let known = if allowed.is_empty() {
                    "this route takes no query parameters".to_owned()
                } else {
                    format!("known parameters: {}", allowed.join(", "))
                };
                return Err(ApiError::invalid(
                    key.clone(),
                    format!("unknown query parameter `{key}`; {known}"),
                ));
            }
            let repeated = self.0[..i].iter().any(|(k, _)| k == key);
            if repeated && !LIST_KEYS.contains(&key.as_str()) {
                return Err(ApiError::invalid(
                    key.clone(),
                    format!("query parameter `{key}` is given more than once"),
                ));
            }
        }
        Ok(())
    }

    /// The value of a single-valued key; an empty value counts as absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every comma-separated item of every occurrence of `key`.
    fn items(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// How `limit` above the maximum is treated: lists cap it at [`MAX_PAGE`], exports at the
/// configured row cap.
pub fn job_query(
    params: &Params,
    max_limit: usize,
    default_limit: usize,
) -> Result<JobQuery, ApiError> {
    let types = params
        .items("type")
        .into_iter()
        .map(|t| {
            t.parse::<JobType>()
                .map_err(|e| ApiError::invalid("type", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let statuses = params
        .items("status")
        .into_iter()
        .map(|s| {
            s.parse::<JobStatus>()
                .map_err(|e| ApiError::invalid("status", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let scope = match params.get("scope") {
        None | Some("all") => Scope::All,
        Some("active") => Scope::Active,
        Some("finished") => Scope::Finished,
        Some(other) => return Err(one_of("scope", other, "all, active, finished")),
    };
    let order = match params.get("order") {
        None | Some("created") => Order::Created,
        Some("completed") => Order::Completed,
        Some(other) => return Err(one_of("order", other, "created, completed")),
    };
    let field = match params.get("dateField") {
        None | Some("startedAt") => DateField::StartedAt,
        Some("completedAt") => DateField::CompletedAt,
        Some("updatedAt") => DateField::UpdatedAt,
        Some(other) => {
            return Err(one_of(
                "dateField",
                other,
                "startedAt, completedAt, updatedAt",
            ))
        }
    };
    let from = timestamp(params, "from")?;
    let to = timestamp(params, "to")?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::invalid(
                "to",
                "`to` is before `from`: the date range is reversed",
            ));
        }
    }
    let range = (from.is_some() || to.is_some()).then_some(DateRange { field, from, to });
    let updated_since = timestamp(params, "updatedSince")?;

    // `q`: a reference containing it, or the job with this id (docs/actions.md § Listing).
    let search = match params.get("q") {
        None => None,
        Some(q) if q.chars().count() > MAX_REFERENCE_CHARS => {
            return Err(ApiError::invalid(
                "q",
                format!("`q` is longer than {MAX_REFERENCE_CHARS} characters"),
            ))
        }
        Some(q) if q.chars().any(char::is_control) => {
            return Err(ApiError::invalid("q", "`q` contains control characters"))
        }
        Some(q) => Some(q.to_owned()),
    };

    let limit = match params.get("limit") {
        None => default_limit,
        Some(raw) => match raw.parse::<usize>() {
            Ok(0) | Err(_) => {
                return Err(ApiError::invalid(
                    "limit",
                    format!("`limit` must be a whole number from 1 to {max_limit}, not `{raw}`"),
                ))
            }
            // Huge pages are capped, not refused: asking for "everything" still gets a page.
            Ok(n) => n.min(max_limit),
        },
    };

    let cursor = match params.get("cursor") {
        None => None,
        Some(c) if id::is_valid(c) => Some(c.to_owned()),
        Some(c) => {
            return Err(ApiError {
                code: "invalid_cursor",
                ..ApiError::invalid("cursor", format!("`{c}` is not a job id cursor"))
            })
        }
    };

    Ok(JobQuery {
        types,
        statuses,
        scope,
        range,
        updated_since,
        search,
        order,
        limit,
        cursor,
    })
}

/// The list's limit: at most [`MAX_PAGE`], [`DEFAULT_LIMIT`] by default.
pub fn list_query(params: &Params) -> Result<JobQuery, ApiError> {
    job_query(params, MAX_PAGE, DEFAULT_LIMIT)
}

fn one_of(field: &'static str, got: &str, allowed: &str) -> ApiError {
    ApiError::invalid(field, format!("`{got}` is not one of {allowed}"))
}

fn timestamp(params: &Params, field: &'static str) -> Result<Option<Timestamp>, ApiError> {
    let Some(raw) = params.get(field) else {
        return Ok(None);
    };
    // A form encoder turns the `+` of `+02:00` into a space; read it back as the sign it was.
    let attempt = parse_timestamp(field, raw).or_else(|e| {
        if raw.contains(' ') {
            parse_timestamp(field, &raw.replace(' ', "+"))
        } else {
            Err(e)
        }
    });
    attempt.map(Some).map_err(|_| {
        ApiError::invalid(
            field,
            format!("`{field}` must be an RFC 3339 timestamp like 2026-11-29T11:48:05.456Z, not `{raw}`"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<JobQuery, ApiError> {
        let p = Params::parse(raw)?;
        p.check(FILTER_KEYS)?;
        list_query(&p)
    }

    #[test]
    fn every_filter_is_read() {
        let q = parse(
            "type=CAMPAIGN_RUN,BULK_VERIFY&status=RUNNING&status=PAUSED&scope=active\
             &dateField=completedAt&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00%2B01:00\
             &updatedSince=2026-01-05T00:00:00.123Z&q=camp+A&order=completed&limit=20&cursor=j1",
        )
        .unwrap();
        assert_eq!(q.types, [JobType::CampaignRun, JobType::BulkVerify]);
        assert_eq!(q.statuses, [JobStatus::Running, JobStatus::Paused]);
        assert_eq!(q.scope, Scope::Active);
        let range = q.range.unwrap();
        assert_eq!(range.field, DateField::CompletedAt);
        assert_eq!(range.to.unwrap().to_rfc3339(), "2026-01-31T23:00:00+00:00");
        assert_eq!(q.search.as_deref(), Some("camp A"));
        assert_eq!(q.order, Order::Completed);
        assert_eq!(q.limit, 20);
        assert_eq!(q.cursor.as_deref(), Some("j1"));
    }

    #[test]
    fn defaults_are_all_jobs_newest_first_fifty_a_page() {
        let q = parse("").unwrap();
        assert_eq!(
            q,
            JobQuery {
                limit: 50,
                ..JobQuery::default()
            }
        );
    }

    #[test]
    fn an_unencoded_plus_offset_still_parses_as_an_offset() {
        let q = parse("updatedSince=2026-01-01T01:00:00+01:00").unwrap();
        assert_eq!(
            q.updated_since.unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn huge_limits_are_capped_at_the_page_maximum() {
        assert_eq!(parse("limit=100000").unwrap().limit, MAX_PAGE);
    }

    #[test]
    fn bad_input_names_the_parameter() {
        let cases = [
            ("colour=red", "colour"),
            ("type=EMAIL", "type"),
            ("status=running", "status"),
            ("scope=some", "scope"),
            ("order=oldest", "order"),
            ("dateField=createdAt", "dateField"),
            ("from=yesterday", "from"),
            ("updatedSince=2026-13-01T00:00:00Z", "updatedSince"),
            ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
            ("limit=0", "limit"),
            ("limit=-3", "limit"),
            ("limit=ten", "limit"),
            ("limit=1&limit=2", "limit"),
            ("cursor=..%2F..%2Fetc", "cursor"),
            ("q=%ZZ", "q"),
            // A sign is not a hex digit (`from_str_radix` accepts `+5`).
            ("q=%+5", "q"),
            ("q=%-1", "q"),
        ];
        for (raw, field) in cases {
            let err = parse(raw).unwrap_err();
            assert_eq!(err.status, 400, "{raw}");
            assert_eq!(err.field.as_deref(), Some(field), "{raw}: {}", err.message);
        }
    }
}
