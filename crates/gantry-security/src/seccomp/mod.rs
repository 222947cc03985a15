//! seccomp: compile `linux.seccomp` with libseccomp in the runtime, load it in the container's init, and hand
//! the `SCMP_ACT_NOTIFY` fd to the seccomp agent at `listenerPath`.
//!
//! [`compile`] runs before the clone, so a bad profile is a host-side error. [`Filter::load`] runs in the child
//! (early without `noNewPrivileges`; with it as late as possible, just before the start gate; see the crate
//! docs). When the profile uses `SCMP_ACT_NOTIFY`, `load` returns the listener fd's number; the runtime parent
//! takes its own copy with [`fetch_notify_fd`] (`pidfd_getfd(2)`, as runc does) and sends it to the agent with
//! [`send_to_listener`].
//!
//! The faster path: [`Filter::program`] generates the BPF program on the host (with runc's ENOSYS rule for
//! syscalls newer than the profile), and [`Program::load_with`] loads it in the child through gantry-sys's raw
//! `seccomp(2)` wrapper, returning the notify fd as an `OwnedFd`.

mod compile;
mod convert;
mod enosys;
mod features;
mod notify;
mod program;

pub use compile::compile;
pub use convert::DEFAULT_ERRNO_RET;
pub use features::{support, Support};
pub use notify::{fetch_notify_fd, process_state_json, send_to_listener};
pub use program::{
    generator_version, Program, FLAG_LOG, FLAG_NEW_LISTENER, FLAG_SPEC_ALLOW,
    FLAG_WAIT_KILLABLE_RECV, MAX_INSTRUCTIONS,
};

use crate::SecurityError;
use libseccomp::ScmpFilterContext;
use std::os::fd::{AsRawFd, RawFd};

/// A compiled seccomp filter: built by [`compile`], consumed by [`Filter::load`].
#[derive(Debug)]
pub struct Filter {
    ctx: ScmpFilterContext,
    uses_notify: bool,
    unknown_syscalls: Vec<String>,
    /// For the ENOSYS prologue of [`Filter::program`]; `None` when the default action lets new syscalls through.
    last_syscalls: Option<enosys::LastSyscalls>,
}

/// The seccomp user-notification listener fd, as created by the kernel in this process when the filter loaded.
///
/// The kernel creates it close-on-exec, so it never reaches the container's program. This handle records its
/// number only (wrapping a raw fd into an `OwnedFd` needs `unsafe`, which this crate forbids): the runtime
/// parent duplicates it out of the child with [`fetch_notify_fd`] — the child sends the number over its sync
/// socket — and the child's copy closes at execve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotifyFd(RawFd);

impl AsRawFd for NotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

fn load_err(source: libseccomp::error::SeccompError) -> SecurityError {
    let errno = match source.errno() {
        Some(e) => format!("{e:?}"),
        None => "unknown errno".to_owned(),
    };
    SecurityError::Load { errno, source }
}

impl Filter {
    fn new(ctx: ScmpFilterContext) -> Filter {
        Filter {
            ctx,
            uses_notify: false,
            unknown_syscalls: Vec::new(),
            last_syscalls: None,
        }
    }

    /// Syscall names of the profile that this libseccomp does not know and that were therefore left out
    /// (runc ignores them too). The caller may log them at debug level.
    pub fn unknown_syscalls(&self) -> &[String] {
        &self.unknown_syscalls
    }

    /// Whether some rule uses `SCMP_ACT_NOTIFY` (then [`Filter::load`] returns a [`NotifyFd`]).
    pub fn uses_notify(&self) -> bool {
        self.uses_notify
    }

    /// The filter as the BPF program the kernel will run (raw `struct sock_filter` array), for tests and
    /// debugging.
    ///
    /// # Errors
    /// [`SecurityError::Libseccomp`] if libseccomp cannot generate the program.
    pub fn export_bpf(&self) -> Result<Vec<u8>, SecurityError> {
        self.export(false)
    }

    /// The filter in libseccomp's human-readable pseudo filter code (PFC), for tests and debugging.
    ///
    /// # Errors
    /// [`SecurityError::Libseccomp`] if libseccomp cannot generate it.
    pub fn export_pfc(&self) -> Result<String, SecurityError> {
        let bytes = self.export(true)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn export(&self, pfc: bool) -> Result<Vec<u8>, SecurityError> {
        use std::io::{Read, Seek};
        let io_err = |source: std::io::Error| SecurityError::Export { source };
        let fd = rustix::fs::memfd_create("gantry-seccomp-export", rustix::fs::MemfdFlags::CLOEXEC)
            .map_err(|e| io_err(e.into()))?;
        let r = if pfc {
            self.ctx.export_pfc(&fd)
        } else {
            self.ctx.export_bpf(&fd)
        };
        r.map_err(|source| SecurityError::Libseccomp {
            field: "linux.seccomp".to_owned(),
            op: "exporting the filter".to_owned(),
            source,
        })?;
        let mut file = std::fs::File::from(fd);
        file.rewind().map_err(io_err)?;
        let mut out = Vec::new();
        file.read_to_end(&mut out).map_err(io_err)?;
        Ok(out)
    }

    /// Loads the filter into the calling thread (the container's init, single-threaded).
    ///
    /// Without no_new_privs set this needs CAP_SYS_ADMIN, which is why the runtime loads it *before* dropping
    /// capabilities when `process.noNewPrivileges` is false, and as late as possible (just before the start gate)
    /// when it is true. Returns the notify listener when the profile uses `SCMP_ACT_NOTIFY`.
    ///
    /// # Errors
    /// [`SecurityError::Load`] with the kernel's errno.
    pub fn load(self) -> Result<Option<NotifyFd>, SecurityError> {
        self.ctx.load().map_err(load_err)?;
        if !self.uses_notify {
            return Ok(None);
        }
        let fd = self.ctx.get_notify_fd().map_err(load_err)?;
        Ok(Some(NotifyFd(fd)))
    }
}

#[cfg(test)]
mod tests;
