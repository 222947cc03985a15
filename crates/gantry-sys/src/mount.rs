//! `mount_setattr(2)`: change the flags of a mount (attached or detached) through a file descriptor.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `MOUNT_ATTR_RDONLY`.
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
/// `MOUNT_ATTR_NOSUID`.
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
/// `MOUNT_ATTR_NODEV`.
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
/// `MOUNT_ATTR_NOEXEC`.
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
/// `MOUNT_ATTR__ATIME`: the mask of the access-time mode (a value, not bits: clear it to set another).
pub const MOUNT_ATTR_ATIME_MASK: u64 = 0x70;
/// `MOUNT_ATTR_RELATIME` (access-time mode value 0).
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
/// `MOUNT_ATTR_NOATIME` (access-time mode value).
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
/// `MOUNT_ATTR_STRICTATIME` (access-time mode value).
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
/// `MOUNT_ATTR_NODIRATIME`.
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
/// `MOUNT_ATTR_NOSYMFOLLOW` (Linux 5.14).
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;
/// `MOUNT_ATTR_IDMAP`.
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Makes the detached mount at `fd` (from `open_tree(OPEN_TREE_CLONE)`) id-mapped through the user namespace
/// `userns` (`MOUNT_ATTR_IDMAP`), recursively when asked (`ridmap`).
pub fn mount_setattr_idmap(
    fd: BorrowedFd<'_>,
    recursive: bool,
    userns: BorrowedFd<'_>,
) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    // `userns` stays borrowed (open) for the whole call.
    setattr(fd, recursive, &attr)
}

/// Sets (`set`) and clears (`clear`) `MOUNT_ATTR_*` flags on the mount open at `fd`, recursively when asked;
/// `propagation` is 0 or one of `MS_SHARED`/`MS_SLAVE`/`MS_PRIVATE`/`MS_UNBINDABLE`.
pub fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clear: u64,
    propagation: u64,
) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation,
        userns_fd: 0,
    };
    setattr(fd, recursive, &attr)
}

fn setattr(fd: BorrowedFd<'_>, recursive: bool, attr: &MountAttr) -> io::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    // SAFETY: the path is a static empty C string (AT_EMPTY_PATH acts on fd); attr is a valid mount_attr of the size
    // passed and outlives the call (as does any userns descriptor it names, borrowed by the caller).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `mount(2)` with optional source, filesystem type and data (`MS_*` flags as in libc).
pub fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: u64,
    data: Option<&str>,
) -> io::Result<()> {
    use std::ffi::CString;
    let c = |s: &str| CString::new(s).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL));
    let source = source.map(c).transpose()?;
    let target = c(target)?;
    let fstype = fstype.map(c).transpose()?;
    let data = data.filter(|d| !d.is_empty()).map(c).transpose()?;
    let ptr = |o: &Option<CString>| o.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is either null (allowed for source, fstype and data) or a NUL-terminated string owned
    // by a local CString that outlives the call.
    let ret = unsafe {
        libc::mount(
            ptr(&source),
            target.as_ptr(),
            ptr(&fstype),
            flags as libc::c_ulong,
            ptr(&data) as *const libc::c_void,
        )
    };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
