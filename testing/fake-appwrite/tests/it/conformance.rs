//! The shared store conformance suite, unchanged, against `AppwriteStore` on a fresh fake.

shared::job_store_conformance!(crate::support::fresh_store());
