//! `features` (runtime-spec features.md): exactly what this build supports.

use gantry_spec::features::{
    CgroupFeatures, IntelRdtFeatures, SeccompFeatures, ALL_MEMORY_POLICY_FLAGS,
    ALL_MEMORY_POLICY_MODES,
};
use gantry_spec::Features;

/// Mount options `mounts[].options` understands.
const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "idmap",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "private",
    "rbind",
    "rdev",
    "relatime",
    "remount",
    "rexec",
    "ridmap",
    "rnodev",
    "rnoexec",
    "rnosuid",
    "ro",
    "rprivate",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rsuid",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "sync",
    "unbindable",
];

/// Prints the features document.
pub fn run() -> anyhow::Result<()> {
    let f = Features::builder()
        .namespaces(gantry_spec::features::ALL_NAMESPACES.iter().copied())
        .mount_options(MOUNT_OPTIONS.iter().copied())
        .cgroup(CgroupFeatures {
            v1: true,
            v2: true,
            systemd: true,
            systemd_user: false,
            rdma: false,
        })
        .seccomp(seccomp())
        // The LSMs as this host has them (a profile or label is refused where they are absent); Intel RDT
        // groups are not implemented (nor 1.3's schemata and enableMonitoring); id-mapped bind mounts are
        // (mount_setattr, Linux 5.12+); every 1.3 memory policy mode and flag is (set_mempolicy); so are
        // netDevices (rtnetlink).
        .apparmor(gantry_container::apparmor_enabled())
        .selinux(gantry_container::selinux_enabled())
        .memory_policy(
            ALL_MEMORY_POLICY_MODES.iter().copied(),
            ALL_MEMORY_POLICY_FLAGS.iter().copied(),
        )
        .intel_rdt(IntelRdtFeatures::default())
        .idmap_mounts(true)
        .net_devices(true)
        .build();
    Ok(crate::out::println(&f.to_json())?)
}

/// What this libseccomp and kernel support, as the features document spells it.
fn seccomp() -> SeccompFeatures {
    let s = gantry_security::seccomp::support();
    SeccompFeatures {
        enabled: s.enabled,
        actions: Some(s.actions),
        operators: Some(s.operators),
        archs: Some(s.archs),
        known_flags: Some(s.known_flags),
        supported_flags: Some(s.supported_flags),
    }
}
