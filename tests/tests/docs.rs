//! docs/architecture.md stays true to the tree: every source path it names (a backticked `*.rs`, `*.md`, `*.sh`
//! or `*.toml`, relative to the repository, to `crates/`, to a crate, or to a crate's `src/`) exists. No root, no runtime.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The backticked spans of `text` (outside fenced code blocks) that name a source file.
fn named_paths(text: &str) -> Vec<String> {
    let mut fenced = false;
    let prose: String = text
        .lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect::<Vec<_>>()
        .join("\n");
    prose
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            !s.starts_with('/')
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-./".contains(&b))
                && [".rs", ".md", ".sh", ".toml"]
                    .iter()
                    .any(|e| s.ends_with(e))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_path_architecture_md_names_exists() {
    let repo = repo();
    let text = std::fs::read_to_string(repo.join("docs/architecture.md")).unwrap();
    let paths = named_paths(&text);
    assert!(paths.len() >= 15, "found only {paths:?}");
    let crates: Vec<PathBuf> = std::fs::read_dir(repo.join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let missing: Vec<&String> = paths
        .iter()
        .filter(|p| {
            let bases = [
                repo.clone(),
                repo.join("crates"),
                repo.join("docs"),
                repo.join("tests"),
            ];
            let in_crates = crates.iter().flat_map(|c| [c.clone(), c.join("src")]);
            !bases
                .into_iter()
                .chain(in_crates)
                .any(|b| b.join(p.as_str()).exists())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md names paths that do not exist (fix the doc or the path): {missing:?}"
    );
}

#[test]
fn the_path_filter_takes_files_only() {
    let spans = named_paths(
        "`process/sync.rs` `/proc/self/mountinfo` `exec.fifo` `<root>/x.rs` `net/` `a.md`\n```text\nx `b.rs` y\n```\n",
    );
    assert_eq!(spans, ["process/sync.rs", "a.md"]);
}
