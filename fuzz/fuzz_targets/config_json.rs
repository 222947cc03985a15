//! Arbitrary bytes as config.json: parse + validate must return Ok or Err, never panic, and an
//! error must render as one line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = gantry_spec::parse_and_validate(data) {
        let text = e.to_string();
        assert!(!text.contains('\n'), "multi-line error: {text}");
    }
});
