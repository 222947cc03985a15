//! `run`: create + start (+ wait + delete unless `--detach`); exits with the container's status.

use gantry_container::StateRoot;

/// Runs the container; returns its exit status.
pub fn run(root: &StateRoot, r: &gantry_oci_cli::Run, systemd_cgroup: bool) -> anyhow::Result<i32> {
    Ok(gantry_container::verbs::run::run(
        root,
        &super::create_options(&r.opts, systemd_cgroup),
        r.detach,
    )?)
}
