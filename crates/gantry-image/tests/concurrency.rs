//! Several store handles (as several `gantry` processes would have) on one root at once.

mod common;

use common::{dir, file, tar_bytes};
use gantry_image::layout::ImportOptions;
use gantry_image::{Store, StoreOptions};

#[test]
fn concurrent_imports_and_gc_on_one_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let layout = tmp.path().join("layout");
    common::write_layout(
        &layout,
        "img",
        &[
            tar_bytes(&[dir(b"etc/"), file(b"etc/x", b"x")]),
            tar_bytes(&[file(b"etc/y", b"y")]),
        ],
    );
    Store::open(&root).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (root, layout) = (root.clone(), layout.clone());
            std::thread::spawn(move || {
                let s = Store::open_with(
                    &root,
                    StoreOptions {
                        gc_grace: std::time::Duration::from_secs(3600),
                    },
                )
                .unwrap();
                for _ in 0..5 {
                    s.import_oci_layout(&layout, &ImportOptions::default())
                        .unwrap();
                    if i == 0 {
                        s.gc().unwrap();
                    }
                }
                s.images().unwrap().len()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 1);
    }
    let s = Store::open(&root).unwrap();
    let r = s.gc().unwrap();
    assert!(r.blobs.is_empty(), "{r:?}");
    assert_eq!(s.image("img").unwrap().name, "img");
}

#[test]
fn concurrent_snapshot_preparation_shares_one_unpack() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let layout = tmp.path().join("layout");
    common::write_layout(
        &layout,
        "img",
        &[
            tar_bytes(&[dir(b"etc/"), file(b"etc/x", b"x")]),
            tar_bytes(&[file(b"etc/y", b"y")]),
        ],
    );
    Store::open(&root)
        .unwrap()
        .import_oci_layout(&layout, &ImportOptions::default())
        .unwrap();
    let opts = gantry_image::UnpackOptions {
        whiteouts: gantry_image::WhiteoutMode::Flat,
        ..Default::default()
    };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (root, opts) = (root.clone(), opts.clone());
            std::thread::spawn(move || {
                Store::open(&root)
                    .unwrap()
                    .prepare_snapshots("img", &opts)
                    .unwrap()
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    let top = &results[0][1];
    assert_eq!(std::fs::read(top.join("etc/y")).unwrap(), b"y");
    let s = Store::open(&root).unwrap();
    let leftovers = std::fs::read_dir(root.join("snapshots/tmp"))
        .unwrap()
        .count();
    assert_eq!(leftovers, 0);
    // Asking for the other whiteout mode over existing snapshots is a clear error.
    let overlay = gantry_image::UnpackOptions {
        whiteouts: gantry_image::WhiteoutMode::Overlay,
        ..Default::default()
    };
    let e = s
        .prepare_snapshots("img", &overlay)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Flat whiteouts"), "{e}");
}

#[test]
fn flat_container_fallback_and_gc_keeps_what_containers_use() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let layout = tmp.path().join("layout");
    common::write_layout(
        &layout,
        "img",
        &[
            tar_bytes(&[dir(b"etc/"), file(b"etc/x", b"x")]),
            tar_bytes(&[file(b"etc/.wh.x", b""), file(b"etc/y", b"y")]),
        ],
    );
    let s = Store::open_with(
        &root,
        StoreOptions {
            gc_grace: std::time::Duration::ZERO,
        },
    )
    .unwrap();
    s.import_oci_layout(&layout, &ImportOptions::default())
        .unwrap();
    let opts = gantry_image::UnpackOptions {
        whiteouts: gantry_image::WhiteoutMode::Flat,
        ..Default::default()
    };
    let rf = s.create_container_flat("c1", "img", &opts).unwrap();
    assert!(rf.lowerdirs.is_empty());
    assert!(!rf.rootfs.join("etc/x").exists());
    assert_eq!(std::fs::read(rf.rootfs.join("etc/y")).unwrap(), b"y");
    assert!(
        s.create_container_flat("c1", "img", &opts).is_err(),
        "duplicate id"
    );
    s.remove_image("img").unwrap();
    let r = s.gc().unwrap();
    assert!(
        r.blobs.is_empty(),
        "a container still uses the manifest: {r:?}"
    );
    s.remove_container("c1").unwrap();
    let r = s.gc().unwrap();
    assert_eq!(r.blobs.len(), 4, "manifest, config, two layers: {r:?}");
    assert_eq!(r.manifests.len(), 1);
}

/// Real processes: this test binary re-runs `process_inner` three times at once on one root.
#[test]
fn several_processes_share_one_store() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let layout = tmp.path().join("layout");
    common::write_layout(
        &layout,
        "img",
        &[
            tar_bytes(&[dir(b"etc/"), file(b"etc/x", b"x")]),
            tar_bytes(&[file(b"etc/y", b"y")]),
        ],
    );
    let children: Vec<_> = (0..3)
        .map(|i| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "process_inner", "--ignored", "--test-threads=1"])
                .env("GANTRY_PROC_ROOT", &root)
                .env("GANTRY_PROC_LAYOUT", &layout)
                .env("GANTRY_PROC_INDEX", i.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && text.contains("1 passed"),
            "child failed:\n{text}"
        );
    }
    let s = Store::open(&root).unwrap();
    assert_eq!(s.images().unwrap().len(), 1);
    let opts = gantry_image::UnpackOptions {
        whiteouts: gantry_image::WhiteoutMode::Flat,
        ..Default::default()
    };
    let snaps = s.prepare_snapshots("img", &opts).unwrap();
    assert_eq!(std::fs::read(snaps[1].join("etc/y")).unwrap(), b"y");
    assert!(s.gc().unwrap().blobs.is_empty());
}

#[test]
#[ignore = "started by several_processes_share_one_store"]
fn process_inner() {
    let (Some(root), Some(layout)) = (
        std::env::var_os("GANTRY_PROC_ROOT"),
        std::env::var_os("GANTRY_PROC_LAYOUT"),
    ) else {
        panic!("GANTRY_PROC_ROOT/GANTRY_PROC_LAYOUT unset: this test is started by several_processes_share_one_store; run that one");
    };
    let s = Store::open(&root).unwrap();
    let opts = gantry_image::UnpackOptions {
        whiteouts: gantry_image::WhiteoutMode::Flat,
        ..Default::default()
    };
    for _ in 0..5 {
        s.import_oci_layout(std::path::Path::new(&layout), &ImportOptions::default())
            .unwrap();
        s.prepare_snapshots("img", &opts).unwrap();
        if std::env::var("GANTRY_PROC_INDEX").as_deref() == Ok("0") {
            s.gc().unwrap();
        }
    }
}
