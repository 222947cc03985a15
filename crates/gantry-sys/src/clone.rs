//! `clone3(2)`: create the container's init with all its new namespaces in one call.

use std::io;

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

/// Forks the calling process with `clone3(2)`, giving the child the new namespaces in `flags` (`CLONE_NEW*`).
/// The child gets `SIGCHLD` as its exit signal, so the parent can `waitpid` it like any child.
///
/// # Safety
/// The caller must be single-threaded (no other thread may be alive: the child would inherit locks held by
/// threads that do not exist in it), and the child must only run code that is safe after `fork` in a
/// single-threaded process, ending in `execve` or `_exit`.
pub unsafe fn clone3(flags: u64) -> io::Result<Cloned> {
    let mut args = CloneArgs {
        flags,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    // SAFETY: `args` is a valid, fully initialised clone_args of the size we pass; stack = 0 makes the kernel
    // reuse the caller's stack copy-on-write as fork does; the caller guarantees the single-thread contract.
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
    let threads = std::fs::read_dir("/proc/self/task")?.count();
    if threads != 1 {
        return Err(io::Error::new(
            io::ErrorKind::ResourceBusy,
            format!("refusing to fork with {threads} threads alive"),
        ));
    }
    // SAFETY: the process is single-threaded (checked just above: no thread can start between
    // the check and the clone, as this thread is the only one), and the caller's child ends in
    // `_exit` per this function's contract.
    unsafe { clone3(flags) }
}
