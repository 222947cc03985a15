//! `linux.sysctl`: written through the container's own procfs, checked to be procfs (CVE-2025-52881: a write must
//! not be redirected to an attacker-chosen file).

use std::collections::HashMap;
use std::path::PathBuf;

use std::os::fd::BorrowedFd;

use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};

use crate::process::fail::{invalid, Context, StepResult};

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// The `/proc/sys` relative path of a sysctl key (`net.ipv4.ip_forward` → `net/ipv4/ip_forward`).
pub fn key_path(key: &str) -> Option<PathBuf> {
    if key.is_empty() || key.contains("..") || key.starts_with(['.', '/']) {
        return None;
    }
    Some(PathBuf::from(key.replace('.', "/")))
}

/// Writes every sysctl through the procfs mounted at `/proc` under `root`.
pub fn apply(root: BorrowedFd<'_>, sysctl: &HashMap<String, String>) -> StepResult {
    if sysctl.is_empty() {
        return Ok(());
    }
    let what = || "linux.sysctl: open /proc/sys".to_string();
    let sys = crate::rootfs::resolve::open_in_root(
        root,
        std::path::Path::new("/proc/sys"),
        OFlags::PATH | OFlags::DIRECTORY,
    )
    .ctx(what)?;
    let fs = rfs::fstatfs(&sys).ctx(what)?;
    if fs.f_type as i64 != PROC_SUPER_MAGIC {
        return Err(invalid("linux.sysctl: /proc/sys is not procfs".into()));
    }
    for (key, value) in sysctl {
        let field = || format!("linux.sysctl[{key:?}]");
        let rel =
            key_path(key).ok_or_else(|| invalid(format!("{}: not a sysctl name", field())))?;
        let fd = rfs::openat2(
            &sys,
            &rel,
            OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_XDEV,
        )
        .ctx(field)?;
        rustix::io::write(&fd, value.as_bytes()).ctx(field)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_paths() {
        assert_eq!(
            key_path("net.ipv4.ip_forward").unwrap(),
            PathBuf::from("net/ipv4/ip_forward")
        );
        assert!(key_path("../x").is_none());
        assert!(key_path("").is_none());
        assert!(key_path("/etc").is_none());
    }
}
