//! Changing the root: `pivot_root(".", ".")` then detaching the old root (no temporary directory), or, with
//! `--no-pivot`, moving the rootfs over `/` and `chroot`.

use std::os::fd::BorrowedFd;

use crate::process::fail::{Context, StepResult};

/// Makes the root open at `root` the process's root, leaving no trace of the host's mounts. `old_root_shared`:
/// the old root may still propagate to the host (see [`super::propagation::may_propagate_out`]), so it is made a
/// slave before it is detached; otherwise it is one already (recursively), and re-making it one would walk every
/// host mount for nothing.
pub fn pivot(root: BorrowedFd<'_>, old_root_shared: bool) -> StepResult {
    // The old root, held open: after pivot_root(".", ".") it is stacked on the new root, and "." (our working
    // directory) still names the new root's mount. Acting on "." would make the container's own mounts slaves (so
    // a `shared` bind mount would stop propagating to the host); act on the old root through this descriptor.
    let old_root = rustix::fs::open(
        "/",
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ctx(|| "open the old root".into())?;
    rustix::process::fchdir(root).ctx(|| "chdir to rootfs".into())?;
    rustix::process::pivot_root(".", ".").ctx(|| "pivot_root".into())?;
    rustix::process::fchdir(&old_root).ctx(|| "chdir to the old root".into())?;
    drop(old_root);
    // Make the old root a slave so unmounting it cannot propagate to the host, then detach it.
    if old_root_shared {
        gantry_sys::mount::mount(None, ".", None, libc::MS_SLAVE | libc::MS_REC, None)
            .ctx(|| "make the old root a slave mount".into())?;
    }
    rustix::mount::unmount(".", rustix::mount::UnmountFlags::DETACH)
        .ctx(|| "detach the old root".into())?;
    rustix::process::chdir("/").ctx(|| "chdir /".into())
}

/// `--no-pivot`: move the rootfs mount over `/` and chroot into it (for hosts where pivot_root is impossible,
/// e.g. a ramfs root).
pub fn move_root(root: BorrowedFd<'_>) -> StepResult {
    rustix::process::fchdir(root).ctx(|| "chdir to rootfs".into())?;
    gantry_sys::mount::mount(Some("."), "/", None, libc::MS_MOVE, None)
        .ctx(|| "move the rootfs over / (--no-pivot)".into())?;
    rustix::process::chroot(".").ctx(|| "chroot (--no-pivot)".into())?;
    rustix::process::chdir("/").ctx(|| "chdir /".into())
}

/// Without a mount namespace: chroot into `rootfs` (no mount is made or moved: they would be the host's).
pub fn chroot(rootfs: &std::path::Path) -> StepResult {
    rustix::process::chdir(rootfs).ctx(|| format!("chdir to rootfs {}", rootfs.display()))?;
    rustix::process::chroot(".").ctx(|| format!("chroot to rootfs {}", rootfs.display()))?;
    rustix::process::chdir("/").ctx(|| "chdir /".into())
}
