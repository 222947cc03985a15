//! `delete`.

use gantry_container::StateRoot;

/// Deletes the container (`--force`: kill it first).
pub fn run(root: &StateRoot, d: &gantry_oci_cli::Delete) -> anyhow::Result<()> {
    Ok(gantry_container::verbs::delete::delete(
        root, &d.id, d.force,
    )?)
}
