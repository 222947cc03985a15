//! gantry-sys is the only crate with `unsafe` code (README, docs/architecture.md): every other crate root of the
//! workspace forbids it, and no Rust file outside this crate opens an `unsafe` block, fn, impl or extern block
//! (integration tests, examples and fuzz targets are crate roots of their own, so they are scanned as text).

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if p.is_dir() {
            rust_files(&p, out);
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_other_crate_root_forbids_unsafe_code() {
    let ws = workspace();
    let mut roots: Vec<PathBuf> = std::fs::read_dir(ws.join("crates"))
        .expect("the workspace's crates/")
        .flatten()
        .filter(|e| e.file_name() != "gantry-sys")
        .flat_map(|e| [e.path().join("src/lib.rs"), e.path().join("src/main.rs")])
        .collect();
    roots.extend([ws.join("tests/src/lib.rs"), ws.join("tests/cri/src/lib.rs")]);
    let roots: Vec<PathBuf> = roots.into_iter().filter(|p| p.exists()).collect();
    assert!(roots.len() >= 14, "found only {roots:?}");
    for root in roots {
        let text = std::fs::read_to_string(&root).unwrap();
        assert!(
            text.contains("#![forbid(unsafe_code)]"),
            "{} lacks #![forbid(unsafe_code)]: only gantry-sys may have unsafe code (move the syscall there)",
            root.display()
        );
    }
}

#[test]
fn no_unsafe_code_outside_gantry_sys() {
    let ws = workspace();
    let mut files = Vec::new();
    for dir in ["crates", "tests", "fuzz"] {
        rust_files(&ws.join(dir), &mut files);
    }
    let sys = ws.join("crates/gantry-sys");
    let mut found = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with(&sys)) {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let opens = [
                "unsafe {",
                "unsafe{",
                "unsafe fn",
                "unsafe impl",
                "unsafe extern",
            ];
            if opens.iter().any(|o| code.contains(o)) {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(files.len() > 100, "scanned only {} files", files.len());
    assert!(
        found.is_empty(),
        "unsafe code outside gantry-sys (move it into a gantry-sys wrapper with a // SAFETY: line):\n{}",
        found.join("\n")
    );
}
