//! `deploy-check <command>`: the command line behind `scripts/package`, `scripts/check-bundles`
//! and `scripts/deploy`.
//!
//! - `package [--out DIR]`: generate `dist/<id>/` for every function of appwrite.json;
//! - `validate`: the offline appwrite.json validator (after packaging into `dist/`);
//! - `check-bundles [ID…]`: package, validate, then build each bundle (or the named ones) in
//!   the replica of Appwrite's rust-1.83 build workspace and send it a request;
//! - `pins`: resolve every bundle afresh on the official lock and write the crates outside it
//!   to `replica/pins.txt` (`package::RESOLVED_PINS`);
//! - `deploy [--dry-run] [--ci]`: package and push with Appwrite CLI 12 (see `deploy.rs`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use deploy_check::bundle::Replica;
use deploy_check::config::AppwriteConfig;
use deploy_check::{deploy, function_crates, package, repo_root, validate};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root();
    let result = match args.first().map(String::as_str) {
        Some("package") => cmd_package(&root, &args[1..]),
        Some("validate") => cmd_validate(&root),
        Some("check-bundles") => cmd_check_bundles(&root, &args[1..]),
        Some("deploy") => cmd_deploy(&root, &args[1..]),
        Some("pins") => cmd_pins(&root),
        _ => Err("usage: deploy-check package [--out DIR] | validate | check-bundles [ID…] | pins | deploy [--dry-run] [--ci]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn cmd_package(root: &Path, args: &[String]) -> Result<(), String> {
    let out = match args {
        [] => root.join("dist"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => return Err("usage: deploy-check package [--out DIR]".into()),
    };
    for bundle in package::package_all(root, &out)? {
        println!(
            "packaged {} ({})",
            bundle.dir.display(),
            bundle.crates.join(", ")
        );
    }
    Ok(())
}

fn cmd_validate(root: &Path) -> Result<(), String> {
    package::package_all(root, &root.join("dist"))?;
    validate_repo(root)
}

fn validate_repo(root: &Path) -> Result<(), String> {
    let config = AppwriteConfig::load(&root.join("appwrite.json")).map_err(|e| e.to_string())?;
    let mut problems = validate::validate(&config, root, &function_crates(root)?);
    let variables = deploy_check::config::load_variables(&root.join("deploy.json"))
        .map_err(|e| e.to_string())?;
    problems.extend(validate::roles(&config, &variables));
    if problems.is_empty() {
        println!("appwrite.json: valid");
        Ok(())
    } else {
        Err(format!("appwrite.json:\n  {}", problems.join("\n  ")))
    }
}

fn cmd_check_bundles(root: &Path, only: &[String]) -> Result<(), String> {
    let bundles = package::package_all(root, &root.join("dist"))?;
    validate_repo(root)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let replica = Replica::new(&target.join("bundle-check"))?;
    let started = Instant::now();
    let mut failures = Vec::new();
    for bundle in bundles
        .iter()
        .filter(|b| only.is_empty() || only.contains(&b.id))
    {
        eprintln!("bundle-check: {} …", bundle.id);
        match replica.check(bundle) {
            Ok(r) => println!(
                "bundle-check: {} ok: {} packages at rust-version <= 1.83, release build {:.1} s, \
                 clippy {:.1} s, answered {} {}",
                r.id,
                r.packages,
                r.build.as_secs_f64(),
                r.clippy.as_secs_f64(),
                r.status,
                r.body
            ),
            Err(e) => {
                eprintln!("bundle-check: FAILED {e}");
                failures.push(bundle.id.clone());
            }
        }
    }
    println!(
        "bundle-check: total {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("bundle check failed for {}", failures.join(", ")))
    }
}

fn cmd_pins(root: &Path) -> Result<(), String> {
    let bundles = package::package_all(root, &root.join("dist"))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let replica = Replica::new(&target.join("bundle-check"))?;
    let mut all = std::collections::BTreeSet::new();
    for bundle in &bundles {
        all.extend(replica.outside_lock(bundle)?);
    }
    let text: String = all.iter().map(|(n, v)| format!("{n} {v}\n")).collect();
    let path = root.join("tools/deploy-check/replica/pins.txt");
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!(
        "{}: {} crates outside the runtime's lock",
        path.display(),
        all.len()
    );
    Ok(())
}

fn cmd_deploy(root: &Path, args: &[String]) -> Result<(), String> {
    let mut dry_run = false;
    let mut ci = false;
    for arg in args {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--ci" => ci = true,
            _ => return Err("usage: deploy-check deploy [--dry-run] [--ci]".into()),
        }
    }
    let mut settings = deploy_check::remote::Settings::from_lookup(|name| std::env::var(name).ok())
        .map_err(|e| e.to_string())?;
    settings.ci = ci;
    deploy::run(root, &settings, dry_run)
}
