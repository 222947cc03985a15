//! Capability names and numbers: the spec's enum, the `caps` crate's enum, user-typed names and the kernel's
//! last capability.

use crate::SecurityError;
use caps::Capability;
use oci_spec::runtime::Capability as Oci;
use std::path::Path;
use std::str::FromStr;

/// Where the running kernel publishes its highest capability number.
pub const CAP_LAST_CAP_PATH: &str = "/proc/sys/kernel/cap_last_cap";

/// Every capability the `caps` crate names, indexed by capability number.
const BY_INDEX: [Capability; 41] = [
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_DAC_READ_SEARCH,
    Capability::CAP_FOWNER,
    Capability::CAP_FSETID,
    Capability::CAP_KILL,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETPCAP,
    Capability::CAP_LINUX_IMMUTABLE,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_NET_BROADCAST,
    Capability::CAP_NET_ADMIN,
    Capability::CAP_NET_RAW,
    Capability::CAP_IPC_LOCK,
    Capability::CAP_IPC_OWNER,
    Capability::CAP_SYS_MODULE,
    Capability::CAP_SYS_RAWIO,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_SYS_PTRACE,
    Capability::CAP_SYS_PACCT,
    Capability::CAP_SYS_ADMIN,
    Capability::CAP_SYS_BOOT,
    Capability::CAP_SYS_NICE,
    Capability::CAP_SYS_RESOURCE,
    Capability::CAP_SYS_TIME,
    Capability::CAP_SYS_TTY_CONFIG,
    Capability::CAP_MKNOD,
    Capability::CAP_LEASE,
    Capability::CAP_AUDIT_WRITE,
    Capability::CAP_AUDIT_CONTROL,
    Capability::CAP_SETFCAP,
    Capability::CAP_MAC_OVERRIDE,
    Capability::CAP_MAC_ADMIN,
    Capability::CAP_SYSLOG,
    Capability::CAP_WAKE_ALARM,
    Capability::CAP_BLOCK_SUSPEND,
    Capability::CAP_AUDIT_READ,
    Capability::CAP_PERFMON,
    Capability::CAP_BPF,
    Capability::CAP_CHECKPOINT_RESTORE,
];

/// The named capability with number `index`, if the `caps` crate knows it.
pub(crate) fn by_index(index: u8) -> Option<Capability> {
    BY_INDEX.get(usize::from(index)).copied()
}

/// The `caps` capability for a capability of the OCI spec types (`oci_spec::runtime::Capability`).
pub fn from_oci(c: Oci) -> Capability {
    match c {
        Oci::AuditControl => Capability::CAP_AUDIT_CONTROL,
        Oci::AuditRead => Capability::CAP_AUDIT_READ,
        Oci::AuditWrite => Capability::CAP_AUDIT_WRITE,
        Oci::BlockSuspend => Capability::CAP_BLOCK_SUSPEND,
        Oci::Bpf => Capability::CAP_BPF,
        Oci::CheckpointRestore => Capability::CAP_CHECKPOINT_RESTORE,
        Oci::Chown => Capability::CAP_CHOWN,
        Oci::DacOverride => Capability::CAP_DAC_OVERRIDE,
        Oci::DacReadSearch => Capability::CAP_DAC_READ_SEARCH,
        Oci::Fowner => Capability::CAP_FOWNER,
        Oci::Fsetid => Capability::CAP_FSETID,
        Oci::IpcLock => Capability::CAP_IPC_LOCK,
        Oci::IpcOwner => Capability::CAP_IPC_OWNER,
        Oci::Kill => Capability::CAP_KILL,
        Oci::Lease => Capability::CAP_LEASE,
        Oci::LinuxImmutable => Capability::CAP_LINUX_IMMUTABLE,
        Oci::MacAdmin => Capability::CAP_MAC_ADMIN,
        Oci::MacOverride => Capability::CAP_MAC_OVERRIDE,
        Oci::Mknod => Capability::CAP_MKNOD,
        Oci::NetAdmin => Capability::CAP_NET_ADMIN,
        Oci::NetBindService => Capability::CAP_NET_BIND_SERVICE,
        Oci::NetBroadcast => Capability::CAP_NET_BROADCAST,
        Oci::NetRaw => Capability::CAP_NET_RAW,
        Oci::Perfmon => Capability::CAP_PERFMON,
        Oci::Setgid => Capability::CAP_SETGID,
        Oci::Setfcap => Capability::CAP_SETFCAP,
        Oci::Setpcap => Capability::CAP_SETPCAP,
        Oci::Setuid => Capability::CAP_SETUID,
        Oci::SysAdmin => Capability::CAP_SYS_ADMIN,
        Oci::SysBoot => Capability::CAP_SYS_BOOT,
        Oci::SysChroot => Capability::CAP_SYS_CHROOT,
        Oci::SysModule => Capability::CAP_SYS_MODULE,
        Oci::SysNice => Capability::CAP_SYS_NICE,
        Oci::SysPacct => Capability::CAP_SYS_PACCT,
        Oci::SysPtrace => Capability::CAP_SYS_PTRACE,
        Oci::SysRawio => Capability::CAP_SYS_RAWIO,
        Oci::SysResource => Capability::CAP_SYS_RESOURCE,
        Oci::SysTime => Capability::CAP_SYS_TIME,
        Oci::SysTtyConfig => Capability::CAP_SYS_TTY_CONFIG,
        Oci::Syslog => Capability::CAP_SYSLOG,
        Oci::WakeAlarm => Capability::CAP_WAKE_ALARM,
    }
}

