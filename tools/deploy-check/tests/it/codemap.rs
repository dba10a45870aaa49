//! ARCHITECTURE.md's codemap is a true map: every top-level folder, every workspace crate and
//! every function has a row, and every row names a path that exists.

use std::collections::BTreeSet;
use std::path::Path;

use deploy_check::repo_root;

/// The backticked paths of the codemap table's first column.
fn codemap_paths(text: &str) -> Vec<String> {
    let start = text
        .find("## Codemap")
        .expect("ARCHITECTURE.md has a Codemap section");
    let table = &text[start..];
    let end = table[3..].find("\n## ").map_or(table.len(), |i| i + 3);
    table[..end]
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .flat_map(|l| {
            let first_cell = l.split(" |").next().unwrap_or("");
            first_cell
                .split('`')
                .step_by(2)
                .map(|p| p.trim().trim_end_matches('/').to_owned())
                .filter(|p| !p.is_empty() && !p.starts_with(','))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Does a row (possibly ending in `*`) name `path`?
fn covers(rows: &[String], path: &str) -> bool {
    rows.iter().any(|r| match r.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => r == path,
    })
}

fn workspace_members(root: &Path) -> Vec<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = &manifest[manifest.find("members = [").unwrap()..];
    let members = &members[..members.find(']').unwrap()];
    members
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_top_level_folder_crate_and_function_has_a_codemap_row_and_every_row_exists() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let rows = codemap_paths(&text);
    assert!(rows.len() > 10, "codemap rows: {rows:?}");

    let mut expected = BTreeSet::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let ignored =
            name.starts_with('.') || ["target", "dist", "node_modules"].contains(&name.as_str());
        if entry.file_type().unwrap().is_dir() && !ignored {
            expected.insert(name);
        }
    }
    expected.extend(workspace_members(&root));
    expected.insert("testing/fuzz".into());
    for entry in std::fs::read_dir(root.join("functions")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        expected.insert(format!("functions/{name}"));
    }
    let missing: Vec<&String> = expected.iter().filter(|p| !covers(&rows, p)).collect();
    assert!(
        missing.is_empty(),
        "not in ARCHITECTURE.md's codemap: {missing:?}"
    );

    let stale: Vec<&String> = rows
        .iter()
        .filter(|r| match r.strip_suffix('*') {
            Some(prefix) => {
                let (dir, stem) = prefix.rsplit_once('/').unwrap_or(("", prefix));
                !std::fs::read_dir(root.join(dir))
                    .map(|d| {
                        d.flatten()
                            .any(|e| e.file_name().to_string_lossy().starts_with(stem))
                    })
                    .unwrap_or(false)
            }
            None => !root.join(r).exists(),
        })
        .collect();
    assert!(stale.is_empty(), "codemap rows naming nothing: {stale:?}");
}

/// The bullets of ARCHITECTURE.md's Invariants section, each as one line of text.
fn invariants(text: &str) -> Vec<String> {
    let start = text
        .find("## Invariants")
        .expect("ARCHITECTURE.md has an Invariants section");
    let section = &text[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut bullets: Vec<String> = Vec::new();
    for line in section[..end].lines().skip(1) {
        if let Some(rest) = line.strip_prefix("- ") {
            bullets.push(rest.to_owned());
        } else if let (Some(last), true) = (bullets.last_mut(), line.starts_with("  ")) {
            last.push(' ');
            last.push_str(line.trim());
        }
    }
    bullets
}

/// Every `.rs` file of the repository outside build output, as (path, text).
fn rust_sources(root: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with('.') || ["target", "dist", "node_modules"].contains(&name.as_str())
            {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if name.ends_with(".rs") {
                found.push((
                    path.to_string_lossy().into_owned(),
                    std::fs::read_to_string(&path).unwrap_or_default(),
                ));
            }
        }
    }
    found
}

