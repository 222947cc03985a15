//! `linux.devices`: config-linux.md "Devices".
//!
//! - `type` MUST be one of c, b, u, p ("a" exists only for cgroup device rules).
//! - `path` is the "full path to device inside container": must be absolute. The spec says it
//!   "MAY be anywhere in the container filesystem, notably outside of /dev", so unlike what one
//!   might expect we do not require /dev; `..` components are refused (they would only obscure
//!   where the node lands). Duplicate paths are refused: the second mknod would fail with EEXIST
//!   or silently replace the first.

use oci_spec::runtime::{Linux, LinuxDeviceType};

use super::paths;
use crate::{Problem, SpecError};

pub(super) fn check(linux: &Linux) -> Result<(), SpecError> {
    check_cgroup_rules(linux)?;
    let Some(devices) = linux.devices() else {
        return Ok(());
    };
    for (i, d) in devices.iter().enumerate() {
        if d.typ() == LinuxDeviceType::A {
            return Err(SpecError::invalid(
                format!("linux.devices[{i}].type"),
                Problem::BadDeviceType { found: "a" },
            ));
        }
        let field = || format!("linux.devices[{i}].path");
        paths::absolute(field, d.path())?;
        paths::no_dotdot(field, d.path())?;
        if let Some(j) = devices[..i].iter().position(|p| p.path() == d.path()) {
            return Err(SpecError::invalid(
                field(),
                Problem::DuplicateDevice {
                    first: format!("linux.devices[{j}]"),
                },
            ));
        }
    }
    Ok(())
}

/// config-linux.md "Allowed Device List": `type` is a (all), c or b; `access` "a composition of
/// r (read), w (write), and m (mknod)". A `u`/`p` rule or another letter could not be written to
/// devices.allow (v1) nor compiled into the eBPF program (v2).
fn check_cgroup_rules(linux: &Linux) -> Result<(), SpecError> {
    let rules = linux
        .resources()
        .as_ref()
        .and_then(|r| r.devices().as_deref())
        .unwrap_or(&[]);
    for (i, rule) in rules.iter().enumerate() {
        match rule.typ() {
            Some(LinuxDeviceType::U) | Some(LinuxDeviceType::P) => {
                return Err(SpecError::invalid(
                    format!("linux.resources.devices[{i}].type"),
                    Problem::BadCgroupDeviceType,
                ))
            }
            _ => {}
        }
        if let Some(access) = rule.access() {
            if !access.bytes().all(|b| matches!(b, b'r' | b'w' | b'm')) {
                return Err(SpecError::invalid(
                    format!("linux.resources.devices[{i}].access"),
                    Problem::BadDeviceAccess {
                        found: access.clone(),
                    },
                ));
            }
        }
    }
    Ok(())
}
