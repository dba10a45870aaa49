//! Placeholder until this function lands.
