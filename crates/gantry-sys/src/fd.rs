//! File-descriptor hygiene: nothing of the host may leak into a container.

use std::io;

/// Marks every descriptor from `first` upwards close-on-exec: `close_range(first, ~0, CLOSE_RANGE_CLOEXEC)`, or,
/// where that is unavailable (kernels before 5.11: ENOSYS or EINVAL; a seccomp filter around the runtime: EPERM),
/// one `fcntl` per descriptor listed in `/proc/self/fd`.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes descriptor flags; no memory is passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOSYS | libc::EINVAL | libc::EPERM) => cloexec_from_proc(first),
        _ => Err(err),
    }
}

/// [`cloexec_from`] without `close_range`: lists `/proc/self/fd` and sets `FD_CLOEXEC` on each descriptor from
/// `first` upwards. Needs procfs at `/proc`.
pub fn cloexec_from_proc(first: u32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let dir = rustix::fs::open(
        "/proc/self/fd",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| io::Error::new(io::Error::from(e).kind(), "open /proc/self/fd"))?;
    let own = dir.as_raw_fd();
    let mut fds = Vec::new();
    let mut entries = rustix::fs::Dir::read_from(&dir)?;
    while let Some(entry) = entries.read() {
        let entry = entry?;
        // "." and ".." do not parse.
        let Some(fd) = entry
            .file_name()
            .to_str()
            .ok()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if fd >= first as i32 && fd != own {
            fds.push(fd);
        }
    }
    for fd in fds {
        // SAFETY: fcntl(F_SETFD) on a descriptor number only changes its flags; a number closed meanwhile yields
        // EBADF, which is ignored.
        let ret = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        if ret == -1 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EBADF) {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Duplicates `fd` onto descriptor number `target` (`dup3`, without close-on-exec: for stdio), replacing it.
pub fn dup_onto(fd: std::os::fd::BorrowedFd<'_>, target: i32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    if fd.as_raw_fd() == target {
        return clear_cloexec(target);
    }
    // SAFETY: dup3 only manipulates the descriptor table; `fd` is valid for the call and `target` is a plain
    // number the caller wants replaced.
    let ret = unsafe { libc::dup3(fd.as_raw_fd(), target, 0) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Clears close-on-exec on descriptor number `fd` (for descriptors handed to the container, e.g. --preserve-fds).
pub fn clear_cloexec(fd: i32) -> io::Result<()> {
    set_fd_flags(fd, 0)
}

/// Sets close-on-exec on descriptor number `fd` (for inherited descriptors that only a container should get: the
/// container's init clears it again with [`clear_cloexec`]).
pub fn set_cloexec(fd: i32) -> io::Result<()> {
    set_fd_flags(fd, libc::FD_CLOEXEC)
}

fn set_fd_flags(fd: i32, flags: i32) -> io::Result<()> {
    // SAFETY: fcntl(F_SETFD) on a descriptor number only changes its flags; an invalid number yields EBADF.
    let ret = unsafe { libc::fcntl(fd, libc::F_SETFD, flags) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Closes descriptor number `fd` (in a forked child, for descriptors it inherited but must not keep); errors are
/// ignored (the number may already be closed).
pub fn close(fd: i32) {
    // SAFETY: closing a descriptor number only affects the descriptor table; the caller guarantees no Rust owner
    // will use or close this number afterwards in this process.
    unsafe { libc::close(fd) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn is_cloexec(fd: i32) -> bool {
        // SAFETY: F_GETFD only reads descriptor flags.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        flags & libc::FD_CLOEXEC != 0
    }

    #[test]
    fn proc_fallback_marks_descriptors_from_first() {
        let a = std::fs::File::open("/dev/null").unwrap();
        let b = std::fs::File::open("/dev/null").unwrap();
        let (low, high) = if a.as_raw_fd() < b.as_raw_fd() {
            (a, b)
        } else {
            (b, a)
        };
        clear_cloexec(low.as_raw_fd()).unwrap();
        clear_cloexec(high.as_raw_fd()).unwrap();
        cloexec_from_proc(high.as_raw_fd() as u32).unwrap();
        assert!(
            is_cloexec(high.as_raw_fd()),
            "the fd at `first` must be marked"
        );
        assert!(
            !is_cloexec(low.as_raw_fd()),
            "an fd below `first` must be left alone"
        );
    }
}
