//! File-descriptor hygiene: nothing of the host may leak into a container.

use std::io;

/// Marks every descriptor from `first` upwards close-on-exec (`close_range(first, ~0, CLOSE_RANGE_CLOEXEC)`).
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
    if ret == -1 {
        return Err(io::Error::last_os_error());
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
    // SAFETY: fcntl(F_SETFD) on a descriptor number only changes its flags; an invalid number yields EBADF.
    let ret = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
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
