//! The `shared` crate's integration tests, one binary: what needs the crate's public surface
//! with the `conformance` feature on (which the crate's own dev-dependency turns on).

mod memory;
mod pausing;
