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
            // A re-export names it here too (`pub use outbox::{Outbox, …};`).
            || (l.starts_with("pub use ")
                && l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|word| word == name))
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

#[test]
fn every_api_boundary_names_a_contract_and_a_check_that_exist() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let start = text
        .find("## API boundaries")
        .expect("ARCHITECTURE.md has an API boundaries section");
    let section = &text[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let rows: Vec<&str> = section[..end]
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Boundary") && !l.starts_with("|--"))
        .collect();
    assert!(rows.len() >= 4, "boundaries: {rows:#?}");
    for row in rows {
        let cells: Vec<&str> = row.split(" | ").collect();
        let (contract, check) = (cells[cells.len() - 2], cells[cells.len() - 1]);
        for (what, cell) in [("contract", contract), ("check", check)] {
            let paths: Vec<&str> = cell.split('`').skip(1).step_by(2).collect();
            assert!(!paths.is_empty(), "a boundary names no {what}: {row}");
            for path in paths {
                assert!(
                    root.join(path.trim_end_matches('/')).exists(),
                    "{what} `{path}` of a boundary does not exist: {row}"
                );
            }
        }
    }
}

/// Files of test-support modules: declared under a `#[cfg(…)]` naming `test` or the
/// `conformance` feature (the store suite, the in-memory store). They are not production code.
fn test_support(sources: &[(String, String)]) -> BTreeSet<String> {
    let mut support = BTreeSet::new();
    for (path, text) in sources {
        let dir = Path::new(path).parent().unwrap_or(Path::new(""));
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for pair in lines.windows(2) {
            let gated = pair[0].starts_with("#[cfg(")
                && (pair[0].contains("test") || pair[0].contains("\"conformance\""));
            let module = pair[1]
                .strip_prefix("pub mod ")
                .or_else(|| pair[1].strip_prefix("mod "))
                .and_then(|m| m.strip_suffix(';'));
            if let (true, Some(module)) = (gated, module) {
                support.insert(
                    dir.join(format!("{module}.rs"))
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    support
}

/// The `crate::module` references of each top-level module of a crate's `src/`, as edges
/// (production code only: not tests, not test-support modules).
fn module_edges(src: &Path) -> Vec<(String, String)> {
    let mut edges = Vec::new();
    let sources = rust_sources(src);
    let support = test_support(&sources);
    for (path, text) in sources {
        if support.contains(&path) {
            continue;
        }
        let relative = path
            .trim_start_matches(&*src.to_string_lossy())
            .trim_start_matches('/');
        let Some(from) = relative
            .split('/')
            .next()
            .map(|f| f.trim_end_matches(".rs").to_owned())
        else {
            continue;
        };
        if ["main", "lib", "bin"].contains(&from.as_str()) {
            continue;
        }
        // Tests inside a module may reach anywhere; only the module's own code counts.
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or("")
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for part in code.split("crate::").skip(1) {
            // `crate::{a, b::c}` names several modules: the first word of each item at the
            // braces' top level.
            let items: Vec<String> = match part.strip_prefix('{') {
                Some(inner) => {
                    let (mut depth, mut item, mut items) = (0, String::new(), Vec::new());
                    for c in inner.chars() {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => break,
                            '}' => depth -= 1,
                            ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                            _ if depth == 0 => item.push(c),
                            _ => {}
                        }
                    }
                    items.push(item);
                    items
                }
                None => vec![part.to_owned()],
            };
            for item in items {
                let to: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !to.is_empty() && to != from && to != "self" {
                    edges.push((from.clone(), to));
                }
            }
        }
    }
    edges.sort();
    edges.dedup();
    edges
}

/// A cycle among `edges`, if any, as the modules on it.
fn cycle(edges: &[(String, String)]) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &[(String, String)],
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            return Some(path[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for (_, to) in edges.iter().filter(|(from, _)| from == node) {
            if let Some(found) = visit(to, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .iter()
        .find_map(|(from, _)| visit(from, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_has_an_import_circle_between_its_modules() {
    let root = repo_root();
    let mut circles = Vec::new();
    let mut crates = workspace_members(&root);
    crates.retain(|c| root.join(c).join("src").is_dir());
    assert!(crates.len() > 10, "crates: {crates:?}");
    for krate in crates {
        if let Some(found) = cycle(&module_edges(&root.join(&krate).join("src"))) {
            circles.push(format!("{krate}: {}", found.join(" → ")));
        }
    }
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}

#[test]
fn the_circle_check_finds_a_circle() {
    let edges = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    assert_eq!(
        cycle(&edges(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
    );
    assert_eq!(cycle(&edges(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rs"), "use crate::{b::X, c};\n").unwrap();
    std::fs::write(dir.path().join("b.rs"), "use crate::a::Y;\n").unwrap();
    let found = module_edges(dir.path());
    assert!(found.contains(&("a".into(), "b".into())), "{found:?}");
    assert!(found.contains(&("a".into(), "c".into())), "{found:?}");
    assert!(cycle(&found).is_some());
}

#[test]
fn no_deployed_crate_depends_on_local_or_test_code_even_for_its_tests() {
    let root = repo_root();
    let root = root.canonicalize().unwrap();
    let mut manifests = vec![root.join("shared/Cargo.toml")];
    for entry in std::fs::read_dir(root.join("functions")).unwrap().flatten() {
        let manifest = entry.path().join("Cargo.toml");
        if manifest.is_file() {
            manifests.push(manifest);
        }
    }
    assert!(manifests.len() > 5, "{manifests:?}");
    let mut arrows = Vec::new();
    for manifest in manifests {
        let dir = manifest.parent().unwrap();
        let text = std::fs::read_to_string(&manifest).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let Some(rest) = line.split("path = \"").nth(1) else {
                continue;
            };
            let path = rest.split('"').next().unwrap_or("");
            let target = dir.join(path).canonicalize().unwrap_or(dir.join(path));
            if target.starts_with(root.join("local")) || target.starts_with(root.join("testing")) {
                arrows.push(format!("{}: {}", manifest.display(), line.trim()));
            }
        }
    }
    assert!(
        arrows.is_empty(),
        "deployed crates pointing at local or test code: {arrows:#?}"
    );
}
