//! A [`JobQuery`] as one SQL statement. Filters are written as plain index-friendly
//! comparisons (`IN`, integer ranges; the search alone is a per-row test) and the cursor as a
//! row-value comparison `(time, id) < (?, ?)`, so SQLite can serve each from an index; the
//! semantics are those of [`JobQuery::matches`].

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension};
use shared::job::{JobError, JobStatus};
use shared::store::{fold, DateRange, JobQuery, Order};

use crate::codec::{ms, JOB_COLUMNS};

/// A statement ready to run; it asks for `limit + 1` rows so the caller knows whether another
/// page follows.
pub struct ListSql {
    pub text: String,
    pub params: Vec<Sql>,
    pub limit: usize,
}

fn text(s: &str) -> Sql {
    Sql::Text(s.to_owned())
}

fn in_list(column: &str, values: &[&str], sql: &mut Vec<String>, params: &mut Vec<Sql>) {
    let marks = vec!["?"; values.len()].join(", ");
    sql.push(format!("{column} IN ({marks})"));
    params.extend(values.iter().map(|v| text(v)));
}

/// Builds the statement for `query`, or `None` when no status can match (nothing to run).
/// Looks up the cursor job, so an unknown cursor is an `Invalid` error naming `cursor`.
///
/// Shape: the page's rowids are chosen first, inside indexes, then only those rows are read.
/// When the query names several (type, status) pairs, the choice is a merge: one branch per
/// pair, each an ordered scan of a `(type, status, key, id)` index that stops after `limit + 1`
/// entries, and the union of those few rows is sorted. An `IN` list over the same index would
/// make SQLite read and sort every entry of every pair (25 ms for two statuses at 1M jobs).
pub fn list(conn: &Connection, query: &JobQuery) -> Result<Option<ListSql>, crate::Failure> {
    let mut filters = Filters::default();

    let statuses = query.scope.statuses(&query.statuses);
    if statuses.is_empty() {
        return Ok(None);
    }
    let limit = query.effective_limit();
    if let Some(since) = query.updated_since {
        filters.terms.push("updatedAt >= ?".into());
        filters.params.push(Sql::Integer(ms(since)));
    }
    if let Some(search) = query.search.as_deref().filter(|s| !s.is_empty()) {
        search_filter(search, &mut filters);
    }
    if let Some(range) = &query.range {
        range_filter(range, &mut filters);
    }
    let order_column = order_column(query.order, &mut filters);
    if let Some(cursor) = &query.cursor {
        cursor_filter(conn, cursor, order_column, &mut filters)?;
    }

    let status_names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let all_statuses = statuses.len() == JobStatus::ALL.len();
    let type_names: Vec<&str> = query.types.iter().map(|t| t.as_str()).collect();
    let branches = merge_branches(&status_names, all_statuses, &type_names, query.order);

    let order = format!("ORDER BY {order_column} DESC, id DESC");
    let page = limit as i64 + 1;
    // One branch is a single scan too: its `IN` lists hold one value each (an equality).
    let (inner, all_params) = if branches.len() <= 1 {
        let statuses = (!all_statuses).then_some(status_names.as_slice());
        single_scan(statuses, &type_names, filters, &order, page)
    } else {
        merged_scan(&branches, &filters, order_column, &order, page)
    };
    // Two steps: pick the page's rowids with the filters (served from an index alone when the
    // filters are covered), then read only those rows. SQLite would otherwise carry whole rows
    // through the sort of every match in a date range.
    let text = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE rowid IN ({inner}) {order}");
    Ok(Some(ListSql {
        text,
        params: all_params,
        limit,
    }))
}

/// The filter terms every branch of a listing shares, with their parameters in term order.
#[derive(Default)]
struct Filters {
    terms: Vec<String>,
    params: Vec<Sql>,
}

/// Filters on the search box ([`JobQuery::search`]): the reference contains the text or the
/// id is the text, both folded by `jm_fold` (the store's `shared::store::fold`, registered on
/// every connection) as Appwrite's collation ignores case. No index serves a substring, so
/// the order index is walked and the walk stops once the page is full.
fn search_filter(search: &str, filters: &mut Filters) {
    let folded = fold(search);
    filters
        .terms
        .push("(instr(jm_fold(referenceId), ?) > 0 OR jm_fold(id) = ?)".into());
    filters.params.push(text(&folded));
    filters.params.push(text(&folded));
}

