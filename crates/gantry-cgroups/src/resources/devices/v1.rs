//! Device rules on cgroup v1: `devices.deny` / `devices.allow`, one rule per write.

use super::program::{DeviceKind, DeviceRule};
use crate::error::CgroupError;
use crate::fsutil;
use std::path::Path;

/// Writes the rules in order. Unless the first rule already resets the list (`a` rule), access is first reset to
/// "deny everything" so v1 enforces the same policy as the v2 program: denied unless a rule allows it.
pub(super) fn apply(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let allow = dir.join("devices.allow");
    let deny = dir.join("devices.deny");
    let resets = rules
        .first()
        .is_some_and(|r| r.kind == DeviceKind::All && r.major.is_none() && r.minor.is_none());
    if !resets {
        write(&deny, "a", "linux.resources.devices")?;
    }
    for (index, rule) in rules.iter().enumerate() {
        let file = if rule.allow { &allow } else { &deny };
        let line = if rule.kind == DeviceKind::All && rule.major.is_none() && rule.minor.is_none() {
            "a".to_owned()
        } else {
            rule.v1_line()
        };
        write(file, &line, &format!("linux.resources.devices[{index}]"))?;
    }
    Ok(())
}

fn write(file: &Path, line: &str, field: &str) -> Result<(), CgroupError> {
    fsutil::write(file, line.as_bytes()).map_err(|source| CgroupError::Write {
        field: field.to_owned(),
        path: file.to_owned(),
        value: line.to_owned(),
        source,
    })
}
