//! Persistent network namespaces: a fresh one created in a short-lived forked child and kept alive by a bind
//! mount of its `/proc/<pid>/ns/net` onto a file, as `ip netns add` does, without moving the caller.

use std::ffi::CStr;
use std::io;

/// Which step of [`create_bound_netns`]'s child failed.
const STEP_MOUNT: u32 = 1;
const STEP_LOOPBACK: u32 = 2;

/// Creates a new network namespace and bind-mounts it onto `target` (an existing empty regular file), with the
/// loopback interface brought up.
///
/// The namespace is made by a child forked with `CLONE_NEWNET` ([`crate::clone::clone_unchecked`]); the calling process (and every thread of
/// it) stays in its own namespace. The child only makes raw system calls on memory prepared before the fork and
/// then exits, so this is safe to call from a multi-threaded process. The child's mount of `target` is made in
/// the caller's mount namespace, so the caller sees it.
///
/// Errors name the failing step (`mount` of the namespace, or bringing `lo` up) through the `io::Error` kind and
/// message; on error nothing stays mounted on `target`.
pub fn create_bound_netns(target: &CStr) -> io::Result<()> {
    let (read_end, write_end) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let source = c"/proc/self/ns/net";
    let lo = loopback_ifreq();
    let write_fd = std::os::fd::AsRawFd::as_raw_fd(&write_end);
    // SAFETY: the child runs only raw system calls on memory prepared before the fork (no allocation, no
    // locks) and ends in `_exit`, which is what `clone_unchecked` asks of a child forked from a multi-threaded process.
    let (cloned, _) = unsafe { crate::clone::clone_unchecked(libc::CLONE_NEWNET as u64, None) }?;
    let crate::clone::Cloned::Parent(child) = cloned else {
        // In the child: raw system calls only (no allocation, no locks), then `_exit`.
        let failure = child_bind_and_lo_up(source, target, lo);
        if let Some((step, errno)) = failure {
            let mut report = [0u8; 8];
            report[..4].copy_from_slice(&step.to_ne_bytes());
            report[4..].copy_from_slice(&errno.to_ne_bytes());
            // SAFETY: `write_fd` is the pipe's write end, open in the child; `report` is a live 8-byte buffer.
            unsafe { libc::write(write_fd, report.as_ptr().cast(), report.len()) };
            // SAFETY: `_exit` has no preconditions and never returns.
            unsafe { libc::_exit(1) };
        }
        // SAFETY: as above.
        unsafe { libc::_exit(0) };
    };
    drop(write_end);
    let pid = rustix::process::Pid::from_raw(child)
        .ok_or_else(|| io::Error::other("clone3 returned an invalid pid"))?;
    let status = loop {
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
            Ok(Some((_, status))) => break status,
            Ok(None) => continue,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let mut report = [0u8; 8];
    let got = rustix::io::read(&read_end, &mut report).unwrap_or(0);
    if got == report.len() {
        let step = u32::from_ne_bytes(report[..4].try_into().unwrap_or_default());
        let errno = i32::from_ne_bytes(report[4..].try_into().unwrap_or_default());
        let os = io::Error::from_raw_os_error(errno);
        if step == STEP_LOOPBACK {
            let _ = rustix::mount::unmount(target, rustix::mount::UnmountFlags::DETACH);
            return Err(io::Error::new(
                os.kind(),
                format!("bringing up lo in the new network namespace: {os}"),
            ));
        }
        return Err(io::Error::new(
            os.kind(),
            format!("bind-mounting the new network namespace: {os}"),
        ));
    }
    if status.exit_status() != Some(0) {
        let _ = rustix::mount::unmount(target, rustix::mount::UnmountFlags::DETACH);
        return Err(io::Error::other(format!(
            "network namespace helper child ended with {status:?}"
        )));
    }
    Ok(())
}

/// The child's work: bind the namespace onto `target`, then set `IFF_UP` on `lo`. Returns the failing step and
/// errno.
fn child_bind_and_lo_up(source: &CStr, target: &CStr, mut lo: libc::ifreq) -> Option<(u32, i32)> {
    let errno = || {
        io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    };
    // SAFETY: both paths are NUL-terminated strings that live across the call; fstype and data may be null.
    let ret = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    if ret == -1 {
        return Some((STEP_MOUNT, errno()));
    }
    // SAFETY: socket(2) takes no pointers.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock == -1 {
        return Some((STEP_LOOPBACK, errno()));
    }
    // SAFETY: `lo` is a valid ifreq naming "lo"; SIOCGIFFLAGS fills its flags union member.
    if unsafe { libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut lo as *mut libc::ifreq) } == -1 {
        return Some((STEP_LOOPBACK, errno()));
    }
    // SAFETY: the flags member was just filled by the kernel, so reading it is reading initialised memory.
    let flags = unsafe { lo.ifr_ifru.ifru_flags };
    lo.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: `lo` is a valid ifreq with the name and the new flags.
    if unsafe { libc::ioctl(sock, libc::SIOCSIFFLAGS, &mut lo as *mut libc::ifreq) } == -1 {
        return Some((STEP_LOOPBACK, errno()));
    }
    None
}

/// An `ifreq` naming the loopback interface, built before the fork.
fn loopback_ifreq() -> libc::ifreq {
    // SAFETY: ifreq is plain old data (a name array and a union of integers and addresses); all zeroes is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo") {
        *dst = *src as libc::c_char;
    }
    req
}
