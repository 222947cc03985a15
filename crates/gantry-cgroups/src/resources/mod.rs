//! Applying `linux.resources` (OCI runtime spec, "Control groups") to a cgroup: one module per controller.
//!
//! Only what the spec sets is written; a field on a controller the host lacks is an error naming the field and the
//! controller; out-of-range values are errors naming the field. v1 values are converted for v2 as runc does.

mod blkio;
mod cpu;
mod devices;
mod hugetlb;
mod memory;
mod network;
mod pids;
mod rdma;
pub(crate) mod target;
mod unified;

pub use blkio::blkio_weight_to_io_weight;
pub use cpu::shares_to_weight;
pub use devices::program::device_filter;
pub use devices::rules::{DeviceKind, DeviceRule, ACCESS_MKNOD, ACCESS_READ, ACCESS_WRITE};

use crate::cgroup::Cgroup;
use crate::error::CgroupError;
use oci_spec::runtime::LinuxResources;

impl Cgroup {
    /// Applies every field of `resources` that is set, in the order devices, memory, cpu, cpuset, pids, block I/O,
    /// hugepages, network, RDMA, then the v2 `unified` map (so it can override the others). Used both at `create`
    /// and by `update`; fields that are not set are not touched.
    pub fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(rules) = resources.devices() {
            devices::apply(self, rules)?;
        }
        if let Some(memory) = resources.memory() {
            memory::apply(self, memory)?;
        }
        if let Some(cpu) = resources.cpu() {
            cpu::apply(self, cpu)?;
        }
        if let Some(pids) = resources.pids() {
            pids::apply(self, pids)?;
        }
        if let Some(block_io) = resources.block_io() {
            blkio::apply(self, block_io)?;
        }
        if let Some(limits) = resources.hugepage_limits() {
            hugetlb::apply(self, limits)?;
        }
        if let Some(network) = resources.network() {
            network::apply(self, network)?;
        }
        if let Some(rdma) = resources.rdma() {
            rdma::apply(self, rdma)?;
        }
        if let Some(unified) = resources.unified() {
            unified::apply(self, unified)?;
        }
        if let Some(unit) = self.systemd_unit() {
            crate::systemd::set_limits(unit, resources)?;
        }
        Ok(())
    }
}
