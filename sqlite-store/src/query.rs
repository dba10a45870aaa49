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

/// Builds the statement for `query`, or `None` when no status can match (nothing to run).
/// Looks up the cursor job, so an unknown cursor is an `Invalid` error naming `cursor`.
pub fn list(conn: &Connection, query: &JobQuery) -> Result<Option<ListSql>, crate::Failure> {
    let mut filters: Vec<String> = Vec::new();
    let mut params: Vec<Sql> = Vec::new();

    let statuses = query.scope.statuses(&query.statuses);
    if statuses.is_empty() {
        return Ok(None);
    }
    if statuses.len() < JobStatus::ALL.len() {
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        in_list("status", &names, &mut filters, &mut params);
    }
    if !query.types.is_empty() {
        let names: Vec<&str> = query.types.iter().map(|t| t.as_str()).collect();
        in_list("type", &names, &mut filters, &mut params);
    }
    if let Some(since) = query.updated_since {
        filters.push("updatedAt >= ?".into());
        params.push(Sql::Integer(ms(since)));
    }
    if let Some(prefix) = query.reference_prefix.as_deref().filter(|p| !p.is_empty()) {
        filters.push("referenceId >= ?".into());
        params.push(text(prefix));
        if let Some(upper) = prefix_upper_bound(prefix) {
            filters.push("referenceId < ?".into());
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

    let limit = query.effective_limit();
    params.push(Sql::Integer(limit as i64 + 1));
    let filters = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    // Two steps: pick the page's rowids with the filters (served from an index alone when the
    // filters are covered), then read only those rows. SQLite would otherwise carry whole rows
    // through the sort of every match in a date range.
    let order = format!("ORDER BY {order_column} DESC, id DESC");
    let text = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE rowid IN \
         (SELECT rowid FROM jobs {filters} {order} LIMIT ?) {order}"
    );
    Ok(Some(ListSql {
        text,
        params,
        limit,
    }))
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
