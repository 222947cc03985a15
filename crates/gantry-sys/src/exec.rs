//! `execve(2)` and `execveat(2)` over argument vectors prepared ahead of time.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::raw::c_char;

/// A NULL-terminated array of C strings (argv or envp), built once and passed to `execve` without allocating.
pub struct CStringArray {
    owned: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

impl CStringArray {
    /// Builds the array; fails if a string holds a NUL byte (the error names the offending entry).
    pub fn new<I, S>(items: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut owned = Vec::new();
        for item in items {
            let s = item.as_ref();
            owned.push(CString::new(s).map_err(|_| format!("{s:?} contains a NUL byte"))?);
        }
        Ok(Self::from_cstrings(owned))
    }

    /// The array over strings already made.
    pub fn from_cstrings(owned: Vec<CString>) -> Self {
        let mut ptrs: Vec<*const c_char> = owned.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        CStringArray { owned, ptrs }
    }

    /// The strings, in order.
    pub fn strings(&self) -> &[CString] {
        &self.owned
    }

    fn as_ptr(&self) -> *const *const c_char {
        self.ptrs.as_ptr()
    }
}

/// Replaces the process image with `path`; returns only on failure.
pub fn execve(path: &CStr, argv: &CStringArray, envp: &CStringArray) -> io::Error {
    // SAFETY: path is NUL-terminated; argv and envp are NULL-terminated arrays of pointers into CStrings that
    // `argv`/`envp` own and keep alive for the duration of the call.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

/// Replaces the process image with the file open at `fd` (`execveat(fd, "", ..., AT_EMPTY_PATH)`); returns only
/// on failure.
pub fn execveat_fd(fd: BorrowedFd<'_>, argv: &CStringArray, envp: &CStringArray) -> io::Error {
    // SAFETY: the empty path is a static NUL-terminated string; argv/envp are valid NULL-terminated arrays as above;
    // fd is a valid open descriptor borrowed for the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    io::Error::last_os_error()
}
