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
