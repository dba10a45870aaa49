//! The CAMPAIGN_RUN hook driven through its real handler on the in-memory store: every event, every
//! bad input, a simulated orchestrator across a user pause and resume, and write coalescing.

mod bad_input;
mod checkpoints;
mod coalescing;
mod events;
mod exactly_once;
mod orchestrator;
mod schemas;
mod support;
