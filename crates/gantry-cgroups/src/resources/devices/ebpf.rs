//! Device rules on cgroup v2: load the generated program and attach it to the container's cgroup, replacing the
//! program a previous `apply` attached.

use super::program::device_filter;
use super::rules::DeviceRule;
use crate::error::CgroupError;
use gantry_sys::bpf;
use rustix::fs::{open, Mode, OFlags};
use std::os::fd::AsFd;
use std::path::Path;

/// Loads and attaches (with `BPF_F_ALLOW_MULTI`) the filter for `rules` to `dir`, then detaches the device
/// programs that were attached to `dir` before, so an update never leaves a window without a filter.
pub(super) fn apply(dir: &Path, rules: &[(usize, DeviceRule)]) -> Result<(), CgroupError> {
    let rules: Vec<DeviceRule> = rules.iter().map(|(_, r)| *r).collect();
    let bpf_err = |op: &'static str| {
        move |source| CgroupError::Bpf {
            op,
            path: dir.to_owned(),
            source,
        }
    };
    let program = device_filter(&rules);
    let prog = bpf::prog_load_cgroup_device(&program, c"Apache-2.0").map_err(bpf_err("load"))?;
    let cgroup = open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| CgroupError::io("open", dir, e.into()))?;
    let old =
        bpf::prog_query(cgroup.as_fd(), bpf::ATTACH_CGROUP_DEVICE).map_err(bpf_err("query"))?;
    bpf::prog_attach(
        cgroup.as_fd(),
        prog.as_fd(),
        bpf::ATTACH_CGROUP_DEVICE,
        bpf::F_ALLOW_MULTI,
    )
    .map_err(bpf_err("attach"))?;
    for id in old {
        let old_prog = bpf::prog_get_fd_by_id(id).map_err(bpf_err("open old program"))?;
        bpf::prog_detach(cgroup.as_fd(), old_prog.as_fd(), bpf::ATTACH_CGROUP_DEVICE)
            .map_err(bpf_err("detach"))?;
    }
    Ok(())
}
