//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Where `../shared/testbed/images.sh` wrote the test images (`GANTRY_TEST_IMAGES`, default `/tmp/gantry-imgs`).
/// Missing images fail the test: `scripts/test.sh` builds them; by hand, run the script named in the message.
#[track_caller]
pub fn images_dir() -> PathBuf {
    let d = PathBuf::from(
        std::env::var("GANTRY_TEST_IMAGES").unwrap_or_else(|_| "/tmp/gantry-imgs".into()),
    );
    assert!(
        d.join("oci/index.json").is_file(),
        "no test images at {0} (no oci/index.json): build them with \
         `../shared/testbed/images.sh {0} --debian` (scripts/test.sh does), or point GANTRY_TEST_IMAGES at them",
        d.display()
    );
    d
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Fails the test unless it runs as root; `why` says what needs it.
#[track_caller]
pub fn require_root(why: &str) {
    assert!(
        is_root(),
        "this test needs root ({why}): run it as root, as scripts/test.sh and CI do"
    );
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
    let mut ents: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
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
            let mut line = format!(
                "{rel} {y} {:o} {}:{} links={} size={}",
                m.mode() & 0o7777,
                m.uid(),
                m.gid(),
                m.nlink(),
                m.size()
            );
            if ft.is_symlink() {
                line.push_str(&format!(
                    " -> {}",
                    std::fs::read_link(&p).unwrap().display()
                ));
            }
            out.push(line);
        }
        if ft.is_dir() {
            walk(root, &p, skip_bin, out);
        }
    }
}

use std::io::Write;

use gantry_image::Digest;

/// A raw tar entry: the name bytes go into the header as-is (no validation), so tests can
/// write hostile names.
pub struct Ent<'a> {
    pub name: &'a [u8],
    pub kind: tar::EntryType,
    pub data: &'a [u8],
    pub link: Option<&'a [u8]>,
    pub mode: u32,
    pub dev: (u32, u32),
}

pub fn file<'a>(name: &'a [u8], data: &'a [u8]) -> Ent<'a> {
    Ent {
        name,
        kind: tar::EntryType::Regular,
        data,
        link: None,
        mode: 0o644,
        dev: (0, 0),
    }
}
pub fn dir(name: &[u8]) -> Ent<'_> {
    Ent {
        name,
        kind: tar::EntryType::Directory,
        data: b"",
        link: None,
        mode: 0o755,
        dev: (0, 0),
    }
}
pub fn symlink<'a>(name: &'a [u8], target: &'a [u8]) -> Ent<'a> {
    Ent {
        name,
        kind: tar::EntryType::Symlink,
        data: b"",
        link: Some(target),
        mode: 0o777,
        dev: (0, 0),
    }
}
pub fn hardlink<'a>(name: &'a [u8], target: &'a [u8]) -> Ent<'a> {
    Ent {
        name,
        kind: tar::EntryType::Link,
        data: b"",
        link: Some(target),
        mode: 0o644,
        dev: (0, 0),
    }
}

/// Builds an uncompressed tar from entries.
pub fn tar_bytes(entries: &[Ent<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        {
            let raw = h.as_old_mut();
            raw.name = [0; 100];
            raw.name[..e.name.len()].copy_from_slice(e.name);
            if let Some(l) = e.link {
                raw.linkname = [0; 100];
                raw.linkname[..l.len()].copy_from_slice(l);
            }
        }
        h.set_entry_type(e.kind);
        h.set_size(e.data.len() as u64);
        h.set_mode(e.mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_704_067_200);
        if e.dev != (0, 0) {
            h.set_device_major(e.dev.0).unwrap();
            h.set_device_minor(e.dev.1).unwrap();
        }
        h.set_cksum();
        b.append(&h, e.data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn sha(data: &[u8]) -> Digest {
    Digest::sha256_of(data)
}

/// Writes an OCI layout with one image `name` made of `layers` (uncompressed tars, stored
/// gzipped). Returns the manifest digest.
pub fn write_layout(dir: &Path, name: &str, layers: &[Vec<u8>]) -> Digest {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| -> Digest {
        let d = sha(data);
        std::fs::write(blobs.join(d.hex()), data).unwrap();
        d
    };
    let mut descs = Vec::new();
    let mut diffs = Vec::new();
    for l in layers {
        let gz = gzip(l);
        let d = put(&gz);
        diffs.push(format!("\"{}\"", sha(l)));
        descs.push(format!("{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{d}\",\"size\":{}}}", gz.len()));
    }
    let config = format!(
        "{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Cmd\":[\"/bin/sh\"],\"Env\":[\"PATH=/bin\"]}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[{}]}}}}",
        diffs.join(",")
    );
    let cd = put(config.as_bytes());
    let manifest = format!(
        "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{cd}\",\"size\":{}}},\"layers\":[{}]}}",
        config.len(),
        descs.join(",")
    );
    let md = put(manifest.as_bytes());
    write_index(dir, &format!("{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"{md}\",\"size\":{},\"annotations\":{{\"org.opencontainers.image.ref.name\":\"{name}\"}}}}", manifest.len()));
    md
}

/// Writes `oci-layout` and an `index.json` holding the given descriptor JSON.
pub fn write_index(dir: &Path, desc_json: &str) {
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        format!("{{\"schemaVersion\":2,\"manifests\":[{desc_json}]}}"),
    )
    .unwrap();
}
