//! `update`: apply new resource limits to a live container's cgroup (only the fields that are set).

use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};
use crate::state::{StateRoot, Status};

/// Applies `resources` to container `id`'s cgroup.
pub fn update(root: &StateRoot, id: &str, resources: &LinuxResources) -> Result<()> {
    let dir = root.open(id)?;
    dir.lock()?;
    let state = dir.read_state()?;
    let status = dir.status(state.as_ref());
    if matches!(status, Status::Stopped | Status::Creating) {
        return Err(Error::WrongState {
            id: id.into(),
            status: status.as_str(),
            op: "update",
        });
    }
    let cg = state
        .as_ref()
        .and_then(|s| s.cgroup.as_ref())
        .ok_or_else(|| Error::Unsupported {
            field: "linux.cgroupsPath".into(),
            reason: format!("container {id} has no cgroup recorded"),
        })?;
    // Device rules are fixed at create, as in runc: applying a new list here would drop the default devices.
    if resources.devices().is_some() {
        return Err(Error::Unsupported {
            field: "devices".into(),
            reason: "device rules cannot be updated on a live container (they are set at create)"
                .into(),
        });
    }
    cg.apply(resources)?;
    Ok(())
}

/// Parses the `--resources` JSON (an OCI `linux.resources` object).
pub fn parse_resources(bytes: &[u8], source: &str) -> Result<LinuxResources> {
    serde_json::from_slice(bytes).map_err(|e| Error::Unsupported {
        field: format!("--resources {source}"),
        reason: format!("not a valid OCI linux.resources JSON object: {e}"),
    })
}
