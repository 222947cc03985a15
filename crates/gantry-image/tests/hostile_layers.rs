//! Hostile layers and documents generated here: each is refused or neutralised with a clear
//! error, nothing lands outside the store (a sentinel directory next to it stays untouched),
//! and the store stays consistent (gc + a re-import succeed).

mod common;

use std::path::{Path, PathBuf};

use common::{dir, file, hardlink, symlink, tar_bytes, Ent};
use gantry_image::layout::ImportOptions;
use gantry_image::unpack::{unpack_layer, LayerInfo, UnpackLimits, UnpackOptions, WhiteoutMode};
use gantry_image::{BlobSink, Digest, ImageError, Store, StoreOptions};

struct Env {
    _tmp: tempfile::TempDir,
    base: PathBuf,
    store: Store,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().to_path_buf();
        std::fs::create_dir(base.join("sentinel")).unwrap();
        std::fs::write(base.join("sentinel/keep"), b"keep").unwrap();
        let store = Store::open_with(
            base.join("store"),
            StoreOptions {
                gc_grace: std::time::Duration::ZERO,
            },
        )
        .unwrap();
        Env {
            _tmp: tmp,
            base,
            store,
        }
    }

    /// Unpacks raw tar bytes (optionally gzipped) into a fresh dir inside the store.
    fn unpack(
        &self,
        tar: &[u8],
        opts: &UnpackOptions,
    ) -> (
        PathBuf,
        Result<gantry_image::unpack::UnpackStats, ImageError>,
    ) {
        let dest = self
            .base
            .join("store/snapshots/tmp")
            .join(format!("t{}", rand_suffix()));
        std::fs::create_dir_all(&dest).unwrap();
        let info = LayerInfo {
            digest: Digest::sha256_of(tar),
            media_type: "application/vnd.oci.image.layer.v1.tar".into(),
            diff_id: None,
        };
        let r = unpack_layer(tar, &info, &dest, opts);
        (dest, r)
    }

    /// Asserts nothing was written next to the store.
    fn assert_outside_untouched(&self) {
        let names: Vec<_> = std::fs::read_dir(&self.base)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(
            names,
            ["sentinel", "store"],
            "something was created next to the store"
        );
        let s: Vec<_> = std::fs::read_dir(self.base.join("sentinel"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(s, ["keep"], "sentinel dir changed");
        assert_eq!(
            std::fs::read(self.base.join("sentinel/keep")).unwrap(),
            b"keep"
        );
    }

    /// gc works and a fresh valid image imports and flattens afterwards.
    fn assert_consistent(&self) {
        self.store.gc().unwrap();
        let layout = self.base.join("store/snapshots/tmp/layout-ok");
        let tar = tar_bytes(&[dir(b"etc/"), file(b"etc/ok", b"ok")]);
        common::write_layout(&layout, "ok", &[tar]);
        self.store
            .import_oci_layout(&layout, &ImportOptions::default())
            .unwrap();
        let flat = self.base.join("store/snapshots/tmp/flat-ok");
        std::fs::create_dir_all(&flat).unwrap();
        self.store.flatten("ok", &flat, &flat_opts()).unwrap();
        assert_eq!(std::fs::read(flat.join("etc/ok")).unwrap(), b"ok");
        std::fs::remove_dir_all(&layout).unwrap();
        std::fs::remove_dir_all(&flat).unwrap();
        self.store.remove_image("ok").unwrap();
        self.store.gc().unwrap();
        self.assert_outside_untouched();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn flat_opts() -> UnpackOptions {
    UnpackOptions {
        whiteouts: WhiteoutMode::Flat,
        ..Default::default()
    }
}

/// Flat always; overlay too when root (overlay whiteouts need CAP_SYS_ADMIN / mknod).
fn all_modes() -> Vec<UnpackOptions> {
    let mut v = vec![flat_opts()];
    if common::is_root() {
        v.push(UnpackOptions {
            whiteouts: WhiteoutMode::Overlay,
            ..Default::default()
        });
    }
    v
}

fn err_text(r: Result<gantry_image::unpack::UnpackStats, ImageError>) -> String {
    match r {
        Ok(s) => panic!("hostile layer accepted: {s:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn dotdot_and_absolute_names_are_neutralised() {
    let env = Env::new();
    let up = b"../../../sentinel/pwned".to_vec();
    let tar = tar_bytes(&[
        file(&up, b"x"),
        file(b"/abs/pwned", b"y"),
        file(b"a/../../b", b"z"),
    ]);
    let (dest, r) = env.unpack(&tar, &flat_opts());
    let stats = r.unwrap();
    assert_eq!(std::fs::read(dest.join("sentinel/pwned")).unwrap(), b"x");
    assert_eq!(std::fs::read(dest.join("abs/pwned")).unwrap(), b"y");
    assert_eq!(std::fs::read(dest.join("b")).unwrap(), b"z");
    assert!(
        stats.warnings.iter().any(|w| w.contains("neutralised")),
        "{:?}",
        stats.warnings
    );
    env.assert_outside_untouched();
    env.assert_consistent();
}

#[test]
fn file_through_a_symlink_is_refused() {
    let env = Env::new();
    let tar = tar_bytes(&[
        symlink(b"link", b"../../../sentinel"),
        file(b"link/pwned", b"x"),
    ]);
    for o in all_modes() {
        let e = err_text(env.unpack(&tar, &o).1);
        assert!(!e.is_empty());
    }
    let e = err_text(env.unpack(&tar, &flat_opts()).1);
    assert!(e.contains("link/pwned") && e.contains("symlink"), "{e}");
    // Absolute symlink target too.
    let tar = tar_bytes(&[symlink(b"etc", b"/etc"), file(b"etc/gantry-pwned", b"x")]);
    for o in all_modes() {
        let e = err_text(env.unpack(&tar, &o).1);
        assert!(!e.is_empty());
    }
    let e = err_text(env.unpack(&tar, &flat_opts()).1);
    assert!(e.contains("symlink"), "{e}");
    assert!(!Path::new("/etc/gantry-pwned").exists());
    env.assert_outside_untouched();
    env.assert_consistent();
}

#[test]
fn dir_through_a_symlink_to_root_is_refused() {
    let env = Env::new();
    let tar = tar_bytes(&[symlink(b"root", b"/"), dir(b"root/tmp/gantry-pwned-dir/")]);
    for o in all_modes() {
        let e = err_text(env.unpack(&tar, &o).1);
        assert!(e.contains("symlink") && e.contains("root/tmp"), "{e}");
    }
    assert!(!Path::new("/tmp/gantry-pwned-dir").exists());
    // Replacing the symlink itself by a directory entry is fine (the link is removed, not followed).
    let tar = tar_bytes(&[symlink(b"root", b"/"), dir(b"root/"), file(b"root/x", b"x")]);
    let (dest, r) = env.unpack(&tar, &flat_opts());
    r.unwrap();
    assert!(dest.join("root").symlink_metadata().unwrap().is_dir());
    env.assert_outside_untouched();
    env.assert_consistent();
}

#[test]
fn hard_links_outside_or_forward_are_refused() {
    let env = Env::new();
    let outside = env.base.join("sentinel/keep");
    let tar = tar_bytes(&[hardlink(b"hl", outside.to_str().unwrap().as_bytes())]);
    for o in all_modes() {
        let e = err_text(env.unpack(&tar, &o).1);
        assert!(!e.is_empty());
    }
    let e = err_text(env.unpack(&tar, &flat_opts()).1);
    assert!(
        e.contains("hl") && e.contains("not an earlier regular file"),
        "{e}"
    );
    let tar = tar_bytes(&[hardlink(b"hl", b"../../sentinel/keep")]);
    for o in all_modes() {
        err_text(env.unpack(&tar, &o).1);
    }
    // Link to an entry that comes later in the archive.
    let tar = tar_bytes(&[hardlink(b"hl", b"later"), file(b"later", b"x")]);
    for o in all_modes() {
        err_text(env.unpack(&tar, &o).1);
    }
    // Link to a directory or symlink of the same layer.
    let tar = tar_bytes(&[dir(b"d/"), hardlink(b"hl", b"d")]);
    for o in all_modes() {
        err_text(env.unpack(&tar, &o).1);
    }
    // A legitimate one works.
    let tar = tar_bytes(&[file(b"f", b"data"), hardlink(b"g", b"f")]);
    let (dest, r) = env.unpack(&tar, &flat_opts());
    r.unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::nlink(&std::fs::metadata(dest.join("g")).unwrap()),
        2
    );
    assert_eq!(
        std::fs::metadata(&outside)
            .map(|m| std::os::unix::fs::MetadataExt::nlink(&m))
            .unwrap(),
        1
    );
    env.assert_outside_untouched();
    env.assert_consistent();
}

#[test]
fn hostile_whiteouts_are_refused_or_confined() {
    let env = Env::new();
    let tar = tar_bytes(&[file(b"a/.wh...", b"")]);
    for o in all_modes() {
        let e = err_text(env.unpack(&tar, &o).1);
        assert!(e.contains(".wh..."), "{e}");
    }
    let tar = tar_bytes(&[file(b".wh..", b"")]);
    for o in all_modes() {
        err_text(env.unpack(&tar, &o).1);
    }
    // A whiteout with an absolute / escaping path only acts inside the destination.
    let abs = format!("{}/.wh.keep", env.base.join("sentinel").display());
    let tar = tar_bytes(&[
        file(abs.as_bytes(), b""),
        file(b"../../sentinel/.wh.keep", b""),
        file(b"/.wh.sentinel", b""),
    ]);
    let (_dest, r) = env.unpack(&tar, &flat_opts());
    r.unwrap();
    // A whiteout "through" a symlink is refused (the symlink is not followed).
    let tar = tar_bytes(&[
        symlink(b"s", b"../../.."),
        file(b"s/sentinel/.wh.keep", b""),
    ]);
    let (_dest, r) = env.unpack(&tar, &flat_opts());
    assert!(err_text(r).contains("symlink"));
    env.assert_outside_untouched();
    env.assert_consistent();
}

#[test]
fn device_nodes_only_as_root() {
    let env = Env::new();
    let tar = tar_bytes(&[
        Ent {
            name: b"dev/null",
            kind: tar::EntryType::Char,
            data: b"",
            link: None,
            mode: 0o666,
            dev: (1, 3),
        },
        Ent {
            name: b"dev/fifo",
            kind: tar::EntryType::Fifo,
            data: b"",
            link: None,
            mode: 0o600,
            dev: (0, 0),
        },
    ]);
    let (dest, r) = env.unpack(
        &tar,
        &UnpackOptions {
            whiteouts: WhiteoutMode::Flat,
            ..Default::default()
        },
    );
    let stats = r.unwrap();
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(dest.join("dev/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    if common::is_root() {
        let m = std::fs::symlink_metadata(dest.join("dev/null")).unwrap();
        assert!(m.file_type().is_char_device());
        assert_eq!(
            std::os::unix::fs::MetadataExt::rdev(&m),
            rustix::fs::makedev(1, 3)
        );
    } else {
        assert!(!dest.join("dev/null").exists());
        assert!(
            stats
                .warnings
                .iter()
                .any(|w| w.contains("device node skipped")),
            "{:?}",
            stats.warnings
        );
    }
    // Forced off even as root: skipped with a warning.
    let (dest, r) = env.unpack(
        &tar,
        &UnpackOptions {
            whiteouts: WhiteoutMode::Flat,
            create_devices: false,
            ..Default::default()
        },
    );
    assert!(r.unwrap().warnings.iter().any(|w| w.contains("dev/null")));
    assert!(!dest.join("dev/null").exists());
    env.assert_outside_untouched();
}

#[test]
fn gzip_bomb_hits_the_limit_with_a_clear_error() {
    let env = Env::new();
    let zeros = vec![0u8; 64 << 20];
    let tar = tar_bytes(&[file(b"bomb", &zeros)]);
    let gz = common::gzip(&tar);
    assert!(
        gz.len() < 1 << 20,
        "bomb should compress well: {}",
        gz.len()
    );
    let dest = env.base.join("store/snapshots/tmp/bomb");
    std::fs::create_dir_all(&dest).unwrap();
    let layer = Digest::sha256_of(&gz);
    let info = LayerInfo {
        digest: layer.clone(),
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
        diff_id: None,
    };
    let limits = UnpackLimits {
        max_total_bytes: 8 << 20,
        ..Default::default()
    };
    let e = unpack_layer(
        gz.as_slice(),
        &info,
        &dest,
        &UnpackOptions {
            limits,
            whiteouts: WhiteoutMode::Flat,
            ..Default::default()
        },
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ImageError::LimitExceeded { .. }), "{msg}");
    assert!(
        msg.contains(&layer.to_string())
            && msg.contains("bomb")
            && msg.contains("total unpacked size"),
        "{msg}"
    );
    assert!(
        !dest.join("bomb").exists() || std::fs::metadata(dest.join("bomb")).unwrap().len() == 0
    );
    // Per-entry and count limits.
    let limits = UnpackLimits {
        max_entry_bytes: 1 << 20,
        ..Default::default()
    };
    let e = unpack_layer(
        gz.as_slice(),
        &info,
        &dest,
        &UnpackOptions {
            limits,
            whiteouts: WhiteoutMode::Flat,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("single entry size"), "{e}");
    let many: Vec<Vec<u8>> = (0..50).map(|i| format!("f{i}").into_bytes()).collect();
    let ents: Vec<Ent<'_>> = many.iter().map(|n| file(n, b"")).collect();
    let tar = tar_bytes(&ents);
    let limits = UnpackLimits {
        max_entries: 10,
        ..Default::default()
    };
    let (_d, r) = env.unpack(
        &tar,
        &UnpackOptions {
            limits,
            whiteouts: WhiteoutMode::Flat,
            ..Default::default()
        },
    );
    assert!(err_text(r).contains("entry count"));
    env.assert_outside_untouched();
    env.assert_consistent();
}

#[test]
fn manifest_with_wrong_digest_is_refused() {
    let env = Env::new();
    let layout = env.base.join("store/snapshots/tmp/layout-bad");
    let md = common::write_layout(&layout, "bad", &[tar_bytes(&[file(b"x", b"x")])]);
    // Tamper with the manifest blob: its content no longer hashes to its name.
    let p = layout.join("blobs/sha256").join(md.hex());
    let mut m = std::fs::read(&p).unwrap();
    m.extend_from_slice(b" ");
    std::fs::write(&p, &m).unwrap();
    let e = env
        .store
        .import_oci_layout(&layout, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&md.to_string()), "{e}");
    assert!(!env.store.has_blob(&md).unwrap());
    // put_blob with a wrong expected digest.
    let wrong = Digest::sha256_of(b"other");
    assert!(matches!(
        env.store.put_blob(b"content", Some(&wrong)),
        Err(ImageError::DigestMismatch { .. })
    ));
    std::fs::remove_dir_all(&layout).unwrap();
    env.assert_consistent();
}

#[test]
fn truncated_blobs_and_layers_are_refused() {
    let env = Env::new();
    let data = b"0123456789";
    let d = Digest::sha256_of(data);
    let e = env.store.write_blob(&d, 20, &data[..]).unwrap_err();
    assert!(
        matches!(
            e,
            ImageError::SizeMismatch {
                expected: 20,
                actual: 10,
                ..
            }
        ),
        "{e}"
    );
    assert!(!env.store.has_blob(&d).unwrap());
    // A truncated gzip layer fails while streaming.
    let tar = tar_bytes(&[file(b"f", &vec![7u8; 100_000])]);
    let gz = common::gzip(&tar);
    let cut = &gz[..gz.len() / 2];
    let dest = env.base.join("store/snapshots/tmp/trunc");
    std::fs::create_dir_all(&dest).unwrap();
    let info = LayerInfo {
        digest: Digest::sha256_of(&gz),
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
        diff_id: None,
    };
    assert!(unpack_layer(cut, &info, &dest, &flat_opts()).is_err());
    // Full stream but the wrong expected diffID.
    let info = LayerInfo {
        diff_id: Some(Digest::sha256_of(b"not it")),
        ..info
    };
    let e = unpack_layer(gz.as_slice(), &info, &dest, &flat_opts())
        .unwrap_err()
        .to_string();
    assert!(e.contains("diffID"), "{e}");
    env.assert_consistent();
}

#[test]
fn traversal_digest_in_a_descriptor_is_refused() {
    let env = Env::new();
    let layout = env.base.join("store/snapshots/tmp/layout-trav");
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    common::write_index(
        &layout,
        r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../etc","size":10,"annotations":{"org.opencontainers.image.ref.name":"trav"}}"#,
    );
    let e = env
        .store
        .import_oci_layout(&layout, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("../../etc"), "{e}");
    // Uppercase hex and sha512-with-sha256-length are refused by our own validation too.
    let upper = format!("sha256:{}", "A".repeat(64));
    common::write_index(
        &layout,
        &format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{upper}","size":10,"annotations":{{"org.opencontainers.image.ref.name":"trav"}}}}"#
        ),
    );
    let e = env
        .store
        .import_oci_layout(&layout, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&upper) || e.contains("AAAA"), "{e}");
    assert!(matches!(
        Digest::parse("sha256:../../etc").map_err(ImageError::from),
        Err(ImageError::InvalidDigest { .. })
    ));
    std::fs::remove_dir_all(&layout).unwrap();
    env.assert_consistent();
}

#[test]
fn xattrs_are_preserved_but_overlay_ones_refused() {
    let env = Env::new();
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("SCHILY.xattr.user.gantry", &b"v1"[..]),
        ("SCHILY.xattr.trusted.overlay.opaque", &b"y"[..]),
    ])
    .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_path("f").unwrap();
    h.set_size(1);
    h.set_mode(0o4755);
    h.set_mtime(1_000_000);
    h.set_cksum();
    b.append(&h, &b"x"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let (dest, r) = env.unpack(&tar, &flat_opts());
    let stats = r.unwrap();
    let mut buf = [0u8; 16];
    match rustix::fs::getxattr(dest.join("f"), "user.gantry", &mut buf) {
        Ok(n) => assert_eq!(&buf[..n], b"v1"),
        // Some filesystems (old tmpfs) lack user xattrs: then a warning must say so.
        Err(_) => assert!(
            stats.warnings.iter().any(|w| w.contains("user.gantry")),
            "{:?}",
            stats.warnings
        ),
    }
    assert!(rustix::fs::getxattr(dest.join("f"), "trusted.overlay.opaque", &mut buf).is_err());
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains("trusted.overlay.opaque")),
        "{:?}",
        stats.warnings
    );
    let m = std::fs::metadata(dest.join("f")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(m.mode() & 0o7777, 0o4755, "setuid kept");
    assert_eq!(m.mtime(), 1_000_000);
    env.assert_outside_untouched();
}
