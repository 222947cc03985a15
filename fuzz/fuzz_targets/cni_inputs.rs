//! Arbitrary bytes as a CNI conflist, plugin result or error, and as `-p`/`--net`/`--add-host`/`--dns`/
//! `--hostname` values and a host resolv.conf: every parser returns Ok or a one-line Err, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gantry_net::fuzzing::parse_untrusted(data);
});
