//! A [`JobQuery`] as one SQL statement. Filters are written as plain index-friendly
//! comparisons (`IN`, integer ranges, a reference range instead of `LIKE`) and the cursor as a
//! row-value comparison `(time, id) < (?, ?)`, so SQLite can serve each from an index; the
//! semantics are those of [`JobQuery::matches`].

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension};
use shared::job::{JobError, JobStatus};
use shared::store::{JobQuery, Order};

use crate::codec::{ms, JOB_COLUMNS};

/// A statement ready to run; it asks for `limit + 1` rows so the caller knows whether another
/// page follows.
pub struct ListSql {
    pub text: String,
    pub params: Vec<Sql>,
    pub limit: usize,
}

/// The smallest string greater than every string starting with `prefix`, if any: SQLite
/// compares text bytewise, and UTF-8 byte order is code point order.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn text(s: &str) -> Sql {
    Sql::Text(s.to_owned())
}

fn in_list(column: &str, values: &[&str], sql: &mut Vec<String>, params: &mut Vec<Sql>) {
    let marks = vec!["?"; values.len()].join(", ");
    sql.push(format!("{column} IN ({marks})"));
    params.extend(values.iter().map(|v| text(v)));
}

/// A reference prefix matching at least this many jobs (counted in the reference index, up to
/// this cap) is "dense": its page is found sooner by walking the order index and testing the
/// reference than by sorting every match. Below it, sorting the matches inside the covering
/// reference index costs at most this many entries.
const DENSE_REFERENCE: usize = 8_192;

