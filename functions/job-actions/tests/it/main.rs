//! Handler tests (placeholder).
