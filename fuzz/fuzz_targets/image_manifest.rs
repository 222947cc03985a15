//! Arbitrary bytes as a manifest / index / image config: parsing must return Ok or Err, never
//! panic; a parsed index must survive platform selection; errors render as one line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for declared in [None, Some("application/vnd.oci.image.index.v1+json")] {
        match gantry_image::manifest::parse_document(data, declared, "fuzz") {
            Ok(gantry_image::manifest::Document::Index(idx)) => {
                let _ = gantry_image::manifest::select_platform(&idx, &gantry_image::Platform::host(), "fuzz");
            }
            Ok(gantry_image::manifest::Document::Manifest(_)) => {}
            Err(e) => assert!(!e.to_string().contains('\n'), "multi-line error: {e}"),
        }
    }
    if let Ok(cfg) = gantry_image::config::parse_image_config(data, "fuzz") {
        let _ = gantry_image::config::diff_ids(&cfg, "fuzz");
    }
});
