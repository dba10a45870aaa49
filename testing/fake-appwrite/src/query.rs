//! Appwrite's JSON queries: parsing the `queries[]` and `total` params (with Appwrite's limits
//! and refusals) and answering them over a set of rows: filters, order with `$sequence` as the
//! tie-breaker, cursor, offset, limit and selection (appwrite-notes: Query wire format, Query
//! limits).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::wire::{parse_time, Answer};

const FILTERS: &[&str] = &[
    "equal",
    "notEqual",
    "lessThan",
    "lessThanEqual",
    "greaterThan",
    "greaterThanEqual",
    "between",
    "isNull",
    "isNotNull",
    "startsWith",
    "contains",
    "and",
    "or",
];
const MODIFIERS: &[&str] = &[
    "orderAsc",
    "orderDesc",
    "limit",
    "offset",
    "cursorAfter",
    "select",
];

fn invalid_query(why: impl Into<String>) -> Answer {
    Answer::error(
        400,
        "general_query_invalid",
        format!("Invalid query: {}", why.into()),
    )
}

/// Appwrite's `queries` parameter: at most 4,096 characters per query (appwrite 1.9.6
/// `app/init/constants.php` `APP_LIMIT_ARRAY_ELEMENT_SIZE`, the `queries` param of
/// `TablesDB/Tables/Rows/XList.php` and of the bulk update and delete).
const MAX_QUERY_CHARS: usize = 4096;

/// One query: a JSON string (or, nested in `and`/`or`, an object); appwrite-notes: Query wire
/// format.
pub(crate) fn parse_query(raw: &Value) -> Result<Value, Answer> {
    let q = match raw {
        Value::String(s) if s.chars().count() > MAX_QUERY_CHARS => {
            return Err(Answer::error(
                400,
                "general_argument_invalid",
                "Invalid `queries` param: Value must a valid array no longer than 100 items and Value must be a valid string and at least 1 chars and no longer than 4096 chars",
            ))
        }
        Value::String(s) => serde_json::from_str::<Value>(s)
            .map_err(|_| invalid_query(format!("`{s}` is not JSON")))?,
        Value::Object(_) => raw.clone(),
        other => return Err(invalid_query(format!("`{other}`"))),
    };
    let method = q.get("method").and_then(Value::as_str).unwrap_or("");
    if !FILTERS.contains(&method) && !MODIFIERS.contains(&method) {
        return Err(invalid_query(format!("method `{method}` is not supported")));
    }
    if !q.get("values").is_none_or(Value::is_array) {
        return Err(invalid_query("`values` must be an array"));
    }
    // Nested queries must be objects: utopia-php/database 6.0.0 `Query::parseQuery(array)`
    // is called on each, and a string there is a PHP TypeError, which Appwrite answers 500.
    if (method == "and" || method == "or") && !values(&q).iter().all(Value::is_object) {
        return Err(Answer::error(500, "general_unknown", "Server Error"));
    }
    // Nested queries are validated with the rest, before any row is read, as Appwrite
    // validates every query before it runs one.
    if method == "and" || method == "or" {
        for nested in values(&q) {
            parse_query(nested)?;
        }
    }
    // utopia-php/database 6.0.0 `Validator/Query/Limit.php`: `Range(1, maxLimit)`.
    if method == "limit" && values(&q).first().and_then(Value::as_u64).unwrap_or(0) < 1 {
        return Err(invalid_query(
            "Invalid limit: Value must be a valid range between 1 and 5,000",
        ));
    }
    // Appwrite caps each list of values at 500 (appwrite-notes: Query limits).
    if q.get("values")
        .and_then(Value::as_array)
        .is_some_and(|v| v.len() > 500)
    {
        return Err(invalid_query("at most 500 values are allowed"));
    }
    Ok(q)
}

