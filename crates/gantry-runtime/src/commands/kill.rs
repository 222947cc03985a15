//! `kill`.

use gantry_container::StateRoot;

/// Signals the container's init, or with `--all` every process of it.
pub fn run(root: &StateRoot, k: &gantry_oci_cli::Kill) -> anyhow::Result<()> {
    Ok(gantry_container::verbs::kill::kill(
        root, &k.id, k.signal, k.all,
    )?)
}
