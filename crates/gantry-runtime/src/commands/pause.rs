//! `pause` and `resume`.

use gantry_container::StateRoot;

/// Freezes the container's processes.
pub fn pause(root: &StateRoot, id: &str) -> anyhow::Result<()> {
    Ok(gantry_container::verbs::pause::pause(root, id)?)
}

/// Thaws the container's processes.
pub fn resume(root: &StateRoot, id: &str) -> anyhow::Result<()> {
    Ok(gantry_container::verbs::pause::resume(root, id)?)
}
