//! cgroup v1, hybrid and v2 management behind one interface; every controller takes a root directory.
//!
//! * [`Layout`] says which hierarchies exist and where ([`Layout::detect`] reads `/proc/self/mountinfo` once).
//! * [`Cgroup::resolve`] turns `linux.cgroupsPath` into one directory per hierarchy (pure); the result is
//!   serializable and stored in the container's state so later verbs act on exactly the same directories.
//! * [`Cgroup`]'s methods create, populate, freeze, signal and remove it, apply `linux.resources`, and read stats.
//!
//! Because every path comes from the [`Layout`], all of it is testable on a temporary directory posing as cgroupfs.
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
mod stats;
mod systemd;

pub use cgroup::Cgroup;
pub use error::CgroupError;
pub use layout::{Layout, Mode, V1Hierarchy};
pub use oom::{OomEvent, OomNotifier};
pub use path::DEFAULT_PARENT;
pub use resources::{
    device_filter, DeviceKind, DeviceRule, ACCESS_MKNOD, ACCESS_READ, ACCESS_WRITE,
};
pub use stats::{CpuStats, MemoryStats, PidsStats, Stats};
pub use systemd::systemd_driver;

#[cfg(test)]
mod membership_tests;
#[cfg(test)]
mod testutil;
