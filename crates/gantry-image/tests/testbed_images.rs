//! Import the testbed's OCI layout and compare unpacked trees with umoci's ground truth.
//! Needs `../shared/testbed/images.sh /tmp/gantry-imgs` (or `GANTRY_TEST_IMAGES`); ownership
//! checks need root.

mod common;

use gantry_image::layout::ImportOptions;
use gantry_image::{Platform, Store, StoreOptions, UnpackOptions, WhiteoutMode};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_with(
        dir.path().join("store"),
        StoreOptions {
            gc_grace: std::time::Duration::ZERO,
        },
    )
    .unwrap();
    (dir, s)
}

#[test]
fn layers_image_flattens_like_umoci() {
    let imgs = common::images_dir();
    common::require_root("ownership comparison");
    let (dir, s) = store();
    let opts = ImportOptions {
        refs: Some(vec!["layers".into()]),
        ..Default::default()
    };
    let imported = s.import_oci_layout(&imgs.join("oci"), &opts).unwrap();
    assert_eq!(imported.len(), 1);
    let dest = dir.path().join("flat");
    std::fs::create_dir(&dest).unwrap();
    let stats = s
        .flatten("layers", &dest, &UnpackOptions::default())
        .unwrap();
    assert!(stats.entries > 300, "{stats:?}");
    let got = common::listing(&dest, true);
    let want: Vec<String> = std::fs::read_to_string(imgs.join("expected/layers.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let diff: Vec<_> = want
        .iter()
        .filter(|l| !got.contains(l))
        .map(|l| format!("- {l}"))
        .chain(
            got.iter()
                .filter(|l| !want.contains(l))
                .map(|l| format!("+ {l}")),
        )
        .collect();
    assert!(
        diff.is_empty(),
        "flattened tree differs from expected/layers.txt:\n{}",
        diff.join("\n")
    );
    // images.sh fixes every mtime at 2024-01-01 (tar --mtime=@1704067200); we keep them, for
    // files, symlinks and directories (set after their children).
    let mut stale = Vec::new();
    for line in &got {
        // "PATH TYPE MODE UID:GID links=..." where PATH may contain blanks.
        let head = line.split(" links=").next().unwrap();
        let rel = head.rsplitn(4, ' ').last().unwrap();
        let m = std::fs::symlink_metadata(dest.join(rel)).unwrap();
        if std::os::unix::fs::MetadataExt::mtime(&m) != 1_704_067_200 {
            stale.push(rel.to_owned());
        }
    }
    assert!(stale.is_empty(), "mtimes not preserved: {stale:?}");
    // /bin holds busybox and its ~270 hard links.
    let bb = std::fs::metadata(dest.join("bin/busybox")).unwrap();
    assert!(std::os::unix::fs::MetadataExt::nlink(&bb) > 100);
}

fn overlay_merge_check(mode: WhiteoutMode) {
    let imgs = common::images_dir();
    common::require_root("overlay whiteouts and mounting");
    let (dir, s) = store();
    s.import_oci_layout(
        &imgs.join("oci"),
        &ImportOptions {
            refs: Some(vec!["layers".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    let rootfs = s
        .create_container(
            "c1",
            "layers",
            &UnpackOptions {
                whiteouts: mode,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(rootfs.lowerdirs.len(), 3);
    let data = rootfs.overlay_options().unwrap();
    assert_eq!(
        data.ends_with(",userxattr"),
        mode == WhiteoutMode::OverlayUserXattr
    );
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let cdata = std::ffi::CString::new(data).unwrap();
    rustix::mount::mount(
        "overlay",
        &mnt,
        "overlay",
        rustix::mount::MountFlags::empty(),
        Some(cdata.as_c_str()),
    )
    .unwrap();
    let got = common::listing(&mnt, true);
    rustix::mount::unmount(&mnt, rustix::mount::UnmountFlags::DETACH).unwrap();
    let want: Vec<String> = std::fs::read_to_string(imgs.join("expected/layers.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    // Compare path, type, mode and owner (overlayfs reports its own nlink/size for directories).
    let key = |l: &String| l.split(" links=").next().unwrap().to_owned();
    let g: Vec<_> = got.iter().map(key).collect();
    let w: Vec<_> = want.iter().map(key).collect();
    assert_eq!(g, w);
    s.remove_container("c1").unwrap();
    s.remove_image("layers").unwrap();
    let report = s.gc().unwrap();
    assert_eq!(report.snapshots.len(), 3, "{report:?}");
    assert!(!report.blobs.is_empty());
}

#[test]
fn overlay_snapshots_of_layers_merge_like_umoci() {
    overlay_merge_check(WhiteoutMode::Overlay);
}

/// The rootless representation (user.overlay.opaque, mounted with userxattr) merges the same.
#[test]
fn userxattr_overlay_snapshots_merge_like_umoci() {
    overlay_merge_check(WhiteoutMode::OverlayUserXattr);
}

#[test]
fn multiarch_index_selects_the_requested_platform() {
    let imgs = common::images_dir();
    for arch in ["amd64", "arm64"] {
        let (dir, s) = store();
        let opts = ImportOptions {
            refs: Some(vec!["multiarch".into()]),
            platform: Platform::parse(&format!("linux/{arch}")).unwrap(),
        };
        let rec = s
            .import_oci_layout(&imgs.join("oci"), &opts)
            .unwrap()
            .remove(0);
        assert_ne!(rec.target, rec.manifest);
        let dest = dir.path().join("flat");
        std::fs::create_dir(&dest).unwrap();
        let o = UnpackOptions {
            whiteouts: WhiteoutMode::Flat,
            ..Default::default()
        };
        s.flatten("multiarch", &dest, &o).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("etc/platform")).unwrap(),
            format!("linux/{arch}\n")
        );
    }
    let (_d, s) = store();
    let bad = ImportOptions {
        refs: Some(vec!["multiarch".into()]),
        platform: Platform::parse("linux/s390x").unwrap(),
    };
    let e = s
        .import_oci_layout(&imgs.join("oci"), &bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("linux/s390x") && e.contains("linux/arm64"),
        "{e}"
    );
}

/// The debian image (when `images.sh --debian` built it) flattens to the same tree as GNU tar
/// extracting its layer with --xattrs --same-owner, including xattrs like security.capability.
#[test]
fn debian_flattens_like_gnu_tar() {
    let imgs = common::images_dir();
    common::require_root("ownership comparison");
    let (dir, s) = store();
    let opts = ImportOptions {
        refs: Some(vec!["debian".into()]),
        ..Default::default()
    };
    if let Err(e) = s.import_oci_layout(&imgs.join("oci"), &opts) {
        panic!(
            "no debian image in {} ({e}): build it with `../shared/testbed/images.sh {} --debian`",
            imgs.display(),
            imgs.display()
        );
    }
    let ours = dir.path().join("ours");
    std::fs::create_dir(&ours).unwrap();
    let stats = s
        .flatten("debian", &ours, &UnpackOptions::default())
        .unwrap();
    assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);
    let man = s.manifest(&s.image("debian").unwrap().manifest).unwrap();
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    let st = std::process::Command::new("tar")
        .args([
            "--xattrs",
            "--xattrs-include=*",
            "--same-owner",
            "--numeric-owner",
            "-xpzf",
        ])
        .arg(s.blob_path(&man.layers[0].digest))
        .arg("-C")
        .arg(&theirs)
        .status()
        .unwrap();
    assert!(st.success());
    let a = common::listing(&ours, false);
    let b = common::listing(&theirs, false);
    let diff: Vec<_> = b
        .iter()
        .filter(|l| !a.contains(l))
        .map(|l| format!("- {l}"))
        .chain(
            a.iter()
                .filter(|l| !b.contains(l))
                .map(|l| format!("+ {l}")),
        )
        .collect();
    assert!(
        diff.is_empty(),
        "differs from GNU tar:\n{}",
        diff.join("\n")
    );
    // Same xattrs and mtimes on every entry.
    for line in &b {
        let head = line.split(" links=").next().unwrap();
        let rel = head.rsplitn(4, ' ').last().unwrap();
        let (pa, pb) = (ours.join(rel), theirs.join(rel));
        let (ma, mb) = (
            std::fs::symlink_metadata(&pa).unwrap(),
            std::fs::symlink_metadata(&pb).unwrap(),
        );
        use std::os::unix::fs::MetadataExt;
        assert_eq!(ma.mtime(), mb.mtime(), "mtime of {rel}");
        if !mb.file_type().is_symlink() {
            let names = |p: &std::path::Path| {
                let mut buf = vec![0u8; 4096];
                let n = rustix::fs::listxattr(p, &mut buf).unwrap_or(0);
                let mut v: Vec<Vec<u8>> = buf[..n]
                    .split(|&c| c == 0)
                    .filter(|x| !x.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect();
                v.sort();
                v
            };
            assert_eq!(names(&pa), names(&pb), "xattrs of {rel}");
        }
    }
}
