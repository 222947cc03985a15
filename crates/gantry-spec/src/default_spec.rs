//! The spec `gantry-runtime spec [--rootless]` writes: runc 1.1's `runc spec` template, field for
//! field, except `ociVersion` (we implement and declare 1.3.0; runc 1.1 writes "1.0.2-dev").

use std::collections::HashSet;
use std::path::PathBuf;

use oci_spec::runtime::{
    Capability, Linux, LinuxCapabilities, LinuxDeviceCgroup, LinuxIdMapping, LinuxIdMappingBuilder,
    LinuxNamespace, LinuxNamespaceType, LinuxResources, Mount, PosixRlimitBuilder, PosixRlimitType,
    Process, Root, Spec, User,
};

/// The runtime-spec version this runtime implements and writes.
pub const OCI_VERSION: &str = "1.3.0";

/// The default config.json: a shell in a read-only `rootfs`, like `runc spec`.
///
/// `rootless` gives `runc spec --rootless`'s variant: a user namespace mapping the caller's
/// effective uid/gid to root, no network namespace (an unprivileged user could not configure
/// one), sysfs bind-mounted from the host (sysfs cannot be mounted without owning a network
/// namespace), no `gid=5` on devpts (group 5 is unmapped) and no cgroup resources.
/// runc 1.1.5 keeps the read-only `/sys/fs/cgroup` mount in the rootless template, so we do too.
pub fn default_spec(rootless: bool) -> Spec {
    let mut spec = Spec::default();
    spec.set_version(OCI_VERSION.to_owned());
    spec.set_process(Some(process()));
    let mut root = Root::default();
    root.set_path(PathBuf::from("rootfs"));
    root.set_readonly(Some(true));
    spec.set_root(Some(root));
    spec.set_hostname(Some("runc".to_owned()));
    spec.set_mounts(Some(mounts(rootless)));
    spec.set_linux(Some(linux(rootless)));
    spec.set_annotations(None);
    spec.set_domainname(None);
    spec.set_hooks(None);
    spec
}

fn process() -> Process {
    let mut p = Process::default();
    p.set_terminal(Some(true));
    p.set_user(User::default());
    p.set_args(Some(vec!["sh".to_owned()]));
    p.set_env(Some(vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        "TERM=xterm".to_owned(),
    ]));
    p.set_cwd(PathBuf::from("/"));
    let caps: HashSet<Capability> = [
        Capability::AuditWrite,
        Capability::Kill,
        Capability::NetBindService,
    ]
    .into_iter()
    .collect();
    let mut c = LinuxCapabilities::default();
    c.set_bounding(Some(caps.clone()));
    c.set_effective(Some(caps.clone()));
    c.set_inheritable(None); // runc leaves the inheritable set empty
    c.set_permitted(Some(caps.clone()));
    c.set_ambient(Some(caps));
    p.set_capabilities(Some(c));
    // These builders have a default for every field, so build() cannot fail (and the
    // fixture test against runc's output would catch a wrong value).
    let nofile = PosixRlimitBuilder::default()
        .typ(PosixRlimitType::RlimitNofile)
        .hard(1024u64)
        .soft(1024u64)
        .build()
        .unwrap_or_default();
    p.set_rlimits(Some(vec![nofile]));
    p.set_no_new_privileges(Some(true));
    p.set_apparmor_profile(None);
    p.set_selinux_label(None);
    p.set_scheduler(None);
    p.set_io_priority(None);
    p.set_exec_cpu_affinity(None);
    p
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(dest));
    m.set_typ(Some(typ.to_owned()));
    m.set_source(Some(PathBuf::from(source)));
    if !options.is_empty() {
        m.set_options(Some(options.iter().map(|o| (*o).to_owned()).collect()));
    }
    m
}

fn mounts(rootless: bool) -> Vec<Mount> {
    let devpts: &[&str] = if rootless {
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
        ]
    } else {
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]
    };
    let sys = if rootless {
        mount(
            "/sys",
            "none",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        )
    } else {
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )
    };
    vec![
        mount("/proc", "proc", "proc", &[]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount("/dev/pts", "devpts", "devpts", devpts),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        sys,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        ),
    ]
}

fn namespace(typ: LinuxNamespaceType) -> LinuxNamespace {
    let mut ns = LinuxNamespace::default();
    ns.set_typ(typ);
    ns
}

fn id_map(host: u32) -> LinuxIdMapping {
    LinuxIdMappingBuilder::default()
        .container_id(0u32)
        .host_id(host)
        .size(1u32)
        .build()
        .unwrap_or_default()
}

fn linux(rootless: bool) -> Linux {
    use LinuxNamespaceType::*;
    let mut l = Linux::default();
    let types: &[LinuxNamespaceType] = if rootless {
        &[Pid, Ipc, Uts, Mount, User]
    } else {
        &[Pid, Network, Ipc, Uts, Mount]
    };
    l.set_namespaces(Some(types.iter().map(|t| namespace(*t)).collect()));
    if rootless {
        l.set_uid_mappings(Some(vec![id_map(rustix::process::geteuid().as_raw())]));
        l.set_gid_mappings(Some(vec![id_map(rustix::process::getegid().as_raw())]));
        l.set_resources(None);
    } else {
        // Deny every device; the runtime then allows the default set (null, zero, tty, ...).
        let mut deny_all = LinuxDeviceCgroup::default();
        deny_all.set_allow(false);
        deny_all.set_access(Some("rwm".to_owned()));
        let mut r = LinuxResources::default();
        r.set_devices(Some(vec![deny_all]));
        l.set_resources(Some(r));
    }
    l.set_masked_paths(Some(
        [
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi",
        ]
        .map(str::to_owned)
        .to_vec(),
    ));
    l.set_readonly_paths(Some(
        [
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger",
        ]
        .map(str::to_owned)
        .to_vec(),
    ));
    l
}
