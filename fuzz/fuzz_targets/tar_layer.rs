//! Arbitrary bytes as a layer blob (plain, gzip or zstd by magic), unpacked into a scratch
//! directory in both whiteout modes: Ok or Err, never a panic, never a file outside it.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};

use gantry_image::unpack::{unpack_layer, LayerInfo, UnpackLimits, UnpackOptions, WhiteoutMode};
use libfuzzer_sys::fuzz_target;

static N: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let base = std::env::temp_dir().join(format!("gantry-fuzz-tar-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    let dest = base.join("root");
    std::fs::create_dir_all(&dest).unwrap();
    let info = LayerInfo {
        digest: gantry_image::Digest::sha256_of(data),
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        diff_id: None,
    };
    let limits = UnpackLimits { max_total_bytes: 16 << 20, max_entries: 10_000, ..Default::default() };
    for whiteouts in [WhiteoutMode::Flat, WhiteoutMode::Overlay] {
        let opts = UnpackOptions { limits, whiteouts, preserve_ownership: false, create_devices: false };
        if let Err(e) = unpack_layer(data, &info, &dest, &opts) {
            assert!(!e.to_string().contains('\n'), "multi-line error: {e}");
        }
    }
    // Nothing may appear next to the root.
    let names: Vec<_> = std::fs::read_dir(&base).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["root"]);
    let _ = std::fs::remove_dir_all(&base);
});
