//! deploy-check's integration tests: the committed appwrite.json and the bundles it points at,
//! the packager's guard-rails, the rust-version check and the deploy driver's dry run.

mod bundle;
mod codemap;
mod deploy;
mod package;
mod schema;
mod validate;

use std::path::Path;

/// Writes `text` at `root/rel`, creating folders.
pub fn put(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}