/// Parses a capability name typed by a user (`exec --cap`, a raw JSON value) exactly as the spec types read
/// `config.json`: case-insensitive, with or without (repeated) `CAP_` prefixes.
///
/// # Errors
/// [`SecurityError::UnknownCapability`] naming `field` and the name as given.
pub fn parse_name(field: &str, name: &str) -> Result<Capability, SecurityError> {
    let unknown = || SecurityError::UnknownCapability {
        field: field.to_owned(),
        name: name.to_owned(),
    };
    let upper = name.to_ascii_uppercase();
    let mut bare = upper.as_str();
    while let Some(rest) = bare.strip_prefix("CAP_") {
        bare = rest;
    }
    if bare.is_empty() {
        return Err(unknown());
    }
    Capability::from_str(&format!("CAP_{bare}")).map_err(|_| unknown())
}

/// Checks the capability names of a raw `process.capabilities` JSON object (from `config.json` or an exec
/// `process.json`) before it is deserialized, so an unknown name is reported with its set:
/// `process.capabilities.bounding: unknown capability "CAP_FOO"`.
///
/// Fields other than the five sets, and values that are not arrays of strings, are left to the deserializer.
///
/// # Errors
/// [`SecurityError::UnknownCapability`] for the first unknown name.
pub fn check_json(capabilities: &serde_json::Value) -> Result<(), SecurityError> {
    for kind in super::CapSetKind::ALL {
        let key = kind.field().rsplit('.').next().unwrap_or_default();
        let Some(list) = capabilities.get(key).and_then(serde_json::Value::as_array) else {
            continue;
        };
        for name in list.iter().filter_map(serde_json::Value::as_str) {
            parse_name(kind.field(), name)?;
        }
    }
    Ok(())
}

/// Reads the running kernel's last capability number from [`CAP_LAST_CAP_PATH`].
///
/// # Errors
/// [`SecurityError::LastCap`] if the file is missing or does not hold a number.
pub fn read_last_cap() -> Result<u8, SecurityError> {
    read_last_cap_from(Path::new(CAP_LAST_CAP_PATH))
}

/// Reads a kernel's last capability number from `path` (a `cap_last_cap` file; tests pass a temp file).
///
/// # Errors
/// [`SecurityError::LastCap`] if the file cannot be read or does not hold a number in 0..=63.
pub fn read_last_cap_from(path: &Path) -> Result<u8, SecurityError> {
    let err = |reason: String| SecurityError::LastCap {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    match text.trim().parse::<u8>() {
        Ok(n) if n < 64 => Ok(n),
        _ => Err(err(format!(
            "{:?} is not a capability number (0-63)",
            text.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_capability_number() {
        for (i, cap) in BY_INDEX.iter().enumerate() {
            assert_eq!(usize::from(cap.index()), i, "{cap}");
        }
        assert_eq!(by_index(41), None);
    }

    #[test]
    fn every_oci_capability_maps_to_the_same_name() {
        let all: oci_spec::runtime::Capabilities = serde_json::from_str(
            &serde_json::to_string(&BY_INDEX.iter().map(|c| c.to_string()).collect::<Vec<_>>())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(all.len(), 41);
        for oci in all {
            let json = serde_json::to_string(&oci).unwrap();
            assert_eq!(json.trim_matches('"'), from_oci(oci).to_string());
        }
    }

    #[test]
    fn names_parse_like_the_spec_types() {
        assert_eq!(
            parse_name("f", "CAP_SYS_ADMIN").unwrap(),
            Capability::CAP_SYS_ADMIN
        );
        assert_eq!(
            parse_name("f", "sys_admin").unwrap(),
            Capability::CAP_SYS_ADMIN
        );
        assert_eq!(
            parse_name("f", "cap_net_raw").unwrap(),
            Capability::CAP_NET_RAW
        );
        // Repeated prefixes are accepted, as oci-spec's deserializer does.
        assert_eq!(
            parse_name("f", "CAP_CAP_CHOWN").unwrap(),
            Capability::CAP_CHOWN
        );
        for bad in ["CAP_FOO", "", "CAP_", "CHOWN2", " CAP_CHOWN"] {
            let e = parse_name("exec --cap", bad).unwrap_err();
            assert_eq!(
                e.to_string().split(" (").next().unwrap(),
                format!("exec --cap: unknown capability {bad:?}")
            );
        }
    }

    #[test]
    fn raw_json_names_are_checked_with_their_set() {
        let ok = serde_json::json!({"bounding": ["CAP_CHOWN", "kill"], "ambient": [], "other": 1});
        check_json(&ok).unwrap();
        let bad =
            serde_json::json!({"bounding": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN", "CAP_FOO"]});
        assert_eq!(
            check_json(&bad)
                .unwrap_err()
                .to_string()
                .split(" (")
                .next()
                .unwrap(),
            "process.capabilities.permitted: unknown capability \"CAP_FOO\""
        );
        // Whatever check_json accepts, the spec types accept too.
        let parsed: oci_spec::runtime::LinuxCapabilities = serde_json::from_value(ok).unwrap();
        assert_eq!(parsed.bounding().as_ref().unwrap().len(), 2);
    }

    #[test]
    fn last_cap_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cap_last_cap");
        std::fs::write(&p, "40\n").unwrap();
        assert_eq!(read_last_cap_from(&p).unwrap(), 40);
        std::fs::write(&p, "x").unwrap();
        assert!(read_last_cap_from(&p)
            .unwrap_err()
            .to_string()
            .contains("\"x\" is not a capability number"));
        std::fs::write(&p, "64").unwrap();
        assert!(read_last_cap_from(&p).is_err());
        assert!(read_last_cap_from(&dir.path().join("missing")).is_err());
        // The running kernel: at least CAP_AUDIT_READ (Linux 3.16).
        assert!(read_last_cap().unwrap() >= 37);
    }
}
