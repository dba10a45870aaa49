//! Placeholder until local hosting lands.