/// The `total` param of a list route, read as Appwrite 1.9.6 reads it: the route declares
/// `->param('total', true, new Boolean(true), …)` and its action takes `bool $includeTotal`.
/// The loose `Boolean` validator (utopia-php/validators 0.2.6 `src/Validator/Boolean.php`)
/// accepts the strings `true`, `false`, `1`, `0`; utopia-php/http 2.0.0-rc9
/// (`Http::getArguments`) hands the raw query string to the action, and PHP's coercive bool
/// cast makes every non-empty string but `"0"` true. So only `total=0` skips the count;
/// `total=false` still counts (appwrite-notes: Query limits).
pub(crate) fn total_param(params: &[(String, String)]) -> Result<bool, Answer> {
    match params.iter().find(|(k, _)| k == "total") {
        None => Ok(true),
        Some((_, v)) if v == "0" => Ok(false),
        Some((_, v)) if v == "1" || v == "true" || v == "false" => Ok(true),
        Some(_) => Err(Answer::error(
            400,
            "general_argument_invalid",
            "Invalid `total` param: Value must be a valid boolean",
        )),
    }
}

pub(crate) fn params_queries(params: &[(String, String)]) -> Result<Vec<Value>, Answer> {
    let queries: Vec<&String> = params
        .iter()
        .filter(|(k, _)| k == "queries[]" || k.starts_with("queries["))
        .map(|(_, v)| v)
        .collect();
    if queries.len() > 100 {
        return Err(invalid_query("at most 100 queries are allowed"));
    }
    queries
        .into_iter()
        .map(|q| parse_query(&Value::String(q.clone())))
        .collect()
}

fn values(q: &Value) -> &[Value] {
    q.get("values")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn attribute(q: &Value) -> &str {
    q.get("attribute").and_then(Value::as_str).unwrap_or("")
}

/// Compares two column values: numbers numerically (`$sequence` is a numeric string),
/// datetimes as instants, other strings as text. `None` when incomparable or null.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => match (parse_time(x), parse_time(y)) {
            (Some(tx), Some(ty)) => Some(tx.cmp(&ty)),
            _ => match (x.parse::<u64>(), y.parse::<u64>()) {
                (Ok(nx), Ok(ny)) => Some(nx.cmp(&ny)),
                _ => Some(collate(x, y)),
            },
        },
        (Value::String(x), Value::Number(y)) | (Value::Number(y), Value::String(x)) => {
            let order = x.parse::<f64>().ok()?.partial_cmp(&y.as_f64()?)?;
            Some(if matches!(a, Value::String(_)) {
                order
            } else {
                order.reverse()
            })
        }
        _ => None,
    }
}

/// Text order as production compares it: MariaDB's `utf8mb4` default collation,
/// `utf8mb4_general_ci`, is case-insensitive (utopia-php/database 6.0.0
/// `Adapter/MariaDB.php` creates the database `DEFAULT CHARACTER SET utf8mb4`), for `equal`,
/// `startsWith` and ordering alike.
fn collate(x: &str, y: &str) -> Ordering {
    x.to_lowercase().cmp(&y.to_lowercase())
}

/// What utopia-php/database 6.0.0 escapes in a `contains` value before wrapping it in `%…%`
/// for LIKE (`Adapter::escapeWildcards`): each of these gets a `\` before it. `\` itself is
/// not escaped, so a `\` the caller sends stays LIKE's escape character.
const LIKE_ESCAPED: &[char] = &[
    '%', '_', '[', ']', '^', '-', '.', '*', '+', '?', '(', ')', '{', '}', '|',
];

/// `contains` on a text column as MariaDB answers it: `cell LIKE '%' . escaped . '%'`
/// (utopia-php/database 6.0.0 `Adapter/MariaDB.php` `getSQLCondition`), where in the pattern
/// `%` is any run, `_` any one character and `\x` the literal `x`; compared without case
/// under the table's collation (see [`collate`]).
fn like_contains(cell: &str, needle: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut pattern = String::from("%");
    for c in needle.chars() {
        if LIKE_ESCAPED.contains(&c) {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    let mut toks = Vec::new();
    let mut chars = pattern
        .to_lowercase()
        .chars()
        .collect::<Vec<_>>()
        .into_iter();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            // A trailing escape character stands for itself.
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            c => Tok::Lit(c),
        });
    }
    // The usual case, `%literal%`: a substring test (the fake scans every row per list).
    if let [Tok::Any, inner @ .., Tok::Any] = toks.as_slice() {
        let literal: Option<String> = inner
            .iter()
            .map(|t| match t {
                Tok::Lit(c) => Some(*c),
                _ => None,
            })
            .collect();
        if let Some(literal) = literal {
            return cell.to_lowercase().contains(&literal);
        }
    }
    let text: Vec<char> = cell.to_lowercase().chars().collect();
    // matched[j]: the pattern so far matches the first j characters of the text.
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for tok in toks {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = match tok {
                Tok::Any => matched[j] || (j > 0 && next[j - 1]),
                Tok::One => j > 0 && matched[j - 1],
                Tok::Lit(c) => j > 0 && matched[j - 1] && text[j - 1] == c,
            };
        }
        matched = next;
    }
    matched[text.len()]
}

