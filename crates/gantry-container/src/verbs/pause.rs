//! `pause` / `resume`: freeze or thaw every process of the container through its cgroup's freezer. The `paused`
//! marker in the state directory is written after the freeze succeeded and removed after the thaw; `state` reports
//! `paused` only while both the marker exists and the cgroup is frozen.

use crate::error::{Error, Result};
use crate::state::{StateRoot, Status, PAUSED_MARKER};

/// Freezes a running (or created) container.
pub fn pause(root: &StateRoot, id: &str) -> Result<()> {
    let dir = root.open(id)?;
    dir.lock()?;
    let state = dir.read_state()?;
    let status = dir.status(state.as_ref());
    if !matches!(status, Status::Running | Status::Created) {
        return Err(Error::WrongState {
            id: id.into(),
            status: status.as_str(),
            op: "pause (only a running or created container can be paused)",
        });
    }
    let cg = cgroup(id, state.as_ref())?;
    cg.freeze()?;
    dir.touch(PAUSED_MARKER)
}

/// Thaws a paused container.
pub fn resume(root: &StateRoot, id: &str) -> Result<()> {
    let dir = root.open(id)?;
    dir.lock()?;
    let state = dir.read_state()?;
    let status = dir.status(state.as_ref());
    if status != Status::Paused {
        return Err(Error::WrongState {
            id: id.into(),
            status: status.as_str(),
            op: "resume (only a paused container can be resumed)",
        });
    }
    cgroup(id, state.as_ref())?.thaw()?;
    dir.remove_file(PAUSED_MARKER)
}

fn cgroup<'a>(id: &str, state: Option<&'a crate::State>) -> Result<&'a gantry_cgroups::Cgroup> {
    state
        .and_then(|s| s.cgroup.as_ref())
        .ok_or_else(|| Error::Unsupported {
            field: "linux.cgroupsPath".into(),
            reason: format!("container {id} has no cgroup recorded, so it cannot be frozen"),
        })
}
