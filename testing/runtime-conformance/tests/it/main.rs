//! One integration-test binary: the conformance function served by the shim in a child
//! process, driven over real HTTP.

mod client;
mod load;
mod robustness;
mod shutdown;
mod suite;
mod support;
