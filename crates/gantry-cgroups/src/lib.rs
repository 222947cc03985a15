//! cgroup v1, hybrid and v2 management behind one interface; every controller takes a root directory.
//!
//! * [`Layout`] says which hierarchies exist and where ([`Layout::detect`]: one `statfs` on a pure v2 host, `/proc/self/cgroup` and one `statfs` per hierarchy on v1 and hybrid hosts, `/proc/self/mountinfo` only where a hierarchy is not mounted where convention puts it).
//! * [`Cgroup::resolve`] turns `linux.cgroupsPath` into one directory per hierarchy (pure); the result is
//!   serializable and stored in the container's state so later verbs act on exactly the same directories.
//! * [`Cgroup`]'s methods create, populate, freeze, signal and remove it, apply `linux.resources`, and read stats.
//!
//! Because every path comes from the [`Layout`], all of it is testable on a temporary directory posing as cgroupfs.
//!
//! Decisions worth knowing:
//! * **Default path.** An empty or relative `linux.cgroupsPath` lands under [`DEFAULT_PARENT`] (`/gantry`) at the
//!   root of each hierarchy — unlike runc, never below the caller's own cgroup. The root cgroup itself and `..`
//!   components are refused.
//! * **Ownership.** [`Cgroup::create`] records, per hierarchy, which directories it made; the record is part of
//!   the serialized [`Cgroup`], and [`Cgroup::destroy`] removes exactly those (plus sub-cgroups of the leaf).
//! * **Hybrid hosts.** Controllers bound to v1 are driven through v1 files; the others (e.g. `hugetlb` here) through
//!   the unified hierarchy, which also receives every process.
//! * **Devices.** Starting from "deny everything", the rules act as on the kernel's v1 controller (an `a` rule
//!   resets the default, allows for one device merge, a rule agreeing with the default withdraws access from the
//!   identical entry). v1 writes `devices.deny`/`devices.allow`; v2 attaches an eBPF program generated from the
//!   same emulation ([`device_filter`]), so a container sees the same devices on both.
//! * **Errors** name the spec field (`linux.resources.memory.swap`) and, for a missing controller, which one.
#![forbid(unsafe_code)]

mod cgroup;
mod error;
mod freezer;
mod fsutil;
mod kill;
mod layout;
mod mountinfo;
mod oom;
pub mod path;
mod resources;
mod self_join;
mod stats;
pub mod systemd;

pub use cgroup::Cgroup;
pub use error::CgroupError;
pub use layout::{Layout, Mode, V1Hierarchy};
pub use oom::{OomEvent, OomNotifier};
pub use path::DEFAULT_PARENT;
pub use resources::{
    blkio_weight_to_io_weight, device_filter, shares_to_weight, DeviceKind, DeviceRule,
    ACCESS_MKNOD, ACCESS_READ, ACCESS_WRITE,
};
pub use self_join::SelfJoin;
pub use stats::{CpuStats, MemoryStats, PidsStats, Stats};
pub use systemd::{systemd_driver, ScopePath};

#[cfg(test)]
mod membership_tests;
#[cfg(test)]
mod testutil;
