//! `linux.resources.network`: v1 `net_cls.classid` and `net_prio.ifpriomap` (cgroup v2 has neither).

use super::target::unsupported;
use crate::cgroup::{Cgroup, Version};
use crate::error::CgroupError;
use oci_spec::runtime::LinuxNetwork;

const CLASS_ID: &str = "linux.resources.network.classID";
const PRIORITIES: &str = "linux.resources.network.priorities";

/// Applies the network class id and interface priorities.
pub(super) fn apply(cgroup: &Cgroup, network: &LinuxNetwork) -> Result<(), CgroupError> {
    if let Some(class_id) = network.class_id() {
        let target = cgroup.target("net_cls", "net_cls", CLASS_ID)?;
        if target.version == Version::V2 {
            return Err(unsupported(
                CLASS_ID,
                Version::V2,
                "use an eBPF or nftables cgroup match instead; unset it",
            ));
        }
        target.write_int("net_cls.classid", i64::from(class_id), CLASS_ID)?;
    }
    let priorities = network.priorities().as_deref().unwrap_or_default();
    if !priorities.is_empty() {
        let target = cgroup.target("net_prio", "net_prio", PRIORITIES)?;
        if target.version == Version::V2 {
            return Err(unsupported(
                PRIORITIES,
                Version::V2,
                "cgroup v2 has no net_prio controller; unset it",
            ));
        }
        for (i, p) in priorities.iter().enumerate() {
            let line = format!("{} {}", p.name(), p.priority());
            target.write(
                "net_prio.ifpriomap",
                line.as_bytes(),
                &format!("{PRIORITIES}[{i}]"),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testutil::{get, put, Fake};
    use crate::CgroupError;

    #[test]
    fn v1_files_and_missing_controller() {
        let fake = Fake::v1(&["net_cls,net_prio"]);
        let dir = fake.root.join("net_cls,net_prio/test/ctr");
        put(&dir, "net_cls.classid", "");
        put(&dir, "net_prio.ifpriomap", "");
        let r = r#"{"network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5}]}}"#;
        fake.cgroup
            .apply(&serde_json::from_str(r).unwrap())
            .unwrap();
        assert_eq!(get(&dir, "net_cls.classid"), "1048577");
        assert_eq!(get(&dir, "net_prio.ifpriomap"), "eth0 5");

        // This host has no net_cls hierarchy: the error names field and controller.
        let fake = Fake::hybrid(&["memory"]);
        let err = fake
            .cgroup
            .apply(&serde_json::from_str(r#"{"network":{"classID":1}}"#).unwrap())
            .unwrap_err();
        assert!(matches!(err, CgroupError::Unsupported { .. }), "{err}");
        let fake = Fake::v1(&["memory"]);
        let err = fake
            .cgroup
            .apply(&serde_json::from_str(r#"{"network":{"classID":1}}"#).unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cgroup: linux.resources.network.classID is set but the net_cls cgroup controller is not available on \
             this host (no cgroup v1 hierarchy has it and there is no unified hierarchy)"
        );
    }
}
