//! The one clone wrapper: `clone3(2)` (with `CLONE_INTO_CGROUP` where a cgroup v2 directory is given) with its
//! fallbacks, for the container's init with all its new namespaces in one call and every other child Gantry forks.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// What a [`fork`] call returned, in the process that sees it.
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

/// Forks the calling process into a child with the new namespaces in `flags` (`CLONE_NEW*`), born in the cgroup v2
/// directory `cgroup` (opened `O_PATH | O_DIRECTORY` or read-only) when one is given. The one clone of the
/// workspace: every process Gantry forks (container init, exec process, staged-mode grandchild, image unpacker,
/// helpers) comes from here or from [`clone_unchecked`], which shares its fallbacks.
///
/// Refuses (`ResourceBusy`) unless the calling process has exactly one thread ([`SingleThreaded::check`]), which
/// is what makes running Rust code in the child sound (no lock can be held by a thread that does not exist in
/// it). The child must end in `execve` or [`exit_immediately`].
///
/// Returns what the calling process is (parent with the child's PID, or child) and whether the child was born in
/// `cgroup`; when it was not (no `cgroup`, a kernel without `CLONE_INTO_CGROUP`, or no `clone3` at all) the caller
/// must move the child itself. See [`clone_unchecked`] for the fallbacks.
pub fn fork(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<(Cloned, bool)> {
    SingleThreaded::check()?.fork(flags, cgroup)
}

/// Proof that the calling process has exactly one thread, taken once and kept for a later [`SingleThreaded::fork`]
/// (for a process that cannot read `/proc/self/task` at that point, e.g. after joining another mount namespace).
/// Not `Send`: it stays in the process and thread that checked; its holder promises to start no thread while it
/// holds it (Gantry's runtime and the processes it forks never start one).
#[derive(Debug)]
pub struct SingleThreaded {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl SingleThreaded {
    /// Checks that the calling process has exactly one thread (the entries of `/proc/self/task`); refuses with
    /// `ResourceBusy` otherwise.
    pub fn check() -> io::Result<SingleThreaded> {
        require_single_threaded(io::ErrorKind::ResourceBusy, |threads| {
            format!("refusing to fork with {threads} threads alive")
        })?;
        Ok(SingleThreaded {
            _not_send: std::marker::PhantomData,
        })
    }

    /// [`fork`] under this proof.
    pub fn fork(&self, flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<(Cloned, bool)> {
        // SAFETY: the process is single-threaded (checked when `self` was made, and its holder starts no thread;
        // `self` cannot leave this thread), and the caller's child ends in execve or `_exit` per `fork`'s contract.
        unsafe { clone_unchecked(flags, cgroup) }
    }
}

/// [`fork`] without the single-thread check, for a multi-threaded caller whose child runs nothing but
/// async-signal-safe system calls on memory prepared before the call, then `_exit`.
///
/// Tries `clone3(2)` (with `CLONE_INTO_CGROUP` when `cgroup` is given); on `EINVAL`/`E2BIG` for the cgroup flag
/// (kernels before 5.7) it clones without it; when `clone3` itself is missing (`ENOSYS`: kernels before 5.3, and
/// seccomp sandboxes that hide it) it falls back to a plain fork-like `clone(2)` (no `CLONE_VM`), which cannot
/// place the child in a cgroup. `clone(2)` cannot express `CLONE_NEWTIME` or flags above 32 bits: those fail with
/// `Unsupported`. Other errors (the cgroup is gone or has controllers enabled for its children: `EBUSY`) are
/// returned.
///
/// # Safety
/// The caller must be single-threaded, or its child must only run async-signal-safe system calls on memory
/// prepared before the call and then `_exit` (the child inherits no thread but every lock other threads held).
pub unsafe fn clone_unchecked(
    flags: u64,
    cgroup: Option<BorrowedFd<'_>>,
) -> io::Result<(Cloned, bool)> {
    let enosys = |e: &io::Error| e.raw_os_error() == Some(libc::ENOSYS);
    if let Some(fd) = cgroup {
        // SAFETY: the caller upholds this function's contract, which is `raw_clone3`'s.
        let first = unsafe { raw_clone3(flags, Some(fd)) };
        match first {
            Ok(c) => return Ok((c, true)),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::E2BIG)) => {}
            Err(e) if enosys(&e) => {
                // SAFETY: as above (`raw_clone` has the same contract).
                return unsafe { raw_clone(flags) }.map(|c| (c, false));
            }
            Err(e) => return Err(e),
        }
    }
    // SAFETY: as above.
    let plain = unsafe { raw_clone3(flags, None) };
    match plain {
        // SAFETY: as above (`raw_clone` has the same contract).
        Err(e) if enosys(&e) => unsafe { raw_clone(flags) }.map(|c| (c, false)),
        other => other.map(|c| (c, false)),
    }
}

/// # Safety
/// As for [`clone_unchecked`].
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
    cloned(ret)
}

/// The low byte of `clone(2)`'s flags is the exit signal, so `CLONE_NEWTIME` (0x80) cannot be passed there.
const LEGACY_UNEXPRESSIBLE: u64 = 0xff | !0xffff_ffff;

/// Plain `clone(2)` as fork does it (no `CLONE_VM`, stack 0: the child runs on a copy-on-write copy of the caller's
/// stack), with `SIGCHLD` as exit signal.
///
/// # Safety
/// As for [`clone_unchecked`].
unsafe fn raw_clone(flags: u64) -> io::Result<Cloned> {
    if flags & LEGACY_UNEXPRESSIBLE != 0 {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "clone3 is unavailable (ENOSYS: kernel before 5.3, or a seccomp filter hides it) and clone(2) \
                 cannot take the flags {flags:#x} (CLONE_NEWTIME needs clone3 or unshare)"
            ),
        ));
    }
    // SAFETY: without CLONE_VM and with a null stack the kernel duplicates the address space as fork does, so the
    // child continues on its own copy of this stack; the parent/child TID and TLS pointers are unused (0) as no
    // flag asks for them; the caller guarantees the single-thread contract.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD as u64) as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    cloned(ret)
}

fn cloned(ret: libc::c_long) -> io::Result<Cloned> {
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

    /// The child of `clone_unchecked` given a cgroup is in the cgroup from its first instruction (root, a cgroup2 mount needed:
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
        let cloned = unsafe { clone_unchecked(0, Some(fd.as_fd())) };
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
