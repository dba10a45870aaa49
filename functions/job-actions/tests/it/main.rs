//! Handler tests for the job actions API: one binary, every route, every role, every bad input,
//! on the SQLite store through `handle_with` (fakes for Appwrite) and, for the wire format,
//! through `handle` against an in-process fake Appwrite HTTP server.

mod actions;
mod appwrite;
mod auth;
mod bad_input;
mod openapi;
mod read;
mod support;
mod wire;