fn matches(row: &Map<String, Value>, q: &Value) -> Result<bool, Answer> {
    let method = q.get("method").and_then(Value::as_str).unwrap_or("");
    let vals = values(q);
    let cell = row.get(attribute(q)).unwrap_or(&Value::Null);
    let first = vals.first().unwrap_or(&Value::Null);
    let cmp = |want: &[Ordering]| compare(cell, first).is_some_and(|o| want.contains(&o));
    Ok(match method {
        // SQL semantics: a comparison with NULL is never true.
        "equal" => vals
            .iter()
            .any(|v| compare(cell, v) == Some(Ordering::Equal)),
        "notEqual" => {
            !cell.is_null()
                && vals
                    .iter()
                    .all(|v| compare(cell, v) != Some(Ordering::Equal))
        }
        "lessThan" => cmp(&[Ordering::Less]),
        "lessThanEqual" => cmp(&[Ordering::Less, Ordering::Equal]),
        "greaterThan" => cmp(&[Ordering::Greater]),
        "greaterThanEqual" => cmp(&[Ordering::Greater, Ordering::Equal]),
        "between" => {
            let hi = vals.get(1).unwrap_or(&Value::Null);
            compare(cell, first).is_some_and(|o| o != Ordering::Less)
                && compare(cell, hi).is_some_and(|o| o != Ordering::Greater)
        }
        "isNull" => cell.is_null(),
        "isNotNull" => !cell.is_null(),
        "startsWith" => match (cell, first) {
            (Value::String(c), Value::String(p)) => c.to_lowercase().starts_with(&p.to_lowercase()),
            _ => false,
        },
        "contains" => match cell {
            Value::String(c) => vals
                .iter()
                .any(|v| v.as_str().is_some_and(|needle| like_contains(c, needle))),
            Value::Array(items) => vals.iter().any(|v| items.contains(v)),
            _ => false,
        },
        "and" | "or" => {
            let mut results = Vec::new();
            for nested in vals {
                results.push(matches(row, nested)?);
            }
            if method == "and" {
                results.iter().all(|r| *r)
            } else {
                results.iter().any(|r| *r)
            }
        }
        _ => true,
    })
}

/// The rows every filter of `queries` matches, in their given order.
fn filtered<'a>(
    rows: Vec<&'a Map<String, Value>>,
    queries: &[Value],
) -> Result<Vec<&'a Map<String, Value>>, Answer> {
    let mut found = Vec::new();
    for row in rows {
        let mut ok = true;
        for q in queries.iter().filter(|q| FILTERS.contains(&method(q))) {
            // Every query was validated when parsed, so stopping at the first miss only saves
            // the work of a long scan.
            if !matches(row, q)? {
                ok = false;
                break;
            }
        }
        if ok {
            found.push(row);
        }
    }
    Ok(found)
}

/// How many rows every filter of `queries` matches (limit, offset and cursor aside).
pub(crate) fn filter_only(
    rows: &[&Map<String, Value>],
    queries: &[Value],
) -> Result<usize, Answer> {
    Ok(filtered(rows.to_vec(), queries)?.len())
}

fn method(q: &Value) -> &str {
    q["method"].as_str().unwrap_or("")
}

/// Column and ascending flag of each order query, then `$sequence` ascending.
fn orders(queries: &[Value]) -> Vec<(String, bool)> {
    let mut orders: Vec<(String, bool)> = queries
        .iter()
        .filter(|q| method(q) == "orderAsc" || method(q) == "orderDesc")
        .map(|q| (attribute(q).to_owned(), method(q) == "orderAsc"))
        .collect();
    orders.push(("$sequence".into(), true));
    orders
}

