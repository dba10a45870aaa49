//! The bundle check's judgement, on data: the rust-version rule over what a release build
//! compiles, the committed copy of the official lock, and reading the server's answer. (The
//! builds themselves run in `scripts/check-bundles`.)

use deploy_check::bundle::{self, answered_by_handler, fits_msrv, msrv_violations, parse_response};
use serde_json::json;

fn pkg(id: &str, version: &str, rust_version: Option<&str>) -> serde_json::Value {
    json!({"id": id, "name": id, "version": version, "rust_version": rust_version})
}

fn edge(to: &str, kind: Option<&str>) -> serde_json::Value {
    json!({"pkg": to, "dep_kinds": [{"kind": kind}]})
}

/// rust_runtime -> handler -> shared -> url -> icu (1.86); shared -dev-> tempfile (1.90).
fn metadata(icu_rust_version: &str) -> serde_json::Value {
    json!({
        "packages": [
            pkg("rust_runtime", "1.0.0", Some("1.83")),
            pkg("handler", "0.1.0", Some("1.83")),
            pkg("shared", "0.1.0", Some("1.83")),
            pkg("url", "2.5.8", None),
            pkg("icu_collections", "2.2.0", Some(icu_rust_version)),
            pkg("tempfile", "9.0.0", Some("1.90")),
        ],
        "resolve": {
            "root": "rust_runtime",
            "nodes": [
                {"id": "rust_runtime", "deps": [edge("handler", None)]},
                {"id": "handler", "deps": [edge("shared", None)]},
                {"id": "shared", "deps": [edge("url", None), edge("tempfile", Some("dev"))]},
                {"id": "url", "deps": [edge("icu_collections", None)]},
                {"id": "icu_collections", "deps": []},
                {"id": "tempfile", "deps": []},
            ]
        }
    })
}

#[test]
fn a_compiled_crate_needing_a_newer_rustc_is_named_with_its_chain() {
    let err = msrv_violations(&metadata("1.86")).unwrap_err();
    assert!(
        err.contains("icu_collections 2.2.0 requires rustc 1.86"),
        "{err}"
    );
    assert!(
        err.contains("rust_runtime 1.0.0 -> handler 0.1.0 -> shared 0.1.0 -> url 2.5.8 -> icu_collections 2.2.0"),
        "{err}"
    );
}

#[test]
fn dev_dependencies_are_not_judged_because_a_release_build_does_not_compile_them() {
    assert_eq!(msrv_violations(&metadata("1.82")), Ok(5));
}

#[test]
fn rust_versions_compare_by_major_and_minor() {
    assert!(fits_msrv("1.83") && fits_msrv("1.83.0") && fits_msrv("1.63") && fits_msrv("1.9"));
    assert!(!fits_msrv("1.84") && !fits_msrv("1.100") && !fits_msrv("2.0"));
}

/// The committed lock is a byte-identical copy of open-runtimes' `runtimes/rust/versions/latest/
/// Cargo.lock` at commit 92fccd1 (appwrite-notes: The runtime's lock, with the command that
/// re-checks it). This test pins what that lock says, so an edit or a regeneration of the copy
/// shows up here: 190 packages, and the versions our pins and the MSRV check rest on.
#[test]
fn the_committed_lock_still_pins_what_the_official_one_pins() {
    let lock = bundle::OFFICIAL_LOCK;
    let version_of = |name: &str| {
        let entry = format!("name = \"{name}\"\nversion = \"");
        let at = lock.find(&entry).map(|i| i + entry.len())?;
        lock[at..].split('"').next()
    };
    assert_eq!(lock.matches("[[package]]").count(), 190);
    assert_eq!(version_of("rust_runtime"), Some("1.0.0"));
    assert_eq!(version_of("openruntimes-types-for-rust"), Some("1.0.2"));
    assert_eq!(version_of("tokio"), Some("1.52.1"));
    assert_eq!(version_of("hyper"), Some("1.9.0"));
    assert_eq!(version_of("indexmap"), Some("2.13.0"));
    assert_eq!(version_of("icu_collections"), Some("2.2.0"));
}

#[test]
fn only_the_functions_json_counts_as_its_answer() {
    let err = r#"{"error":{"code":"store_unavailable","message":"x","field":null}}"#;
    assert!(answered_by_handler(503, err));
    assert!(answered_by_handler(400, err));
    assert!(answered_by_handler(200, r#"{"deleted":0}"#));
    assert!(!answered_by_handler(500, "handler panicked"));
    assert!(!answered_by_handler(500, r#"{"deleted":0}"#));
}

#[test]
fn responses_are_read_whole_or_chunked() {
    let plain = "HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
    assert_eq!(parse_response(plain), Ok((400, "{}".to_owned())));
    let chunked = "HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n3\r\n{\"a\r\n3\r\n\":1\r\n1\r\n}\r\n0\r\n\r\n";
    assert_eq!(parse_response(chunked), Ok((503, "{\"a\":1}".to_owned())));
}

const REGISTRY: &str = "registry+https://github.com/rust-lang/crates.io-index";

fn lock(packages: &[(&str, &str)]) -> String {
    let mut text = String::from("version = 3\n");
    for (name, version) in packages {
        text.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"{REGISTRY}\"\n"
        ));
    }
    text
}

fn handler_requiring(deps: &[(&str, &str)]) -> serde_json::Value {
    let deps: Vec<_> = deps
        .iter()
        .map(|(name, req)| json!({"name": name, "req": req, "rename": null}))
        .collect();
    json!({"packages": [{"id": "handler", "name": "handler", "dependencies": deps}]})
}

#[test]
fn a_bundle_leaving_a_crate_outside_the_runtime_lock_to_resolution_fails_the_check() {
    let official = lock(&[("tokio", "1.48.0"), ("serde", "1.0.228")]);
    let resolved = lock(&[
        ("tokio", "1.48.0"),
        ("serde", "1.0.228"),
        ("chrono", "0.4.45"),
        ("sha2", "0.10.9"),
    ]);
    // chrono pinned exactly, sha2 only by a caret requirement: sha2 is resolved at build time.
    let meta = handler_requiring(&[("chrono", "=0.4.45"), ("sha2", "^0.10")]);
    assert_eq!(
        bundle::unpinned(&official, &resolved, &meta),
        ["sha2 0.10.9"]
    );
    let meta = handler_requiring(&[("chrono", "=0.4.45"), ("sha2", "=0.10.9")]);
    assert!(bundle::unpinned(&official, &resolved, &meta).is_empty());
}

#[test]
fn every_generated_bundle_pins_each_crate_outside_the_runtime_lock_exactly() {
    let manifest = deploy_check::package::handler_manifest("job-actions");
    let pins = deploy_check::package::resolved_pins();
    assert!(pins.iter().any(|(name, _)| *name == "chrono"), "{pins:?}");
    for (name, version) in pins {
        let pinned = manifest.contains(&format!("package = \"{name}\", version = \"={version}\""))
            || manifest.contains(&format!("{name} = \"={version}\""));
        assert!(pinned, "{name} {version} is not pinned in:\n{manifest}");
    }
    let official = bundle::lock_packages(bundle::OFFICIAL_LOCK);
    for (name, version) in deploy_check::package::resolved_pins() {
        assert!(
            !official.contains(&(name.to_owned(), version.to_owned())),
            "{name} {version} is in the runtime's lock already"
        );
    }
}
