//! `create`.

use gantry_container::StateRoot;

/// Creates the container; it waits at the start gate.
pub fn run(
    root: &StateRoot,
    opts: &gantry_oci_cli::CreateOpts,
    systemd_cgroup: bool,
) -> anyhow::Result<()> {
    let mask = gantry_sys::signal::set_mask(&gantry_sys::signal::SigSet::empty())?;
    gantry_sys::signal::set_mask(&mask)?;
    gantry_container::verbs::create::create(
        root,
        &super::create_options(opts, systemd_cgroup),
        mask,
    )?;
    Ok(())
}
