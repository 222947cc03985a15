//! Session keyrings: each container gets its own, so it cannot reach the keys of the caller's session.

use std::ffi::CString;
use std::io;

const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;

/// Creates a new session keyring named `name` and makes it the calling process's session keyring; returns its
/// serial number.
pub fn join_session_keyring(name: &str) -> io::Result<i32> {
    let name = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: KEYCTL_JOIN_SESSION_KEYRING reads one NUL-terminated string, which `name` owns for the whole call.
    let ret =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret as i32)
}
