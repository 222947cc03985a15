//! `unshare(2)`, which rustix only offers as `unsafe`.

use std::io;

/// Moves the calling process into new namespaces of the `CLONE_NEW*` kinds in `flags`.
///
/// Only namespace flags are accepted (`CLONE_FILES`/`CLONE_FS`/`CLONE_SYSVSEM` would unshare process state that
/// callers of a safe function do not expect to lose).
pub fn unshare_namespaces(flags: u32) -> io::Result<()> {
    let allowed = (libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWCGROUP
        | libc::CLONE_NEWTIME) as u32;
    if flags & !allowed != 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: only namespace flags reach unshare (checked above); they do not invalidate memory or descriptors.
    let ret = unsafe { libc::unshare(flags as i32) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
