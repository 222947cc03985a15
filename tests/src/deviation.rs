//! Known deviations: a test that a named runtime is known to fail (listed in
//! docs/conformance.md) still runs, and still fails on any other runtime.

use crate::runtime::{runtime_identity, runtime_is};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `check`; if it fails while the runtime under test is `runtime` (by its
/// `--version`; several names may be given, separated by spaces or commas), the failure
/// is logged as a known deviation and the test passes. On every other runtime a failure
/// fails the test as usual.
pub fn known_deviation(runtime: &str, reason: &str, check: impl FnOnce()) {
    let runtime = match runtime
        .split([' ', ','])
        .find(|n| !n.is_empty() && runtime_is(n))
    {
        Some(name) => name,
        None => {
            check();
            return;
        }
    };
    if !runtime_is(runtime) {
        check();
        return;
    }
    match catch_unwind(AssertUnwindSafe(check)) {
        Ok(()) => eprintln!(
            "note: {} passes a check listed as a known {runtime} deviation ({reason})",
            runtime_identity()
        ),
        Err(_) => eprintln!("KNOWN DEVIATION ({runtime}): {reason}"),
    }
}
