//! `linux.resources.devices`: v1 `devices.allow`/`devices.deny`, v2 an eBPF program attached to the cgroup.

mod ebpf;
mod emulator;
pub(crate) mod program;
pub(crate) mod rules;
mod v1;

use crate::cgroup::Cgroup;
use crate::error::CgroupError;
use crate::layout::Mode;
use oci_spec::runtime::LinuxDeviceCgroup;

/// Applies the device rules (none → nothing touched). Access not allowed by a rule is denied.
pub(super) fn apply(cgroup: &Cgroup, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    if rules.is_empty() {
        return Ok(());
    }
    let rules = rules::parse_rules(rules)?;
    if let Some(dir) = cgroup.v1_dir("devices") {
        return v1::apply(dir, &rules);
    }
    match cgroup.unified_dir() {
        Some(dir) if cgroup.mode() != Mode::V1 => ebpf::apply(dir, &rules),
        _ => Err(CgroupError::MissingController {
            field: "linux.resources.devices".into(),
            controller: "devices",
            detail: "no cgroup v1 devices hierarchy and no unified hierarchy for an eBPF filter"
                .into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::{get, put, Fake};

    #[test]
    fn v1_writes_rules_in_order_after_a_reset() {
        let fake = Fake::v1(&["devices"]);
        let dir = fake.dir("devices");
        put(&dir, "devices.allow", "");
        put(&dir, "devices.deny", "");
        let r = r#"{"devices":[{"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
                               {"allow":false,"type":"c","major":1,"minor":3,"access":"m"}]}"#;
        fake.cgroup
            .apply(&serde_json::from_str(r).unwrap())
            .unwrap();
        // A fake file keeps only the last write; the reset and order are checked on the real host.
        assert_eq!(get(&dir, "devices.allow"), "c 1:3 rwm");
        assert_eq!(get(&dir, "devices.deny"), "c 1:3 m");
    }
}