/// Filters on a date range; a job without the timestamp (never started, not finished) is
/// outside every range.
fn range_filter(range: &DateRange, filters: &mut Filters) {
    let column = range.field.column();
    filters.terms.push(format!("{column} IS NOT NULL"));
    if let Some(from) = range.from {
        filters.terms.push(format!("{column} >= ?"));
        filters.params.push(Sql::Integer(ms(from)));
    }
    if let Some(to) = range.to {
        filters.terms.push(format!("{column} < ?"));
        filters.params.push(Sql::Integer(ms(to)));
    }
}

/// The column `order` sorts by; a history listing holds only jobs that have completed.
fn order_column(order: Order, filters: &mut Filters) -> &'static str {
    match order {
        Order::Created => "createdAt",
        Order::Completed => {
            filters.terms.push("completedAt IS NOT NULL".into());
            "completedAt"
        }
    }
}

/// Filters to the rows after the cursor job; a cursor naming no job of this listing is an
/// `Invalid` error naming `cursor`.
fn cursor_filter(
    conn: &Connection,
    cursor: &str,
    order_column: &str,
    filters: &mut Filters,
) -> Result<(), crate::Failure> {
    let key: Option<Option<i64>> = conn
        .prepare_cached(&format!("SELECT {order_column} FROM jobs WHERE id = ?"))?
        .query_row([cursor], |row| row.get(0))
        .optional()?;
    let Some(Some(key)) = key else {
        return Err(JobError::invalid(
            "cursor",
            format!("`{cursor}` names no job of this listing"),
        )
        .into());
    };
    filters.terms.push(format!("({order_column}, id) < (?, ?)"));
    filters.params.push(Sql::Integer(key));
    filters.params.push(text(cursor));
    Ok(())
}

/// The branches of the merge, as (type, status) equalities; none for a single scan. No
/// merge when there is nothing to split on, or when only statuses narrow a history listing:
/// the partial `jobs_completed` index is already in that order and nearly every job is
/// finished.
fn merge_branches<'a>(
    status_names: &[&'a str],
    all_statuses: bool,
    type_names: &[&'a str],
    order: Order,
) -> Vec<(Option<&'a str>, Option<&'a str>)> {
    if type_names.is_empty() {
        if all_statuses || order == Order::Completed {
            Vec::new()
        } else {
            status_names.iter().map(|s| (None, Some(*s))).collect()
        }
    } else {
        type_names
            .iter()
            .flat_map(|t| status_names.iter().map(move |s| (Some(*t), Some(*s))))
            .collect()
    }
}

/// The page's rowids from one ordered scan, with its parameters: `statuses` (`None`: every
/// status) and `type_names` as `IN` lists, then the shared filters.
fn single_scan(
    statuses: Option<&[&str]>,
    type_names: &[&str],
    filters: Filters,
    order: &str,
    page: i64,
) -> (String, Vec<Sql>) {
    let mut all_params = Vec::new();
    let mut own = Vec::new();
    if let Some(status_names) = statuses {
        in_list("status", status_names, &mut own, &mut all_params);
    }
    if !type_names.is_empty() {
        in_list("type", type_names, &mut own, &mut all_params);
    }
    own.extend(filters.terms);
    all_params.extend(filters.params);
    all_params.push(Sql::Integer(page));
    let inner = format!(
        "SELECT rowid FROM jobs {} {order} LIMIT ?",
        where_clause(&own)
    );
    (inner, all_params)
}

/// The page's rowids as a merge, with its parameters: one scan per (type, status) branch,
/// each stopping after a page, and the union of those few rows sorted.
fn merged_scan(
    branches: &[(Option<&str>, Option<&str>)],
    filters: &Filters,
    order_column: &str,
    order: &str,
    page: i64,
) -> (String, Vec<Sql>) {
    let mut all_params = Vec::new();
    let mut parts = Vec::new();
    for (job_type, status) in branches {
        let mut own: Vec<String> = Vec::new();
        if let Some(t) = job_type {
            own.push("type = ?".into());
            all_params.push(text(t));
        }
        if let Some(s) = status {
            own.push("status = ?".into());
            all_params.push(text(s));
        }
        own.extend(filters.terms.iter().cloned());
        all_params.extend(filters.params.iter().cloned());
        all_params.push(Sql::Integer(page));
        parts.push(format!(
            "SELECT * FROM (SELECT rowid AS r, {order_column} AS k, id FROM jobs {} \
             {order} LIMIT ?)",
            where_clause(&own)
        ));
    }
    all_params.push(Sql::Integer(page));
    let inner = format!(
        "SELECT r FROM ({}) ORDER BY k DESC, id DESC LIMIT ?",
        parts.join(" UNION ALL ")
    );
    (inner, all_params)
}

fn where_clause(filters: &[String]) -> String {
    if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    }
}
