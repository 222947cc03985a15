//! `linux.sysctl`: config-linux.md "Sysctl" lets a runtime set kernel parameters "for the
//! container"; one that is not isolated by a namespace the container owns would change the host.
//! Like runc's validator, only namespaced sysctls are allowed, each with its namespace private:
//! IPC (`kernel.msg*`, `kernel.sem`, `kernel.shm*`, `fs.mqueue.*`), network (`net.*`) and UTS
//! (`kernel.hostname`, `kernel.domainname`). Keys may use '.' or '/' separators (sysctl(8)).
//! Every part must be non-empty, which also rules out `..` tricks in the /proc/sys path.

use oci_spec::runtime::{Linux, LinuxNamespaceType};

use super::namespaces::Namespaces;
use crate::{Problem, SpecError};

const IPC_KEYS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

pub(super) fn check(linux: &Linux, ns: &Namespaces) -> Result<(), SpecError> {
    let Some(sysctl) = linux.sysctl() else {
        return Ok(());
    };
    for key in sysctl.keys() {
        check_key(key, ns)?;
    }
    Ok(())
}

fn check_key(key: &str, ns: &Namespaces) -> Result<(), SpecError> {
    let field = || format!("linux.sysctl[{key:?}]");
    if key.is_empty() || key.split(['.', '/']).any(str::is_empty) || key.contains('\0') {
        return Err(SpecError::invalid(
            field(),
            Problem::BadSysctlKey {
                key: key.to_owned(),
            },
        ));
    }
    let kind = namespace_of(key).ok_or_else(|| {
        SpecError::invalid(
            field(),
            Problem::SysctlNotNamespaced {
                key: key.to_owned(),
            },
        )
    })?;
    if !ns.private(kind) {
        return Err(SpecError::invalid(
            field(),
            Problem::SysctlNamespaceNotPrivate {
                key: key.to_owned(),
                kind: super::namespaces::json_name(kind),
            },
        ));
    }
    Ok(())
}

/// The namespace that isolates `key`, compared with '/' read as '.'.
fn namespace_of(key: &str) -> Option<LinuxNamespaceType> {
    let is = |want: &str| {
        want.len() == key.len()
            && want
                .bytes()
                .zip(key.bytes())
                .all(|(w, k)| w == k || (w == b'.' && k == b'/'))
    };
    let starts = |prefix: &str| key.len() > prefix.len() && is_prefix(prefix, key);
    if IPC_KEYS.iter().any(|k| is(k)) || starts("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if starts("net.") {
        Some(LinuxNamespaceType::Network)
    } else if is("kernel.hostname") || is("kernel.domainname") {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

fn is_prefix(prefix: &str, key: &str) -> bool {
    prefix
        .bytes()
        .zip(key.bytes())
        .all(|(p, k)| p == k || (p == b'.' && k == b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_keys() {
        assert_eq!(
            namespace_of("net.ipv4.ip_forward"),
            Some(LinuxNamespaceType::Network)
        );
        assert_eq!(
            namespace_of("net/ipv4/ip_forward"),
            Some(LinuxNamespaceType::Network)
        );
        assert_eq!(namespace_of("kernel.shmmax"), Some(LinuxNamespaceType::Ipc));
        assert_eq!(
            namespace_of("fs.mqueue.msg_max"),
            Some(LinuxNamespaceType::Ipc)
        );
        assert_eq!(
            namespace_of("kernel.hostname"),
            Some(LinuxNamespaceType::Uts)
        );
        assert_eq!(namespace_of("kernel.pid_max"), None);
        assert_eq!(namespace_of("vm.swappiness"), None);
        assert_eq!(namespace_of("net."), None);
        assert_eq!(namespace_of("kernel.shmmaxx"), None);
    }
}
