//! Arbitrary bytes as a signature policy, a signed payload and a PEM key (gantry-trust): parsing and policy
//! evaluation must never panic and errors must be one line. `crates/gantry-trust/tests/malformed.rs` runs the
//! same entry point on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gantry_trust::fuzz_untrusted(data);
});
