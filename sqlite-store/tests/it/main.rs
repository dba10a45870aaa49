//! The SQLite store's integration tests: the shared conformance suite, plus what only a file
//! database has (several stores on one file, migrations, corrupt rows).

mod conformance;
mod file;
