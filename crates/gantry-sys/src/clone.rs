//! `clone3(2)`: create the container's init with all its new namespaces in one call.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// What a [`clone3`] call returned, in the process that sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloned {
    /// In the parent: the child's PID (in the parent's PID namespace).
    Parent(i32),
    /// In the child.
    Child,
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// `CLONE_INTO_CGROUP` (Linux 5.7): the child starts in the cgroup v2 directory given by `clone_args.cgroup`.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Forks the calling process with `clone3(2)`, giving the child the new namespaces in `flags` (`CLONE_NEW*`).
/// The child gets `SIGCHLD` as its exit signal, so the parent can `waitpid` it like any child.
///
/// # Safety
/// The caller must be single-threaded (no other thread may be alive: the child would inherit locks held by
/// threads that do not exist in it), and the child must only run code that is safe after `fork` in a
/// single-threaded process, ending in `execve` or `_exit`. A multi-threaded caller may use it only when the
/// child runs nothing but async-signal-safe system calls on memory prepared before the call, then `_exit`.
pub unsafe fn clone3(flags: u64) -> io::Result<Cloned> {
    // SAFETY: the caller upholds this function's contract, which is `raw_clone3`'s.
    unsafe { raw_clone3(flags, None) }
}

/// [`clone3`], with the child born in the cgroup v2 directory `cgroup` (opened `O_PATH | O_DIRECTORY` or read-only)
/// through `CLONE_INTO_CGROUP`, so there is no moment at which it runs outside it. `None` is a plain [`clone3`].
///
/// Returns whether the child was placed: on kernels without `CLONE_INTO_CGROUP` (before 5.7, `EINVAL`/`E2BIG`) it
/// clones without it and returns `false`, and the caller must move the child itself. Other errors (the cgroup is
/// gone, or has controllers enabled for its children: `EBUSY`) are returned.
///
/// # Safety
/// As for [`clone3`].
pub unsafe fn clone3_into_cgroup(
    flags: u64,
    cgroup: Option<BorrowedFd<'_>>,
) -> io::Result<(Cloned, bool)> {
    let Some(fd) = cgroup else {
        // SAFETY: the caller upholds this function's contract, which is `raw_clone3`'s.
        return unsafe { raw_clone3(flags, None) }.map(|c| (c, false));
    };
    // SAFETY: as above.
    match unsafe { raw_clone3(flags, Some(fd)) } {
        Ok(c) => Ok((c, true)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::E2BIG)) => {
            // SAFETY: as above.
            unsafe { raw_clone3(flags, None) }.map(|c| (c, false))
        }
        Err(e) => Err(e),
    }
}

/// # Safety
/// As for [`clone3`].
unsafe fn raw_clone3(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<Cloned> {
    let mut args = CloneArgs {
        flags,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: `args` is a valid, fully initialised clone_args of the size we pass; stack = 0 makes the kernel
    // reuse the caller's stack copy-on-write as fork does; a cgroup fd, if any, is borrowed for the call; the
    // caller guarantees the single-thread contract.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Cloned::Child),
        pid => Ok(Cloned::Parent(pid as i32)),
    }
}

/// Ends the calling process at once, without running destructors or `atexit` handlers (for forked children).
pub fn exit_immediately(code: i32) -> ! {
    // SAFETY: `_exit` has no preconditions; it never returns.
    unsafe { libc::_exit(code) }
}

/// Forks a child in new namespaces (`CLONE_NEW*` in `flags`) for a short confined job (the
/// image unpacker), for crates that may not use `unsafe`. Refuses (`EBUSY`) unless the calling
/// process has exactly one thread, which is what makes running Rust code in the child sound.
/// The child must end with [`exit_immediately`].
pub fn fork_single_threaded(flags: u64) -> io::Result<Cloned> {
    require_single_threaded(io::ErrorKind::ResourceBusy, |threads| {
        format!("refusing to fork with {threads} threads alive")
    })?;
    // SAFETY: the process is single-threaded (checked just above: no thread can start between
    // the check and the clone, as this thread is the only one), and the caller's child ends in
    // `_exit` per this function's contract.
    unsafe { clone3(flags) }
}

/// How many threads the calling process has (the entries of `/proc/self/task`).
pub fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// Succeeds when the calling process has exactly one thread, which is what makes running Rust code in a forked
/// child sound; otherwise fails with `kind` and the message `refusal(threads)`.
pub(crate) fn require_single_threaded(
    kind: io::ErrorKind,
    refusal: impl FnOnce(usize) -> String,
) -> io::Result<()> {
    let threads = thread_count()?;
    if threads != 1 {
        return Err(io::Error::new(kind, refusal(threads)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// The child of `clone3_into_cgroup` is in the cgroup from its first instruction (root, a cgroup2 mount needed:
    /// `/sys/fs/cgroup/unified` on hybrid hosts, `/sys/fs/cgroup` on pure v2 ones).
    #[test]
    fn child_is_born_in_the_cgroup() {
        assert!(
            rustix::process::geteuid().is_root(),
            "this test creates a cgroup: run it as root"
        );
        let root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .into_iter()
            .find(|p| {
                rustix::fs::statfs(*p).is_ok_and(|s| s.f_type == libc::CGROUP2_SUPER_MAGIC as _)
            })
            .expect("a cgroup2 mount at /sys/fs/cgroup/unified or /sys/fs/cgroup");
        let name = format!("gantry-sys-clone-test-{}", std::process::id());
        let dir = std::path::Path::new(root).join(&name);
        std::fs::create_dir(&dir).unwrap();
        let fd = std::fs::File::open(&dir).unwrap();
        // SAFETY: the child only calls pause(2) and _exit(2), both async-signal-safe, so the test harness's other
        // threads do not matter.
        let cloned = unsafe { clone3_into_cgroup(0, Some(fd.as_fd())) };
        let pid = match cloned {
            Ok((Cloned::Child, _)) => loop {
                // SAFETY: pause has no preconditions.
                unsafe { libc::pause() };
            },
            Ok((Cloned::Parent(pid), placed)) => {
                assert!(placed, "this kernel supports CLONE_INTO_CGROUP");
                pid
            }
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                panic!("clone3 into {}: {e}", dir.display());
            }
        };
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        // SAFETY: plain kill and waitpid of our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        std::fs::remove_dir(&dir).unwrap();
        assert_eq!(procs.trim(), pid.to_string(), "child in {}", dir.display());
    }
}
