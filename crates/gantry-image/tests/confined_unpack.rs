//! The confined unpacker (run as root): a layer unpacks through the forked, chrooted,
//! capability-reduced, seccomp-filtered child, and when the test hook makes that child try to
//! write outside its snapshot (host path, `..` walk, nested chroot, bind mount, network,
//! /proc), nothing outside changes. Its own `main` (harness = false) keeps the process
//! single-threaded, which the unpacker requires before it forks. The flat fallback (no
//! overlayfs) goes through the same child.

mod common;

use std::fs::File;
use std::path::Path;

use gantry_image::layout::ImportOptions;
use gantry_image::unpack::isolated::unpack_layer_confined;
use gantry_image::unpack::LayerInfo;
use gantry_image::{Digest, Store, StoreOptions, UnpackOptions};

fn layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "hello", &b"hi"[..]).unwrap();
    b.into_inner().unwrap()
}

fn unpack(
    base: &Path,
    name: &str,
) -> (
    std::path::PathBuf,
    gantry_image::Result<gantry_image::unpack::UnpackStats>,
) {
    let tar = layer();
    let blob = base.join("layer.tar");
    std::fs::write(&blob, &tar).unwrap();
    let dest = base.join(name).join("fs");
    std::fs::create_dir_all(&dest).unwrap();
    let info = LayerInfo {
        digest: Digest::sha256_of(&tar),
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        diff_id: Some(Digest::sha256_of(&tar)),
    };
    let r = unpack_layer_confined(
        File::open(&blob).unwrap(),
        &info,
        &dest,
        &UnpackOptions::default(),
    );
    (dest, r)
}

fn the_confined_unpacker_cannot_write_outside_its_snapshot() {
    let base = tempfile::tempdir().unwrap();
    let outside = base.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let target = outside.join("pwned");
    std::env::set_var("GANTRY_TEST_UNPACK_ESCAPE", &target);
    let (dest, r) = unpack(base.path(), "snap");
    std::env::remove_var("GANTRY_TEST_UNPACK_ESCAPE");
    let stats = r.expect("the confined unpack itself works");
    assert_eq!(stats.entries, 1);
    assert_eq!(std::fs::read(dest.join("hello")).unwrap(), b"hi");
    let seen = std::fs::read_to_string(dest.join("escape-attempts"))
        .expect("the hook ran inside the confined child (its record is in the snapshot)");
    eprintln!("{seen}");
    assert!(
        !target.exists(),
        "the unpacker wrote outside its snapshot:\n{seen}"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(seen.lines().count(), 6, "{seen}");
    for line in seen.lines() {
        assert!(line.contains("Err("), "an escape attempt succeeded: {line}");
    }
    assert!(!base.path().join("nest").exists());
}

fn without_the_hook_layers_unpack_the_same() {
    let base = tempfile::tempdir().unwrap();
    let (dest, r) = unpack(base.path(), "plain");
    let stats = r.unwrap();
    assert_eq!(stats.diff_id, Some(Digest::sha256_of(&layer())));
    assert!(!dest.join("escape-attempts").exists());
}

fn hostile_entries_are_still_refused_and_reported_through_the_child() {
    let base = tempfile::tempdir().unwrap();
    let outside = base.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "link", outside.to_str().unwrap())
        .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(1);
    h.set_mode(0o644);
    b.append_data(&mut h, "link/pwned", &b"x"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(0);
    h.set_mode(0o644);
    b.append_data(&mut h, "etc/.wh..", &b""[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let blob = base.path().join("hostile.tar");
    std::fs::write(&blob, &tar).unwrap();
    let dest = base.path().join("snap/fs");
    std::fs::create_dir_all(&dest).unwrap();
    let info = LayerInfo {
        digest: Digest::sha256_of(&tar),
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        diff_id: None,
    };
    let e = unpack_layer_confined(
        File::open(&blob).unwrap(),
        &info,
        &dest,
        &UnpackOptions::default(),
    )
    .expect_err("the layer is refused");
    assert!(
        e.to_string().contains("entry \"link/pwned\"") && e.to_string().contains("symlink"),
        "the child's refusal is reported: {e}"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written through the symlink"
    );
}

fn the_flat_fallback_unpacks_in_the_confined_child() {
    let base = tempfile::tempdir().unwrap();
    let layout = base.path().join("layout");
    let lower = common::tar_bytes(&[common::file(b"keep", b"1"), common::file(b"gone", b"2")]);
    let upper = common::tar_bytes(&[common::file(b".wh.gone", b""), common::file(b"new", b"3")]);
    common::write_layout(&layout, "flat", &[lower, upper]);
    let store = Store::open_with(
        base.path().join("store"),
        StoreOptions {
            gc_grace: std::time::Duration::ZERO,
        },
    )
    .unwrap();
    store
        .import_oci_layout(&layout, &ImportOptions::default())
        .unwrap();
    let outside = base.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let target = outside.join("pwned");
    let dest = base.path().join("rootfs");
    std::fs::create_dir(&dest).unwrap();
    std::env::set_var("GANTRY_TEST_UNPACK_ESCAPE", &target);
    let r = store.flatten("flat", &dest, &UnpackOptions::default());
    std::env::remove_var("GANTRY_TEST_UNPACK_ESCAPE");
    let stats = r.expect("the flat unpack works");
    assert!(stats.entries >= 3, "{stats:?}");
    assert_eq!(std::fs::read(dest.join("keep")).unwrap(), b"1");
    assert_eq!(std::fs::read(dest.join("new")).unwrap(), b"3");
    assert!(!dest.join("gone").exists(), "the whiteout applied");
    assert!(!dest.join(".wh.gone").exists());
    // Each layer ran the hook in its chrooted child: its record is inside the rootfs.
    let seen = std::fs::read_to_string(dest.join("escape-attempts"))
        .expect("the flat layers unpacked in the confined child");
    assert!(
        seen.lines().all(|l| l.contains("Err(")),
        "an escape attempt succeeded:\n{seen}"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}

fn main() {
    assert!(
        rustix::process::geteuid().is_root(),
        "these tests need root: the unpacker chroots and drops capabilities"
    );
    for (name, t) in [
        (
            "the_confined_unpacker_cannot_write_outside_its_snapshot",
            the_confined_unpacker_cannot_write_outside_its_snapshot as fn(),
        ),
        (
            "without_the_hook_layers_unpack_the_same",
            without_the_hook_layers_unpack_the_same,
        ),
        (
            "hostile_entries_are_still_refused_and_reported_through_the_child",
            hostile_entries_are_still_refused_and_reported_through_the_child,
        ),
        (
            "the_flat_fallback_unpacks_in_the_confined_child",
            the_flat_fallback_unpacks_in_the_confined_child,
        ),
    ] {
        eprintln!("test {name} ...");
        t();
        eprintln!("test {name} ... ok");
    }
}
