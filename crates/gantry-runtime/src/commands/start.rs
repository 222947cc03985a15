//! `start`.

use gantry_container::StateRoot;

/// Opens the start gate of a created container.
pub fn run(root: &StateRoot, id: &str) -> anyhow::Result<()> {
    Ok(gantry_container::verbs::start::start(root, id)?)
}
