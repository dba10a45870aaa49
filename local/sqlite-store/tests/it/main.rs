//! The SQLite store's integration tests: the shared conformance suite, plus what only a file
//! database has (several stores on one file, migrations, corrupt rows) and the list shapes that need
//! more data than the suite's.

mod conformance;
mod file;
mod listing;
