//! The TablesDB row endpoints the store uses (appwrite-notes: Row endpoints): get, list,
//! create with a chosen id, bulk upsert, conditional update and delete by query.

use serde_json::{json, Value};

use super::{segment, total_param, AppwriteClient, AppwriteError, Call, Method, Reply, Retry};

impl AppwriteClient {
    fn rows_path(&self, table: &str) -> String {
        format!(
            "/tablesdb/{}/tables/{}/rows",
            segment(&self.config().database_id),
            segment(table)
        )
    }

    pub fn get_row(&self, table: &str, row_id: &str) -> Result<Reply, AppwriteError> {
        let path = format!("{}/{}", self.rows_path(table), segment(row_id));
        self.send(&Call::new(Method::GET, path, Retry::Idempotent))
    }

    /// Lists rows; `total=0` unless a count is wanted (counting costs the server). Appwrite
    /// 1.9.6 casts the raw string to `bool`, so `total=false` still counts: only `0` skips it
    /// (appwrite-notes: Query limits).
    pub fn list_rows(
        &self,
        table: &str,
        queries: &[String],
        total: bool,
    ) -> Result<Reply, AppwriteError> {
        let mut call = Call::new(Method::GET, self.rows_path(table), Retry::Idempotent);
        call.query = queries.iter().map(|q| ("queries[]", q.clone())).collect();
        call.query.push(("total", total_param(total).into()));
        self.send(&call)
    }

    /// Creates a row with a caller-chosen id, which makes a retried create detectable as
    /// `409 row_already_exists` instead of a duplicate.
    pub fn create_row(
        &self,
        table: &str,
        row_id: &str,
        data: Value,
    ) -> Result<Reply, AppwriteError> {
        let mut call = Call::new(Method::POST, self.rows_path(table), Retry::Idempotent);
        call.body = Some(json!({"rowId": row_id, "data": data}));
        self.send(&call)
    }

    /// Creates or replaces up to 100 rows, each carrying its `$id`, in one request (bulk
    /// upsert, `PUT …/rows`; appwrite-notes: Bulk upsert). Idempotent: a retry writes
    /// the same rows again.
    pub(crate) fn upsert_rows(
        &self,
        table: &str,
        rows: Vec<Value>,
    ) -> Result<Reply, AppwriteError> {
        let mut call = Call::new(Method::PUT, self.rows_path(table), Retry::Idempotent);
        call.body = Some(json!({ "rows": rows }));
        self.send(&call)
    }

    /// Partial update of one row, conditional on `timestamp` when given
    /// (appwrite-notes: Conditional writes).
    pub fn update_row(
        &self,
        table: &str,
        row_id: &str,
        data: Value,
        timestamp: Option<String>,
    ) -> Result<Reply, AppwriteError> {
        let path = format!("{}/{}", self.rows_path(table), segment(row_id));
        let mut call = Call::new(Method::PATCH, path, Retry::Idempotent);
        call.body = Some(json!({"data": data}));
        call.timestamp = timestamp;
        self.send(&call)
    }

    /// Deletes every row matching `queries`. Refuses an empty list, which Appwrite would take
    /// as "delete every row" (appwrite-notes: Bulk update and delete by query).
    pub fn delete_rows(&self, table: &str, queries: &[String]) -> Result<Reply, AppwriteError> {
        if queries.is_empty() {
            return Err(AppwriteError::Api {
                status: 400,
                kind: "client_refused_empty_queries".into(),
                message: "bulk delete without queries would delete every row".into(),
            });
        }
        let mut call = Call::new(Method::DELETE, self.rows_path(table), Retry::Idempotent);
        call.body = Some(json!({"queries": queries}));
        self.send(&call)
    }
}
