//! The store after faults: unpacks that fail leave no listed image, `fsck` finds and repairs
//! damage, and an opaque whiteout at a layer's root hides every layer below it.

mod common;

use common::{dir, file, tar_bytes};
use gantry_image::layout::ImportOptions;
use gantry_image::{Digest, FsckOptions, Platform, Store, UnpackOptions};

fn store_with(layers: &[Vec<u8>]) -> (tempfile::TempDir, Store, Digest) {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let manifest = common::write_layout(&layout, "img", layers);
    let s = Store::open(tmp.path().join("store")).unwrap();
    s.import_oci_layout(&layout, &ImportOptions::default())
        .unwrap();
    (tmp, s, manifest)
}

#[test]
fn a_layer_refused_at_unpack_leaves_the_image_unlisted() {
    let bad = tar_bytes(&[dir(b"etc/"), file(b"etc/.wh..", b"")]);
    let (_t, s, manifest) = store_with(&[tar_bytes(&[file(b"a", b"a")]), bad]);
    s.remove_image("img").unwrap();
    let e = s
        .register_image_unpacked(
            "again",
            &manifest,
            &Platform::host(),
            &UnpackOptions::default(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("whiteout"), "{e}");
    assert!(
        s.images().unwrap().is_empty(),
        "a failed unpack must not list the image"
    );
    assert!(std::fs::read_dir(s.root().join("snapshots/tmp"))
        .unwrap()
        .next()
        .is_none());
    // The good stack registers once unpacked.
    let (_t2, s2, m2) = store_with(&[tar_bytes(&[file(b"a", b"a")])]);
    s2.remove_image("img").unwrap();
    s2.register_image_unpacked("ok", &m2, &Platform::host(), &UnpackOptions::default())
        .unwrap();
    assert_eq!(s2.images().unwrap().len(), 1);
    assert!(s2.fsck(FsckOptions::default()).unwrap().is_clean());
}

#[test]
fn fsck_reports_and_repairs_damage() {
    let l1 = tar_bytes(&[dir(b"etc/"), file(b"etc/x", b"x")]);
    let l2 = tar_bytes(&[file(b"etc/y", b"y")]);
    let (_t, s, _) = store_with(&[l1, l2]);
    s.prepare_snapshots("img", &UnpackOptions::default())
        .unwrap();
    let clean = s
        .fsck(FsckOptions {
            repair: false,
            full: true,
        })
        .unwrap();
    assert!(clean.is_clean(), "{:?}", clean.problems);
    assert_eq!(clean.snapshots_checked, 2);

    let man = s.manifest(&s.image("img").unwrap().manifest).unwrap();
    // A flipped byte in the top layer blob, a lost completion marker on the bottom snapshot,
    // and leftovers of a dead pull.
    let top = s.blob_path(&man.layers[1].digest);
    let mut bytes = std::fs::read(&top).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&top, bytes).unwrap();
    let snap = s.snapshot_path(&man.layers[0].chain_id);
    std::fs::remove_file(snap.parent().unwrap().join("diffid")).unwrap();
    std::fs::create_dir_all(s.root().join("snapshots/tmp/unpack-dead/fs")).unwrap();
    std::fs::write(s.root().join("ingest/sha256-dead"), b"partial").unwrap();

    let found = s.fsck(FsckOptions::default()).unwrap();
    let text: Vec<String> = found
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.subject, p.reason))
        .collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    assert!(
        has(&format!("blob {}: content hashes to", man.layers[1].digest)),
        "{text:#?}"
    );
    assert!(has("image img"), "{text:#?}");
    assert!(
        has(&format!(
            "snapshot {}: completion marker",
            man.layers[0].chain_id
        )),
        "{text:#?}"
    );
    assert!(has("unpack-dead") && has("sha256-dead"), "{text:#?}");
    // Reporting changed nothing.
    assert!(top.exists() && s.image("img").is_ok());

    let repaired = s
        .fsck(FsckOptions {
            repair: true,
            full: false,
        })
        .unwrap();
    assert_eq!(repaired.problems.len(), found.problems.len());
    assert!(!top.exists() && s.image("img").is_err() && !snap.exists());
    assert!(std::fs::read_dir(s.root().join("ingest"))
        .unwrap()
        .next()
        .is_none());
    let after = s.fsck(FsckOptions::default()).unwrap();
    assert!(after.is_clean(), "{:?}", after.problems);
}

#[test]
fn opaque_whiteout_at_the_layer_root_hides_the_lower_layers() {
    let lower = tar_bytes(&[file(b"old", b"old"), dir(b"d/"), file(b"d/x", b"x")]);
    let upper = tar_bytes(&[file(b".wh..wh..opq", b""), file(b"new", b"new")]);
    let (t, s, _) = store_with(&[lower, upper]);
    let rootfs = s
        .create_container("c1", "img", &UnpackOptions::default())
        .unwrap();
    assert_eq!(rootfs.lowerdirs.len(), 1, "{:?}", rootfs.lowerdirs);
    // Mounted, only the upper layer's content shows.
    let mnt = t.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let opts = rootfs.overlay_options().unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &opts])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(st.success(), "mount overlay");
    let mut names: Vec<String> = std::fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    assert_eq!(names, ["new"]);
    s.remove_container("c1").unwrap();

    // The flat representation agrees.
    let flat = t.path().join("flat");
    std::fs::create_dir(&flat).unwrap();
    s.flatten("img", &flat, &UnpackOptions::default()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&flat)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["new"]);
}
