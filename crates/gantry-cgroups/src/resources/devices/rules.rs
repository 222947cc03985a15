//! Checked device rules (`linux.resources.devices` entries) and their v1 syntax.

use crate::error::CgroupError;
use crate::resources::target::invalid;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// Read access (`r`), as in `bpf_cgroup_dev_ctx.access_type >> 16`.
pub const ACCESS_READ: u8 = 2;
/// Write access (`w`).
pub const ACCESS_WRITE: u8 = 4;
/// mknod access (`m`).
pub const ACCESS_MKNOD: u8 = 1;
/// All three access bits.
pub(crate) const ACCESS_ALL: u8 = ACCESS_READ | ACCESS_WRITE | ACCESS_MKNOD;

/// Device kinds a rule can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// Every kind (`a`). Only in reset rules (no major, no minor): like the kernel's v1 `a`, such a rule sets the
    /// default for everything and forgets earlier rules, whatever its access says.
    All,
    /// Character devices (`c`, or `u`).
    Char,
    /// Block devices (`b`).
    Block,
}

/// One checked entry of `linux.resources.devices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    /// Allow (true) or deny (false).
    pub allow: bool,
    /// Which kind of device.
    pub kind: DeviceKind,
    /// Major number, `None` for any.
    pub major: Option<u32>,
    /// Minor number, `None` for any.
    pub minor: Option<u32>,
    /// Access bits ([`ACCESS_READ`] | [`ACCESS_WRITE`] | [`ACCESS_MKNOD`]), never empty.
    pub access: u8,
}

impl DeviceRule {
    /// Checks entry `index` of `linux.resources.devices`. FIFO rules (`p`) are not managed by the device
    /// controller and yield `None`; an empty access means `rwm`; major/minor `-1` or absent mean "any".
    pub fn from_spec(
        rule: &LinuxDeviceCgroup,
        index: usize,
    ) -> Result<Option<DeviceRule>, CgroupError> {
        let kind = match rule.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => DeviceKind::All,
            LinuxDeviceType::C | LinuxDeviceType::U => DeviceKind::Char,
            LinuxDeviceType::B => DeviceKind::Block,
            LinuxDeviceType::P => return Ok(None),
        };
        let number = |value: Option<i64>, name: &str| -> Result<Option<u32>, CgroupError> {
            match value {
                None | Some(-1) => Ok(None),
                // Device numbers fit easily in 31 bits (12-bit major, 20-bit minor); the program compares them as
                // sign-extended 32-bit immediates.
                Some(v) => i32::try_from(v)
                    .ok()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| {
                        invalid(
                            &format!("linux.resources.devices[{index}].{name}"),
                            format!("{v} is neither -1 nor a device number"),
                        )
                    }),
            }
        };
        let mut access = 0;
        for c in rule.access().as_deref().unwrap_or("rwm").bytes() {
            access |= match c {
                b'r' => ACCESS_READ,
                b'w' => ACCESS_WRITE,
                b'm' => ACCESS_MKNOD,
                _ => {
                    return Err(invalid(
                        &format!("linux.resources.devices[{index}].access"),
                        format!(
                            "{:?} may only contain r, w and m",
                            rule.access().as_deref().unwrap_or_default()
                        ),
                    ))
                }
            };
        }
        Ok(Some(DeviceRule {
            allow: rule.allow(),
            kind,
            major: number(rule.major(), "major")?,
            minor: number(rule.minor(), "minor")?,
            access: if access == 0 { ACCESS_ALL } else { access },
        }))
    }

    /// Whether this is a reset rule (`a`, any device): it sets the default and clears all earlier rules.
    pub fn is_reset(&self) -> bool {
        self.kind == DeviceKind::All
    }

    /// The rule in the syntax of v1 `devices.allow`/`devices.deny`, e.g. `c 1:3 rwm`, or `a` for a reset.
    pub fn v1_line(&self) -> String {
        if self.is_reset() {
            return "a".to_owned();
        }
        let kind = match self.kind {
            DeviceKind::All => 'a',
            DeviceKind::Char => 'c',
            DeviceKind::Block => 'b',
        };
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        let mut access = String::with_capacity(3);
        for (bit, c) in [(ACCESS_READ, 'r'), (ACCESS_WRITE, 'w'), (ACCESS_MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        format!("{kind} {}:{} {access}", num(self.major), num(self.minor))
    }
}

/// Checks every entry of `linux.resources.devices`, paired with its index: FIFO rules are dropped, and an `a` rule
/// naming a major or minor number becomes one `c` and one `b` rule (the kernel's v1 interface would otherwise read
/// it as a reset of everything).
pub(crate) fn parse_rules(
    rules: &[LinuxDeviceCgroup],
) -> Result<Vec<(usize, DeviceRule)>, CgroupError> {
    let mut out = Vec::with_capacity(rules.len());
    for (index, rule) in rules.iter().enumerate() {
        let Some(rule) = DeviceRule::from_spec(rule, index)? else {
            continue;
        };
        if rule.kind == DeviceKind::All && (rule.major.is_some() || rule.minor.is_some()) {
            out.push((
                index,
                DeviceRule {
                    kind: DeviceKind::Char,
                    ..rule
                },
            ));
            out.push((
                index,
                DeviceRule {
                    kind: DeviceKind::Block,
                    ..rule
                },
            ));
        } else {
            out.push((index, rule));
        }
    }
    Ok(out)
}
