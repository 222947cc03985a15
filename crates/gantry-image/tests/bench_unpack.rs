//! Unpack timings on tmpfs (ignored by default):
//! `cargo test --release -p gantry-image --test bench_unpack -- --ignored --nocapture`
//! Needs the testbed images (`images.sh /tmp/gantry-imgs [--debian]`) and root.

mod common;

use std::time::{Duration, Instant};

use gantry_image::layout::ImportOptions;
use gantry_image::{Store, StoreOptions, UnpackOptions, WhiteoutMode};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: run explicitly with --release --ignored"]
fn unpack_timings_on_tmpfs() {
    let imgs = common::images_dir();
    common::require_root("mounting snapshots");
    let base = std::path::PathBuf::from(format!("/dev/shm/gantry-bench-{}", std::process::id()));
    for tag in ["busybox", "debian"] {
        let mut import = Vec::new();
        let mut snap = Vec::new();
        let mut flat = Vec::new();
        let mut gnu_tar = Vec::new();
        let mut entries = 0;
        let mut bytes = 0;
        for _ in 0..5 {
            let _ = std::fs::remove_dir_all(&base);
            let s = Store::open_with(
                base.join("store"),
                StoreOptions {
                    gc_grace: Duration::ZERO,
                },
            )
            .unwrap();
            let t = Instant::now();
            match s.import_oci_layout(
                &imgs.join("oci"),
                &ImportOptions {
                    refs: Some(vec![tag.into()]),
                    ..Default::default()
                },
            ) {
                Ok(_) => {}
                Err(e) => panic!(
                    "{tag}: not in the layout ({e}): build it with `../shared/testbed/images.sh {} --debian`",
                    imgs.display()
                ),
            }
            import.push(t.elapsed());
            let t = Instant::now();
            s.prepare_snapshots(tag, &UnpackOptions::default()).unwrap();
            snap.push(t.elapsed());
            let dest = base.join("flat");
            std::fs::create_dir(&dest).unwrap();
            let t = Instant::now();
            let st = s
                .flatten(
                    tag,
                    &dest,
                    &UnpackOptions {
                        whiteouts: WhiteoutMode::Flat,
                        ..Default::default()
                    },
                )
                .unwrap();
            flat.push(t.elapsed());
            // Reference: GNU tar extracting the same (single) layer blob, same tmpfs.
            let layer = s
                .manifest(&s.image(tag).unwrap().manifest)
                .unwrap()
                .layers
                .last()
                .unwrap()
                .digest
                .clone();
            let tdir = base.join("gnu-tar");
            std::fs::create_dir(&tdir).unwrap();
            let t = Instant::now();
            let ok = std::process::Command::new("tar")
                .arg("-xzf")
                .arg(s.blob_path(&layer))
                .arg("-C")
                .arg(&tdir)
                .status()
                .map(|st| st.success())
                .unwrap_or(false);
            if ok {
                gnu_tar.push(t.elapsed());
            }
            entries = st.entries;
            bytes = st.bytes;
        }
        if !import.is_empty() {
            println!(
                "BENCH {tag}: {entries} entries, {:.1} MiB: import (copy+verify) {:?}, snapshot unpack (overlay) {:?}, flatten {:?}; GNU tar -xzf of the top layer {:?}  (median of {})",
                bytes as f64 / 1048576.0,
                median(import.clone()),
                median(snap),
                median(flat),
                if gnu_tar.is_empty() { Duration::ZERO } else { median(gnu_tar) },
                import.len()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}
