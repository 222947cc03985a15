//! `process.apparmorProfile`, `process.selinuxLabel` and `linux.mountLabel` (config.md, config-linux.md): refused
//! before anything is created when the host lacks the LSM; otherwise written to the process's `attr/exec` right
//! before exec, through a procfs descriptor opened before any container mount exists and checked to be procfs
//! (CVE-2019-16884, CVE-2019-19921, CVE-2025-52881: the label must never be written through a path the container
//! controls, or it could be silently dropped or redirected).

use std::os::fd::{AsFd, OwnedFd};

use oci_spec::runtime::Process;
use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};

use super::fail::{invalid, Context, StepResult};

const PROC_SUPER_MAGIC: u64 = 0x9fa0;

/// Whether AppArmor is enabled on this host (`/sys/module/apparmor/parameters/enabled` is `Y`).
pub fn apparmor_enabled() -> bool {
    std::fs::read("/sys/module/apparmor/parameters/enabled").is_ok_and(|v| v.starts_with(b"Y"))
}

/// Whether SELinux is enabled on this host (selinuxfs is mounted at `/sys/fs/selinux`).
pub fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Refuses a label the host cannot apply: `process.apparmorProfile` without AppArmor, `process.selinuxLabel`
/// without SELinux. Returns the error message, naming the field.
pub fn check_process(p: &Process) -> Result<(), String> {
    if set(p.apparmor_profile()).is_some() && !apparmor_enabled() {
        return Err(
            "process.apparmorProfile: AppArmor is not enabled on this host (omit the profile)"
                .into(),
        );
    }
    if set(p.selinux_label()).is_some() && !selinux_enabled() {
        return Err(
            "process.selinuxLabel: SELinux is not enabled on this host (omit the label)".into(),
        );
    }
    Ok(())
}

/// Refuses `linux.mountLabel` where SELinux is not enabled.
pub fn check_mount_label(label: Option<&str>) -> Result<(), String> {
    if label.is_some_and(|l| !l.is_empty()) && !selinux_enabled() {
        return Err(
            "linux.mountLabel: SELinux is not enabled on this host (omit the label)".into(),
        );
    }
    Ok(())
}

/// The `context=` mount option for `linux.mountLabel` (quoted: SELinux contexts contain commas).
pub fn context_option(label: &str) -> String {
    format!("context=\"{label}\"")
}

/// `opts` with `context="<label>"` added to the filesystem data for `linux.mountLabel` (not for procfs and sysfs,
/// which take no context, as in runc). Only reached where SELinux is enabled ([`check_mount_label`]).
pub fn with_mount_label(
    mut opts: crate::rootfs::options::MountOptions,
    typ: &str,
    label: Option<&str>,
) -> crate::rootfs::options::MountOptions {
    if let Some(label) = label.filter(|l| !l.is_empty()) {
        if !matches!(typ, "proc" | "sysfs") {
            if !opts.data.is_empty() {
                opts.data.push(',');
            }
            opts.data.push_str(&context_option(label));
        }
    }
    opts
}

/// The process's own `attr` directory in a verified procfs, opened early (before the container's mounts) when the
/// process has a label to apply.
pub struct ExecAttr {
    dir: OwnedFd,
}

impl ExecAttr {
    /// Opens `/proc/thread-self/attr` if `p` carries an AppArmor profile or SELinux label; checks it is procfs.
    pub fn open(p: &Process) -> StepResult<Option<ExecAttr>> {
        if set(p.apparmor_profile()).is_none() && set(p.selinux_label()).is_none() {
            return Ok(None);
        }
        let what =
            || "process.apparmorProfile/selinuxLabel: open /proc/thread-self/attr".to_string();
        let dir = rfs::open(
            "/proc/thread-self/attr",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ctx(what)?;
        verify_procfs(dir.as_fd(), "/proc/thread-self/attr")?;
        Ok(Some(ExecAttr { dir }))
    }

    /// Writes the profile and label of `p` for the next exec.
    pub fn apply(&self, p: &Process) -> StepResult {
        if let Some(profile) = set(p.apparmor_profile()) {
            // Newer kernels have a per-LSM directory; older ones only the shared file.
            let fd = self
                .open_attr("apparmor/exec")
                .or_else(|_| self.open_attr("exec"))
                .ctx(|| format!("process.apparmorProfile {profile:?}: open attr/exec"))?;
            verify_procfs(fd.as_fd(), "attr/apparmor/exec")?;
            rustix::io::write(&fd, format!("exec {profile}").as_bytes()).ctx(|| {
                format!("process.apparmorProfile {profile:?}: the profile cannot be applied")
            })?;
        }
        if let Some(label) = set(p.selinux_label()) {
            let fd = self
                .open_attr("exec")
                .ctx(|| format!("process.selinuxLabel {label:?}: open attr/exec"))?;
            verify_procfs(fd.as_fd(), "attr/exec")?;
            rustix::io::write(&fd, label.as_bytes())
                .ctx(|| format!("process.selinuxLabel {label:?}: the label cannot be applied"))?;
        }
        Ok(())
    }

    fn open_attr(&self, rel: &str) -> rustix::io::Result<OwnedFd> {
        rfs::openat2(
            &self.dir,
            rel,
            OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_XDEV,
        )
    }
}

fn verify_procfs(fd: std::os::fd::BorrowedFd<'_>, path: &str) -> StepResult {
    let st = rfs::fstatfs(fd).ctx(|| format!("fstatfs {path}"))?;
    if st.f_type as u64 != PROC_SUPER_MAGIC {
        return Err(invalid(format!(
            "{path} is not on procfs: refusing to write a security label through it"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_labels_pass_on_any_host() {
        let p = Process::default();
        assert!(check_process(&p).is_ok());
        assert!(check_mount_label(None).is_ok());
        assert!(check_mount_label(Some("")).is_ok());
    }

    #[test]
    fn absent_lsms_are_refused_naming_the_field() {
        let mut p = Process::default();
        p.set_apparmor_profile(Some("runtime/default".into()));
        if !apparmor_enabled() {
            assert!(check_process(&p)
                .unwrap_err()
                .starts_with("process.apparmorProfile: AppArmor is not enabled"));
        }
        let mut p = Process::default();
        p.set_selinux_label(Some("system_u:system_r:container_t:s0".into()));
        if !selinux_enabled() {
            assert!(check_process(&p)
                .unwrap_err()
                .starts_with("process.selinuxLabel: SELinux is not enabled"));
            assert!(check_mount_label(Some("x"))
                .unwrap_err()
                .starts_with("linux.mountLabel"));
        }
    }

    #[test]
    fn mount_label_goes_to_filesystem_data_but_not_procfs() {
        let o = crate::rootfs::options::MountOptions::parse(&["mode=755"]);
        let l = Some("system_u:object_r:container_file_t:s0:c1,c2");
        assert_eq!(
            with_mount_label(o.clone(), "tmpfs", l).data,
            "mode=755,context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        assert_eq!(with_mount_label(o.clone(), "proc", l).data, "mode=755");
        assert_eq!(with_mount_label(o, "tmpfs", None).data, "mode=755");
    }

    #[test]
    fn context_option_is_quoted() {
        assert_eq!(
            context_option("a:b:c:s0:c1,c2"),
            "context=\"a:b:c:s0:c1,c2\""
        );
    }
}
