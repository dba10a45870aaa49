//! Placeholder: the list benchmark lands with the SQLite store.
fn main() {}
