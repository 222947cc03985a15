//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Where `/work/shared/testbed/images.sh` wrote the test images (`GANTRY_TEST_IMAGES`).
pub fn images_dir() -> Option<PathBuf> {
    let d = PathBuf::from(std::env::var("GANTRY_TEST_IMAGES").unwrap_or_else(|_| "/tmp/gantry-imgs".into()));
    if d.join("oci/index.json").is_file() {
        Some(d)
    } else {
        eprintln!("SKIP: no test images at {} (run ../shared/testbed/images.sh {0})", d.display());
        None
    }
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The same listing as images.sh writes to expected/layers.txt:
/// `find . -mindepth 1 ! -path './bin/*' -printf '%p %y %m %U:%G links=%n size=%s -> %l'`, sorted bytewise.
pub fn listing(root: &Path, skip_bin: bool) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, root, skip_bin, &mut out);
    out.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    out
}

fn walk(root: &Path, dir: &Path, skip_bin: bool, out: &mut Vec<String>) {
    let mut ents: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    ents.sort();
    for p in ents {
        let rel = format!("./{}", p.strip_prefix(root).unwrap().display());
        let m = std::fs::symlink_metadata(&p).unwrap();
        let ft = m.file_type();
        let y = if ft.is_dir() {
            'd'
        } else if ft.is_symlink() {
            'l'
        } else if ft.is_file() {
            'f'
        } else if ft.is_char_device() {
            'c'
        } else if ft.is_block_device() {
            'b'
        } else if ft.is_fifo() {
            'p'
        } else {
            's'
        };
        if !(skip_bin && rel.starts_with("./bin/")) {
            let mut line = format!("{rel} {y} {:o} {}:{} links={} size={}", m.mode() & 0o7777, m.uid(), m.gid(), m.nlink(), m.size());
            if ft.is_symlink() {
                line.push_str(&format!(" -> {}", std::fs::read_link(&p).unwrap().display()));
            }
            out.push(line);
        }
        if ft.is_dir() {
            walk(root, &p, skip_bin, out);
        }
    }
}