/// Whether a Rust item called `name` is defined in `text` (fn, type, const, module, an enum
/// variant or a public field).
fn defines(text: &str, name: &str) -> bool {
    let kinds = [
        "fn", "struct", "enum", "trait", "type", "const", "static", "mod",
    ];
    kinds.iter().any(|k| {
        text.contains(&format!("{k} {name}("))
            || text.contains(&format!("{k} {name} "))
            || text.contains(&format!("{k} {name}<"))
            || text.contains(&format!("{k} {name};"))
            || text.contains(&format!("{k} {name}:"))
    }) || text.lines().any(|l| {
        let l = l.trim();
        l == format!("{name},")
            || l.starts_with(&format!("{name} {{"))
            || l.starts_with(&format!("{name}("))
            || l.starts_with(&format!("pub {name}:"))
    })
}

/// A symbol path such as `Job::fence`, `usecase::Error::Stopped` or `shared::usecase` names
/// something real: its leading segments name a module file (`store::appwrite` is
/// `…/store/appwrite.rs`, a crate's name its `src/`) or a type, and the rest is defined there.
fn resolves(sources: &[(String, String)], symbol: &str) -> bool {
    let segments: Vec<&str> = symbol.split("::").collect();
    let within = |text: &str, inner: &[&str]| match inner {
        [] => true,
        [item] => defines(text, item),
        [owner, .., item] => {
            (text.contains(&format!("impl {owner}")) || defines(text, owner)) && defines(text, item)
        }
    };
    sources.iter().any(|(path, text)| {
        let path = path.replace('\\', "/");
        (0..segments.len()).any(|k| {
            let module = segments[..k].join("/");
            let in_crate = segments[..k].split_first().map(|(c, rest)| {
                let rest = rest.join("/");
                if rest.is_empty() {
                    format!("/{c}/src/lib.rs")
                } else {
                    format!("/{c}/src/{rest}.rs")
                }
            });
            let file = k == 0
                || path.ends_with(&format!("/{module}.rs"))
                || path.ends_with(&format!("/{module}/mod.rs"))
                || in_crate.is_some_and(|f| path.ends_with(&f));
            file && within(text, &segments[k..])
        })
    })
}

#[test]
fn every_invariant_names_the_symbol_or_file_that_enforces_it_and_each_exists() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let sources = rust_sources(&root);
    let bullets = invariants(&text);
    assert!(bullets.len() > 10, "invariants: {bullets:#?}");
    let is_symbol = |t: &str| {
        t.contains("::")
            && t.split("::")
                .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    };
    let is_path = |t: &str| t.contains('/') && !t.contains(' ') && !t.starts_with('/');
    let mut problems = Vec::new();
    for bullet in &bullets {
        let tokens: Vec<&str> = bullet.split('`').skip(1).step_by(2).collect();
        let mut named = 0;
        for token in &tokens {
            let path = token
                .split('#')
                .next()
                .unwrap_or(token)
                .trim_end_matches('/');
            if is_symbol(token) {
                if resolves(&sources, token) {
                    named += 1;
                } else {
                    problems.push(format!("`{token}` is defined nowhere"));
                }
            } else if is_path(token) {
                if root.join(path).exists() {
                    named += 1;
                } else {
                    problems.push(format!("`{path}` does not exist"));
                }
            }
        }
        if named == 0 {
            problems.push(format!("names no symbol or file: {bullet}"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_symbol_check_refuses_a_renamed_mechanism() {
    let root = repo_root();
    let sources = rust_sources(&root);
    assert!(resolves(&sources, "Job::fence"));
    assert!(resolves(&sources, "usecase::is_stale"));
    assert!(!resolves(&sources, "Job::fence_renamed_away"));
    assert!(!resolves(&sources, "usecase::no_such_rule"));
    assert!(resolves(&sources, "store::appwrite::Outbox"));
    assert!(resolves(&sources, "shared::usecase"));
    assert!(!resolves(&sources, "store::sqlite::Outbox"));
}
