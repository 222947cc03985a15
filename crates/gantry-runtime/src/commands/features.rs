//! `features` (runtime-spec features.md): exactly what this build supports.

use gantry_spec::features::CgroupFeatures;
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
        .namespaces([
            "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
        ])
        .mount_options(MOUNT_OPTIONS.iter().copied())
        .cgroup(CgroupFeatures {
            v1: true,
            v2: true,
            systemd: false,
            systemd_user: false,
            rdma: false,
        })
        .apparmor(false)
        .selinux(false)
        .intel_rdt(false)
        .idmap_mounts(false)
        .build();
    println!("{}", f.to_json());
    Ok(())
}
