//! The systemd cgroup driver (`--systemd-cgroup`): a container's cgroup is a transient scope unit that systemd
//! creates over D-Bus, in the slice `linux.cgroupsPath` names (`slice:prefix:name`, see [`ScopePath`]).
//!
//! As runc does, the scope is started with the container's init as its only PID and `Delegate=yes`; the runtime
//! then writes `linux.resources` into the scope's cgroup directly (v2 files), and `delete` stops the unit and
//! removes nothing itself. Every D-Bus exchange runs in a short-lived child process
//! ([`gantry_sys::helper::run_in_child`]), so no D-Bus thread is ever alive in the runtime. Only pure cgroup v2
//! hosts are supported.

mod dbus;
mod props;
mod unit_path;

use std::path::Path;
use std::time::Duration;

pub use unit_path::{ScopePath, DEFAULT_PREFIX, DEFAULT_SLICE};

use crate::error::CgroupError;

/// How long a D-Bus exchange with systemd (including its job) may take.
const DBUS_TIMEOUT: Duration = Duration::from_secs(30);

/// Checks that the systemd cgroup driver can be used here: systemd is PID 1 (`/run/systemd/system` exists).
pub fn systemd_driver() -> Result<(), CgroupError> {
    systemd_driver_at(Path::new("/run/systemd/system"))
}

fn systemd_driver_at(marker: &Path) -> Result<(), CgroupError> {
    if marker.is_dir() {
        Ok(())
    } else {
        Err(CgroupError::SystemdNotRunning)
    }
}

fn in_child(
    unit: &str,
    action: &'static str,
    f: impl FnOnce() -> Result<(), String>,
) -> Result<(), CgroupError> {
    let failed = |reason: String| CgroupError::Systemd {
        unit: unit.to_owned(),
        action,
        reason,
    };
    match gantry_sys::helper::run_in_child(f, DBUS_TIMEOUT) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(failed(reason)),
        Err(e) => Err(failed(format!("D-Bus helper process: {e}"))),
    }
}

/// Starts the transient scope for `scope` holding `pid` and waits until systemd has made it.
pub fn start_scope(scope: &ScopePath, pid: i32, container_id: &str) -> Result<(), CgroupError> {
    let description = format!("gantry container {container_id}");
    in_child(&scope.unit, "start", || {
        dbus::start_scope(&scope.unit, &scope.slice, pid as u32, &description)
    })
}

/// Records the limits of `resources` that systemd manages itself (`MemoryMax`, `TasksMax`) as properties of `unit`,
/// so systemd keeps them when it re-applies the unit's settings.
pub fn set_limits(
    unit: &str,
    resources: &oci_spec::runtime::LinuxResources,
) -> Result<(), CgroupError> {
    let props = props::unit_limits(resources);
    if props.is_empty() {
        return Ok(());
    }
    in_child(unit, "set limits of", || dbus::set_properties(unit, &props))
}

/// Stops the unit `unit` and waits until it is gone (already gone is fine).
pub fn stop_unit(unit: &str) -> Result<(), CgroupError> {
    in_child(unit, "stop", || dbus::stop_unit(unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_systemd() {
        let tmp = tempfile::tempdir().unwrap();
        let err = systemd_driver_at(&tmp.path().join("absent")).unwrap_err();
        assert!(err.to_string().starts_with(
            "systemd cgroup driver requested but systemd is not running (no /run/systemd/system)"
        ));
        assert!(systemd_driver_at(tmp.path()).is_ok());
    }
}
