//! `linux.maskedPaths` and `linux.readonlyPaths` (config-linux.md), applied after pivot_root.
//!
//! Masking binds a `/dev/null` that was opened and checked (a character device 1:3) *before* the root changed, so
//! a container that replaced its `/dev/null` by a symlink to a procfs file cannot redirect the mask
//! (CVE-2025-31133). Targets are opened without following a final symlink and resolved inside the root.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{self as rfs, FileType, OFlags};
use rustix::mount::OpenTreeFlags;

use super::options::MountOptions;
use super::resolve::{fd_path, is_dir, open_in_root};
use crate::process::fail::{Context, StepResult};

/// Opens the host's `/dev/null` as `O_PATH` and checks it really is the null device.
pub fn open_dev_null() -> StepResult<OwnedFd> {
    let what = || "open /dev/null for maskedPaths".to_string();
    let fd = rfs::open(
        "/dev/null",
        OFlags::PATH | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        rfs::Mode::empty(),
    )
    .ctx(what)?;
    let st = rfs::fstat(&fd).ctx(what)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::CharacterDevice
        || rfs::major(st.st_rdev) != 1
        || rfs::minor(st.st_rdev) != 3
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "/dev/null is not the null device",
        ))
        .ctx(what);
    }
    Ok(fd)
}

fn open_target(root: BorrowedFd<'_>, path: &Path) -> std::io::Result<Option<OwnedFd>> {
    match open_in_root(root, path, OFlags::PATH | OFlags::NOFOLLOW) {
        Ok(fd) => {
            let st = rfs::fstat(&fd)?;
            // A symlink is not followed: masking its target is the job of the entry naming that target.
            if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
                return Ok(None);
            }
            Ok(Some(fd))
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `linux.maskedPaths`, applied one by one: a read-only empty tmpfs over a directory, the null device over anything
/// else. All masked directories share one tmpfs (as runc 1.5 does): the first gets a new one, the others a bind of
/// it, which is cheaper than a filesystem each, to make now and to tear down when the container's mounts go.
pub struct Masker<'a> {
    dev_null: BorrowedFd<'a>,
    /// The root of the empty tmpfs once the first directory is masked.
    empty_dir: Option<OwnedFd>,
}

impl<'a> Masker<'a> {
    /// A masker binding `dev_null` (from [`open_dev_null`]) over masked files.
    pub fn new(dev_null: BorrowedFd<'a>) -> Self {
        Masker {
            dev_null,
            empty_dir: None,
        }
    }

    /// Masks `paths[index]` (`path`, resolved inside `root`); a missing path or a symlink is left alone.
    pub fn mask(&mut self, root: BorrowedFd<'_>, path: &Path, index: usize) -> StepResult {
        let what = || format!("linux.maskedPaths[{index}] ({})", path.display());
        let Some(target) = open_target(root, path).ctx(what)? else {
            return Ok(());
        };
        let dir = is_dir(&target).ctx(what)?;
        if dir && self.empty_dir.is_none() {
            gantry_sys::mount::mount(
                Some("tmpfs"),
                &fd_path(&target),
                Some("tmpfs"),
                libc::MS_RDONLY,
                Some("size=0k"),
            )
            .ctx(what)?;
            // Reopen: `target` names the directory under the new mount, not the tmpfs.
            let top = open_in_root(root, path, OFlags::PATH | OFlags::NOFOLLOW).ctx(what)?;
            self.empty_dir = Some(top);
            return Ok(());
        }
        let source = match &self.empty_dir {
            Some(empty) if dir => empty.as_fd(),
            _ => self.dev_null,
        };
        let tree = rustix::mount::open_tree(
            source,
            "",
            OpenTreeFlags::OPEN_TREE_CLONE
                | OpenTreeFlags::OPEN_TREE_CLOEXEC
                | OpenTreeFlags::AT_EMPTY_PATH,
        )
        .ctx(what)?;
        super::mounts::attach(tree.as_fd(), target.as_fd(), &MountOptions::default()).ctx(what)
    }
}

/// Makes `paths[index]` read-only (recursively; also nosuid, nodev, noexec as runc does).
pub fn make_readonly(root: BorrowedFd<'_>, path: &Path, index: usize) -> StepResult {
    use gantry_sys::mount::*;
    let what = || format!("linux.readonlyPaths[{index}] ({})", path.display());
    let Some(target) = open_target(root, path).ctx(what)? else {
        return Ok(());
    };
    let tree = rustix::mount::open_tree(
        &target,
        "",
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_EMPTY_PATH
            | OpenTreeFlags::AT_RECURSIVE,
    )
    .ctx(what)?;
    let opts = MountOptions {
        rec_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        ..MountOptions::default()
    };
    super::mounts::attach(tree.as_fd(), target.as_fd(), &opts).ctx(what)
}
