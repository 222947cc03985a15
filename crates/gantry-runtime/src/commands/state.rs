//! `state`.

use gantry_container::StateRoot;

/// Prints the container's state JSON.
pub fn run(root: &StateRoot, id: &str) -> anyhow::Result<()> {
    let json = gantry_container::verbs::state::state_json(root, id)?;
    Ok(crate::out::println(&json)?)
}
