//! Signal masks and synchronous signal waiting, so `run` can never miss its container's exit.

use std::io;

/// A set of signals.
#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl SigSet {
    /// The empty set.
    pub fn empty() -> Self {
        // SAFETY: sigemptyset initialises the zeroed sigset_t it is given.
        unsafe {
            let mut s: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut s);
            SigSet(s)
        }
    }

    /// Every signal.
    pub fn all() -> Self {
        // SAFETY: sigfillset initialises the zeroed sigset_t it is given.
        unsafe {
            let mut s: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut s);
            SigSet(s)
        }
    }

    /// Adds `sig` to the set.
    pub fn add(&mut self, sig: i32) {
        // SAFETY: self.0 is an initialised sigset_t; invalid signal numbers only make sigaddset return EINVAL.
        unsafe { libc::sigaddset(&mut self.0, sig) };
    }

    /// Removes `sig` from the set.
    pub fn remove(&mut self, sig: i32) {
        // SAFETY: as in `add`.
        unsafe { libc::sigdelset(&mut self.0, sig) };
    }

    /// Whether `sig` is in the set.
    pub fn contains(&self, sig: i32) -> bool {
        // SAFETY: self.0 is an initialised sigset_t.
        unsafe { libc::sigismember(&self.0, sig) == 1 }
    }
}

/// Replaces the calling thread's signal mask with `set`, returning the previous mask.
pub fn set_mask(set: &SigSet) -> io::Result<SigSet> {
    let mut old = SigSet::empty();
    // SAFETY: both pointers refer to valid sigset_t values that outlive the call.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &set.0, &mut old.0) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    Ok(old)
}

/// Blocks the signals in `set` (adding them to the mask), returning the previous mask.
pub fn block(set: &SigSet) -> io::Result<SigSet> {
    let mut old = SigSet::empty();
    // SAFETY: both pointers refer to valid sigset_t values that outlive the call.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set.0, &mut old.0) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    Ok(old)
}

/// Waits for one of the (blocked) signals in `set` and returns its number.
pub fn wait(set: &SigSet) -> io::Result<i32> {
    loop {
        // SAFETY: set.0 is a valid sigset_t; a null siginfo pointer is allowed.
        let sig = unsafe { libc::sigwaitinfo(&set.0, std::ptr::null_mut()) };
        if sig >= 0 {
            return Ok(sig);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// Restores the default disposition of `sig` (e.g. SIGPIPE, which the Rust runtime ignores and an exec'd
/// container process would otherwise inherit as ignored).
pub fn set_default(sig: i32) {
    // SAFETY: SIG_DFL is a valid disposition for every catchable signal; errors (invalid numbers) are ignored.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

/// A `signalfd` receiving the (blocked) signals of `set`: readable when one is pending, so a supervisor can
/// wait for signals and its children's output in one `poll`. Close-on-exec and non-blocking.
pub fn signal_fd(set: &SigSet) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: set.0 is a valid sigset_t; -1 asks for a new descriptor.
    let fd = unsafe { libc::signalfd(-1, &set.0, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor and nothing else owns it.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Reads the next pending signal from a [`signal_fd`]: `Ok(None)` when none is pending.
pub fn read_signal_fd(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<Option<i32>> {
    // struct signalfd_siginfo is 128 bytes; ssi_signo is its first u32.
    let mut buf = [0u8; 128];
    match rustix::io::read(fd, &mut buf) {
        Ok(n) if n >= 4 => Ok(Some(
            u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as i32
        )),
        Ok(_) => Ok(None),
        Err(rustix::io::Errno::AGAIN) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
