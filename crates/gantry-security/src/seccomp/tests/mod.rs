//! seccomp tests: compile checks without privileges; load checks in re-executed children.

mod bpf;
mod compile;
mod load;
mod notify;
mod speed;

use oci_spec::runtime::LinuxSeccomp;

/// `linux.seccomp` as config.json spells it.
pub(super) fn profile(json: &str) -> LinuxSeccomp {
    serde_json::from_str(json).unwrap()
}
