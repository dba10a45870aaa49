//! The store conformance suite (in progress): plain test functions over `&dyn JobStore`.
