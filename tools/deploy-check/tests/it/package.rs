//! The packager: the bundle layout Appwrite's Rust build needs, and the guard-rails that stop
//! packaging with a message naming the manifest.

use std::path::Path;

use deploy_check::package::{self, PINS};
use deploy_check::{cargo, repo_root};

use crate::put;

#[test]
fn a_bundle_is_a_handler_package_holding_the_function_crate_and_shared() {
    let out = tempfile::tempdir().unwrap();
    let bundles = package::package_all(&repo_root(), out.path()).unwrap();
    let ids: Vec<&str> = bundles.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "hook-campaign-run",
            "hook-bulk-verify",
            "hook-sqs-poll",
            "hook-metrics-fetch",
            "job-actions",
            "job-retention",
            "job-observer"
        ]
    );
    let dir = out.path().join("job-actions");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"handler\"") && manifest.contains("path = \"main.rs\""));
    assert!(manifest.contains("rust-version = \"1.83\""));
    assert!(manifest.contains("job-actions = { path = \"functions/job-actions\" }"));
    for (name, version) in PINS {
        assert!(
            manifest.contains(&format!("{name} = \"{version}\"")),
            "{name} pin missing"
        );
    }
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    assert!(main.contains("pub fn main(context: openruntimes::Context) -> openruntimes::Response"));
    assert!(main.contains("job_actions::main(context)"));
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        "target/\n"
    );
    assert!(dir.join("shared/src/lib.rs").is_file());
    assert!(dir.join("functions/job-actions/src/lib.rs").is_file());
    assert!(!dir.join("local").exists() && !dir.join("testing").exists());
}

#[test]
fn bundled_manifests_have_no_workspace_no_test_sections_and_nothing_local() {
    let out = tempfile::tempdir().unwrap();
    for bundle in package::package_all(&repo_root(), out.path()).unwrap() {
        for rel in bundle.crates.iter().map(String::as_str).chain([""]) {
            let manifest = bundle.dir.join(rel).join("Cargo.toml");
            package::check_manifest_text(&manifest).unwrap();
            let text = std::fs::read_to_string(&manifest).unwrap();
            for banned in [
                "[dev-dependencies",
                "[[test]]",
                "[[bench]]",
                "rusqlite",
                "sqlite-store",
            ] {
                assert!(
                    !text.contains(banned),
                    "{} contains {banned}",
                    manifest.display()
                );
            }
        }
        assert!(!bundle.dir.join(&bundle.crates[0]).join("tests").exists());
    }
}

#[test]
fn test_sections_are_left_out_and_everything_else_kept() {
    let text = "[package]\nname = \"x\"\n\n[dependencies]\nshared = { path = \"../../shared\" }\n\n\
                [dev-dependencies]\nsqlite-store = { path = \"../../sqlite-store\" }\n\n\
                [target.'cfg(unix)'.dev-dependencies]\nlibc = \"0.2\"\n\n\
                [[test]]\nname = \"it\"\npath = \"tests/it/main.rs\"\n\n\
                [[bench]]\nname = \"b\"\nharness = false\n\n[lints.rust]\nunsafe_code = \"forbid\"\n";
    let out = package::without_test_sections(text, "functions/x");
    assert!(out.contains("shared = { path = \"../../shared\" }"));
    assert!(out.contains("[lints.rust]\nunsafe_code = \"forbid\""));
    for gone in [
        "sqlite-store",
        "libc",
        "[[test]]",
        "tests/it",
        "[[bench]]",
        "harness",
    ] {
        assert!(!out.contains(gone), "{gone} kept:\n{out}");
    }
}

/// A throw-away workspace: `functions/fx` (depending on `shared`) plus whatever `extra` adds.
fn workspace(fx_deps: &str, shared_manifest_tail: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(
        root,
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"functions/fx\", \"shared\", \"local/runtime-shim\"]\n",
    );
    let package = |name: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
    };
    put(
        root,
        "functions/fx/Cargo.toml",
        &format!(
            "{}\n[dependencies]\nshared = {{ path = \"../../shared\" }}\n{fx_deps}",
            package("fx")
        ),
    );
    put(root, "functions/fx/src/lib.rs", "");
    put(
        root,
        "shared/Cargo.toml",
        &format!("{}{shared_manifest_tail}", package("shared")),
    );
    put(root, "shared/src/lib.rs", "");
    put(
        root,
        "local/runtime-shim/Cargo.toml",
        &package("runtime-shim"),
    );
    put(root, "local/runtime-shim/src/lib.rs", "");
    dir
}

fn package_fx(root: &Path) -> Result<package::Bundle, String> {
    let root = root.canonicalize().unwrap();
    let meta = cargo::metadata(&root.join("Cargo.toml"), &["--no-deps"]).unwrap();
    package::package_one(&root, &meta, "fx", &root.join("dist/fx"))
}

#[test]
fn a_clean_crate_packages() {
    let ws = workspace("", "");
    let bundle = package_fx(ws.path()).unwrap();
    assert_eq!(bundle.crates, ["functions/fx", "shared"]);
}

#[test]
fn a_dependency_on_the_local_shim_stops_packaging() {
    let ws = workspace(
        "runtime-shim = { path = \"../../local/runtime-shim\" }\n",
        "",
    );
    let err = package_fx(ws.path()).unwrap_err();
    assert!(
        err.contains("functions/fx/Cargo.toml")
            && err.contains("`runtime-shim`")
            && err.contains("must not be deployed"),
        "{err}"
    );
}

#[test]
fn workspace_inheritance_stops_packaging() {
    let ws = workspace("", "\n[dependencies]\nserde = { workspace = true }\n");
    // Cargo itself refuses an inherited dependency the root does not declare; declare it.
    put(ws.path(), "Cargo.toml", "[workspace]\nresolver = \"2\"\nmembers = [\"functions/fx\", \"shared\", \"local/runtime-shim\"]\n[workspace.dependencies]\nserde = \"1\"\n");
    let err = package_fx(ws.path()).unwrap_err();
    assert!(
        err.contains("shared/Cargo.toml") && err.contains("inherits from the workspace"),
        "{err}"
    );
}

#[test]
fn a_workspace_table_in_a_copied_crate_stops_packaging() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "[package]\nname = \"x\"\n\n[workspace]\n").unwrap();
    let err = package::check_manifest_text(file.path()).unwrap_err();
    assert!(
        err.contains(":4:") && err.contains("[workspace] table"),
        "{err}"
    );
}

#[test]
fn a_path_dependency_outside_the_repository_stops_packaging() {
    let ws = workspace("", "");
    let outside = tempfile::tempdir().unwrap();
    put(
        outside.path(),
        "Cargo.toml",
        "[package]\nname = \"elsewhere\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    );
    put(outside.path(), "src/lib.rs", "");
    put(
        ws.path(),
        "shared/Cargo.toml",
        &format!("[package]\nname = \"shared\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nelsewhere = {{ path = \"{}\" }}\n", outside.path().display()),
    );
    let err = package_fx(ws.path()).unwrap_err();
    assert!(
        err.contains("shared/Cargo.toml") && err.contains("`elsewhere`") && err.contains("outside"),
        "{err}"
    );
}
