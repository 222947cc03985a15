//! `update`: `--resources FILE|-` or runc's per-field flags, applied to the container's cgroup.

use std::io::Read;

use anyhow::{bail, Context};
use gantry_container::oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources,
};
use gantry_container::verbs::update;
use gantry_container::StateRoot;

/// Applies the new limits.
pub fn run(root: &StateRoot, u: &gantry_oci_cli::Update) -> anyhow::Result<()> {
    let resources = match &u.resources {
        Some(path) => {
            let mut bytes = Vec::new();
            let source = path.display().to_string();
            if source == "-" {
                std::io::stdin()
                    .read_to_end(&mut bytes)
                    .context("read --resources from stdin")?;
            } else {
                bytes =
                    std::fs::read(path).with_context(|| format!("read --resources {source}"))?;
            }
            update::parse_resources(&bytes, &source)?
        }
        None => from_flags(u)?,
    };
    Ok(update::update(root, &u.id, &resources)?)
}

fn from_flags(u: &gantry_oci_cli::Update) -> anyhow::Result<LinuxResources> {
    let mut r = LinuxResources::default();
    if u.memory.is_some() || u.memory_reservation.is_some() || u.memory_swap.is_some() {
        let mut m = LinuxMemory::default();
        m.set_limit(u.memory);
        m.set_reservation(u.memory_reservation);
        m.set_swap(u.memory_swap);
        r.set_memory(Some(m));
    }
    let cpu_set = u.cpu_period.is_some()
        || u.cpu_quota.is_some()
        || u.cpu_share.is_some()
        || u.cpu_rt_period.is_some()
        || u.cpu_rt_runtime.is_some()
        || u.cpuset_cpus.is_some()
        || u.cpuset_mems.is_some();
    if cpu_set {
        let mut c = LinuxCpu::default();
        c.set_period(u.cpu_period);
        c.set_quota(u.cpu_quota);
        c.set_shares(u.cpu_share);
        c.set_realtime_period(u.cpu_rt_period);
        c.set_realtime_runtime(u.cpu_rt_runtime);
        c.set_cpus(u.cpuset_cpus.clone());
        c.set_mems(u.cpuset_mems.clone());
        r.set_cpu(Some(c));
    }
    if let Some(limit) = u.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(limit);
        r.set_pids(Some(p));
    }
    if let Some(w) = u.blkio_weight {
        let mut b = LinuxBlockIo::default();
        b.set_weight(Some(w));
        r.set_block_io(Some(b));
    }
    if r == LinuxResources::default() {
        bail!("update: nothing to change (give --resources FILE or a limit flag such as --memory)");
    }
    Ok(r)
}
