//! `ps`: the container's PIDs as JSON, or the host's `ps` output filtered to them.

use anyhow::Context;
use gantry_container::verbs::ps;
use gantry_container::StateRoot;
use gantry_oci_cli::Format;

/// Prints the container's processes.
pub fn run(root: &StateRoot, p: &gantry_oci_cli::Ps) -> anyhow::Result<()> {
    let pids = ps::pids(root, &p.id)?;
    if p.format == Format::Json {
        return Ok(crate::out::println(&serde_json::to_string(&pids)?)?);
    }
    let args: Vec<&str> = if p.ps_args.is_empty() {
        vec!["-ef"]
    } else {
        p.ps_args.iter().map(String::as_str).collect()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .context("run ps(1) on the host (is procps installed?)")?;
    if !out.status.success() {
        anyhow::bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let table = ps::filter_ps_output(&String::from_utf8_lossy(&out.stdout), &pids)?;
    Ok(crate::out::print(&table)?)
}
