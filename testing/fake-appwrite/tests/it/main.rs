//! The one integration-test binary of `fake-appwrite`: `AppwriteStore` and `AppwriteClient`
//! against the fake (conformance suite, faults, request costs, client calls), plus the opt-in
//! live run against a real Appwrite.

mod alerts;
mod client;
mod conformance;
mod costs;
mod faults;
mod job_actions;
mod labels;
mod live;
mod observer;
mod operators;
mod outbox;
mod row_shape;
mod schedules;
mod strict;
mod support;
mod total;