/// Whether `prefix` matches at least [`DENSE_REFERENCE`] jobs, or 160 per row of the page
/// asked for (so a large page does not walk far for a prefix of middling density).
fn reference_is_dense(
    conn: &Connection,
    lower: &str,
    upper: Option<&str>,
    limit: usize,
) -> rusqlite::Result<bool> {
    let cap = DENSE_REFERENCE.max(160 * (limit + 1)) as i64;
    let found: i64 = match upper {
        Some(upper) => conn
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM jobs \
                 WHERE referenceId >= ? AND referenceId < ? LIMIT ?)",
            )?
            .query_row(rusqlite::params![lower, upper, cap], |r| r.get(0))?,
        None => conn
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE referenceId >= ? LIMIT ?)",
            )?
            .query_row(rusqlite::params![lower, cap], |r| r.get(0))?,
    };
    Ok(found >= cap)
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
    let mut filters: Vec<String> = Vec::new();
    let mut params: Vec<Sql> = Vec::new();

    let statuses = query.scope.statuses(&query.statuses);
    if statuses.is_empty() {
        return Ok(None);
    }
    let limit = query.effective_limit();
    if let Some(since) = query.updated_since {
        filters.push("updatedAt >= ?".into());
        params.push(Sql::Integer(ms(since)));
    }
    // SQLite cannot tell how many jobs a prefix matches (no range statistics), so the store
    // counts them, up to a cap, in the reference index and picks the plan itself:
    // - few matches: all of them are read from the covering reference index (`INDEXED BY`,
    //   type and status filtered there too) and sorted; the cost is bounded by the cap;
    // - many: `+referenceId` (an expression, not the bare column) keeps the planner off the
    //   reference index, so the order index is walked and stops once the page is full.
    let mut sparse_reference = false;
    if let Some(prefix) = query.reference_prefix.as_deref().filter(|p| !p.is_empty()) {
        let upper = prefix_upper_bound(prefix);
        sparse_reference = !reference_is_dense(conn, prefix, upper.as_deref(), limit)?;
        let column = if sparse_reference {
            "referenceId"
        } else {
            "+referenceId"
        };
        filters.push(format!("{column} >= ?"));
        params.push(text(prefix));
        if let Some(upper) = upper {
            filters.push(format!("{column} < ?"));
            params.push(text(&upper));
        }
    }
    if let Some(range) = &query.range {
        let column = range.field.column();
        // A job without the timestamp (never started, not finished) is outside every range.
        filters.push(format!("{column} IS NOT NULL"));
        if let Some(from) = range.from {
            filters.push(format!("{column} >= ?"));
            params.push(Sql::Integer(ms(from)));
        }
        if let Some(to) = range.to {
            filters.push(format!("{column} < ?"));
            params.push(Sql::Integer(ms(to)));
        }
    }
    let order_column = match query.order {
        Order::Created => "createdAt",
        Order::Completed => {
            filters.push("completedAt IS NOT NULL".into());
            "completedAt"
        }
    };
    if let Some(cursor) = &query.cursor {
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
        filters.push(format!("({order_column}, id) < (?, ?)"));
        params.push(Sql::Integer(key));
        params.push(text(cursor));
    }

    let status_names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let all_statuses = statuses.len() == JobStatus::ALL.len();
    let type_names: Vec<&str> = query.types.iter().map(|t| t.as_str()).collect();
    // The branches of the merge, as (type, status) equalities; none for a single scan. No
    // merge when there is nothing to split on, for a sparse reference (its index holds every
    // match), or when only statuses narrow a history listing: the partial `jobs_completed`
    // index is already in that order and nearly every job is finished.
    let branches: Vec<(Option<&str>, Option<&str>)> = if sparse_reference {
        Vec::new()
    } else if type_names.is_empty() {
        if all_statuses || query.order == Order::Completed {
            Vec::new()
        } else {
            status_names.iter().map(|s| (None, Some(*s))).collect()
        }
    } else {
        type_names
            .iter()
            .flat_map(|t| status_names.iter().map(move |s| (Some(*t), Some(*s))))
            .collect()
    };

    let order = format!("ORDER BY {order_column} DESC, id DESC");
    let page = limit as i64 + 1;
    let mut all_params = Vec::new();
    // One branch is a single scan too: its `IN` lists hold one value each (an equality).
    let inner = if branches.len() <= 1 {
        let mut own = Vec::new();
        if !all_statuses {
            in_list("status", &status_names, &mut own, &mut all_params);
        }
        if !type_names.is_empty() {
            in_list("type", &type_names, &mut own, &mut all_params);
        }
        own.extend(filters);
        all_params.extend(params);
        all_params.push(Sql::Integer(page));
        // `jobs_reference` (schema migration 3) covers the reference, type, status and order
        // key, so a sparse prefix's matches are filtered and sorted without reading the table.
        let source = if sparse_reference {
            "jobs INDEXED BY jobs_reference"
        } else {
            "jobs"
        };
        format!(
            "SELECT rowid FROM {source} {} {order} LIMIT ?",
            where_clause(&own)
        )
    } else {
        let mut parts = Vec::new();
        for (job_type, status) in &branches {
            let mut own: Vec<String> = Vec::new();
            if let Some(t) = job_type {
                own.push("type = ?".into());
                all_params.push(text(t));
            }
            if let Some(s) = status {
                own.push("status = ?".into());
                all_params.push(text(s));
            }
            own.extend(filters.iter().cloned());
            all_params.extend(params.iter().cloned());
            all_params.push(Sql::Integer(page));
            parts.push(format!(
                "SELECT * FROM (SELECT rowid AS r, {order_column} AS k, id FROM jobs {} \
                 {order} LIMIT ?)",
                where_clause(&own)
            ));
        }
        all_params.push(Sql::Integer(page));
        format!(
            "SELECT r FROM ({}) ORDER BY k DESC, id DESC LIMIT ?",
            parts.join(" UNION ALL ")
        )
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

fn where_clause(filters: &[String]) -> String {
    if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_upper_bound;

    #[test]
    fn prefix_upper_bound_is_the_next_string_after_every_extension() {
        assert_eq!(prefix_upper_bound("camp").as_deref(), Some("camq"));
        assert_eq!(prefix_upper_bound(""), None);
        let top = char::MAX.to_string();
        assert_eq!(prefix_upper_bound(&format!("a{top}")).as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound(&top), None);
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }
}
