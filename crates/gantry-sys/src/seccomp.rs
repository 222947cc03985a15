//! `seccomp(SECCOMP_SET_MODE_FILTER)`: load a BPF program generated ahead of time, in one syscall.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`.
pub const FLAG_NEW_LISTENER: u32 = 1 << 3;

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const u8,
}

/// Loads `bpf` (`struct sock_filter` records, 8 bytes each) with `flags`; returns the user-notification listener
/// when `flags` holds [`FLAG_NEW_LISTENER`]. The caller must have set no_new_privs or hold CAP_SYS_ADMIN.
pub fn set_mode_filter(bpf: &[u8], flags: u32) -> io::Result<Option<OwnedFd>> {
    if bpf.len() % 8 != 0 || bpf.len() / 8 > u16::MAX as usize {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let prog = SockFprog {
        len: (bpf.len() / 8) as u16,
        filter: bpf.as_ptr(),
    };
    // SAFETY: `prog` points at `bpf`, which outlives the call and holds exactly `len` 8-byte instructions (checked
    // above); the kernel copies the program and does not keep the pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const SockFprog,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & FLAG_NEW_LISTENER != 0 {
        // SAFETY: with NEW_LISTENER the kernel returns a new, close-on-exec descriptor that nothing else owns.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }));
    }
    Ok(None)
}
