//! The device cgroup rules a container really gets: the spec's `linux.resources.devices`, then allow rules for the
//! default devices every container has (config-linux.md "Default Devices", plus mknod, the pty multiplexer and
//! terminals, as runc allows), then one for each of `linux.devices` (as runc does: a node
//! the spec asks for is usable). Pure.

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

fn rule(
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(true);
    r.set_typ(Some(typ));
    r.set_major(major);
    r.set_minor(minor);
    r.set_access(Some(access.to_owned()));
    r
}

/// The allow rules every container gets.
pub fn default_allow() -> Vec<LinuxDeviceCgroup> {
    use LinuxDeviceType::{B, C};
    vec![
        rule(C, None, None, "m"),
        rule(B, None, None, "m"),
        rule(C, Some(1), Some(3), "rwm"), // /dev/null
        rule(C, Some(1), Some(5), "rwm"), // /dev/zero
        rule(C, Some(1), Some(7), "rwm"), // /dev/full
        rule(C, Some(1), Some(8), "rwm"), // /dev/random
        rule(C, Some(1), Some(9), "rwm"), // /dev/urandom
        rule(C, Some(5), Some(0), "rwm"), // /dev/tty
        rule(C, Some(5), Some(1), "rwm"), // /dev/console
        rule(C, Some(5), Some(2), "rwm"), // /dev/ptmx
        rule(C, Some(136), None, "rwm"),  // /dev/pts/*
    ]
}

/// `spec_rules`, then the default allow rules, then an allow rule per configured device.
pub fn effective(
    spec_rules: &[LinuxDeviceCgroup],
    devices: &[LinuxDevice],
) -> Vec<LinuxDeviceCgroup> {
    let mut out = spec_rules.to_vec();
    out.extend(default_allow());
    for d in devices {
        let typ = match d.typ() {
            LinuxDeviceType::U => LinuxDeviceType::C,
            t => t,
        };
        out.push(rule(typ, Some(d.major()), Some(d.minor()), "rwm"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_rules_come_first_then_defaults_then_devices() {
        let mut deny = LinuxDeviceCgroup::default();
        deny.set_allow(false);
        deny.set_access(Some("rwm".into()));
        let dev: LinuxDevice =
            serde_json::from_str(r#"{"path":"/dev/fuse","type":"c","major":10,"minor":229}"#)
                .unwrap();
        let rules = effective(&[deny], &[dev]);
        assert!(!rules[0].allow());
        assert!(rules[1..].iter().all(|r| r.allow()));
        let last = rules.last().unwrap();
        assert_eq!((last.major(), last.minor()), (Some(10), Some(229)));
        assert!(rules
            .iter()
            .any(|r| r.major() == Some(1) && r.minor() == Some(3)));
    }
}