fn order(orders: &[(String, bool)], a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
    for (column, asc) in orders {
        let x = a.get(column).unwrap_or(&Value::Null);
        let y = b.get(column).unwrap_or(&Value::Null);
        // MariaDB puts NULL first in ascending order.
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => compare(x, y).unwrap_or(Ordering::Equal),
        };
        let o = if *asc { o } else { o.reverse() };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Keeps the rows after each `cursorAfter` row, in `orders`.
fn after_cursors(
    found: &mut Vec<&Map<String, Value>>,
    queries: &[Value],
    orders: &[(String, bool)],
    table: Option<&BTreeMap<String, Map<String, Value>>>,
) -> Result<(), Answer> {
    for q in queries.iter().filter(|q| method(q) == "cursorAfter") {
        let id = values(q).first().and_then(Value::as_str).unwrap_or("");
        // The cursor row is looked up in the table, matching or not [I: Appwrite reports a
        // missing one as 400; the type name is our best reading of its errors].
        let cursor = table.and_then(|t| t.get(id)).ok_or_else(|| {
            Answer::error(
                400,
                "general_cursor_not_found",
                format!("Row '{id}' for the 'cursor' value not found."),
            )
        })?;
        if orders
            .iter()
            .any(|(c, _)| cursor.get(c).is_none_or(Value::is_null))
        {
            return Err(Answer::error(
                400,
                "database_query_order_null",
                "The order column contains a null value for the cursor row.",
            ));
        }
        found.retain(|row| order(orders, row, cursor) == Ordering::Greater);
    }
    Ok(())
}

/// Filters, orders (user orders, then `$sequence` as Appwrite's tie-breaker), applies the
/// cursor, offset and limit (default 25, appwrite-notes: Query limits) and the selection.
pub(crate) fn select(
    rows: Vec<&Map<String, Value>>,
    queries: Result<Vec<Value>, Answer>,
    table: Option<&BTreeMap<String, Map<String, Value>>>,
) -> Result<Vec<Map<String, Value>>, Answer> {
    let queries = queries?;
    let mut found = filtered(rows, &queries)?;
    let orders = orders(&queries);
    found.sort_by(|a, b| order(&orders, a, b));
    after_cursors(&mut found, &queries, &orders, table)?;
    let number_of = |name: &str, default: usize| {
        queries
            .iter()
            .filter(|q| method(q) == name)
            .filter_map(|q| values(q).first().and_then(Value::as_u64))
            .next_back()
            .map_or(default, |n| n as usize)
    };
    let offset = number_of("offset", 0);
    let limit = number_of("limit", 25);
    let selected: Option<Vec<String>> = queries
        .iter()
        .filter(|q| method(q) == "select")
        .map(|q| {
            values(q)
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .reduce(|mut a: Vec<String>, b| {
            a.extend(b);
            a
        });
    Ok(found
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|row| match &selected {
            None => row.clone(),
            Some(columns) => row
                .iter()
                .filter(|(k, _)| k.starts_with('$') || columns.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::like_contains;

    #[test]
    fn contains_is_a_literal_substring_without_case_as_mariadb_like_answers() {
        assert!(like_contains("Campaign-Spring", "SPRING"));
        assert!(!like_contains("Campaign-Spring", "autumn"));
        // Wildcards are escaped by utopia-php/database, so they match themselves only.
        assert!(like_contains("50%_off", "%_"));
        assert!(!like_contains("5000ff", "0%_o"));
        assert!(like_contains("anything", ""));
        // A lone backslash is LIKE's escape: it takes the next character literally...
        assert!(like_contains("ab", "a\\b"));
        assert!(!like_contains("a\\b", "a\\b"));
        // ...so a doubled one is a literal backslash.
        assert!(like_contains("a\\b", "a\\\\b"));
        // A lone backslash before an escaped wildcard eats the escape: the wildcard is live.
        assert!(like_contains("x\\yz", "\\%"));
        assert!(!like_contains("xyz", "\\%"));
        assert!(like_contains("a\\bc", "\\_c"));
    }
}
