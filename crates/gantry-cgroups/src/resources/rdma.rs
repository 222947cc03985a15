//! `linux.resources.rdma`: `rdma.max` (same format on v1 and v2).

use super::target::invalid;
use crate::cgroup::Cgroup;
use crate::error::CgroupError;
use oci_spec::runtime::LinuxRdma;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Applies the per-device RDMA limits, devices in name order.
pub(super) fn apply(cgroup: &Cgroup, rdma: &HashMap<String, LinuxRdma>) -> Result<(), CgroupError> {
    let mut devices: Vec<(&String, &LinuxRdma)> = rdma
        .iter()
        .filter(|(_, l)| l.hca_handles().is_some() || l.hca_objects().is_some())
        .collect();
    if devices.is_empty() {
        return Ok(());
    }
    devices.sort_by_key(|(name, _)| *name);
    for (name, _) in &devices {
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace() || b == b'/') {
            return Err(invalid(
                &format!("linux.resources.rdma[{name:?}]"),
                "device names have no spaces or slashes",
            ));
        }
    }
    let target = cgroup.target("rdma", "rdma", "linux.resources.rdma")?;
    for (name, limit) in devices {
        let mut line = name.clone();
        if let Some(h) = limit.hca_handles() {
            let _ = write!(line, " hca_handle={h}");
        }
        if let Some(o) = limit.hca_objects() {
            let _ = write!(line, " hca_object={o}");
        }
        target.write(
            "rdma.max",
            line.as_bytes(),
            &format!("linux.resources.rdma[{name:?}]"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testutil::{get, put, Fake};

    #[test]
    fn writes_rdma_max() {
        let fake = Fake::v2();
        put(&fake.dir(""), "rdma.max", "");
        let r = r#"{"rdma":{"mlx5_0":{"hcaHandles":3,"hcaObjects":10000}}}"#;
        fake.cgroup
            .apply(&serde_json::from_str(r).unwrap())
            .unwrap();
        assert_eq!(
            get(&fake.dir(""), "rdma.max"),
            "mlx5_0 hca_handle=3 hca_object=10000"
        );
    }
}
