//! Device rules on cgroup v1: `devices.deny` / `devices.allow`, one rule per write.

use super::rules::DeviceRule;
use crate::error::CgroupError;
use crate::fsutil;
use std::path::Path;

/// Writes the rules in order, the kernel doing what the emulator models. Unless the first rule is a reset (`a`),
/// the controller is first reset to "deny everything", the starting point the v2 program assumes too.
pub(super) fn apply(dir: &Path, rules: &[(usize, DeviceRule)]) -> Result<(), CgroupError> {
    let allow = dir.join("devices.allow");
    let deny = dir.join("devices.deny");
    if !rules.first().is_some_and(|(_, r)| r.is_reset()) {
        write(&deny, "a", "linux.resources.devices")?;
    }
    for (index, rule) in rules {
        let file = if rule.allow { &allow } else { &deny };
        write(
            file,
            &rule.v1_line(),
            &format!("linux.resources.devices[{index}]"),
        )?;
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
