//! The compiled filter as a raw BPF program plus the `seccomp(2)` flags it needs, for loaders that do not go
//! through libseccomp (generate in the runtime before the clone, cache, load in the child with one syscall).

use super::Filter;
use crate::SecurityError;

/// `SECCOMP_FILTER_FLAG_LOG` (linux/seccomp.h).
pub const FLAG_LOG: u32 = 1 << 1;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`.
pub const FLAG_SPEC_ALLOW: u32 = 1 << 2;
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: the load returns the user-notification fd.
pub const FLAG_NEW_LISTENER: u32 = 1 << 3;
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`.
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 1 << 5;

/// Size of one `struct sock_filter` instruction.
const INSN_SIZE: usize = 8;

/// The kernel's limit on a classic BPF program (`BPF_MAXINSNS`).
pub const MAX_INSTRUCTIONS: usize = 4096;

/// A filter as the kernel takes it: `struct sock_filter` instructions (native endian) and the flags for
/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, &sock_fprog)`.
///
/// Generating it is most of the cost of [`Filter::load`] (≈5 ms for a default-sized profile on three x86 ABIs);
/// a runtime can do it in the parent before cloning, cache it by profile digest, and load it in the child with a
/// single syscall (that syscall needs `unsafe` and belongs in gantry-sys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    bpf: Vec<u8>,
    flags: u32,
}

impl Program {
    /// The instructions, `8 * len` bytes of `struct sock_filter`.
    pub fn bpf(&self) -> &[u8] {
        &self.bpf
    }

    /// The number of BPF instructions.
    pub fn instructions(&self) -> usize {
        self.bpf.len() / INSN_SIZE
    }

    /// The `SECCOMP_FILTER_FLAG_*` bits to pass to `seccomp(2)` (never TSYNC: the init is single-threaded).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Whether loading returns a user-notification fd (`SECCOMP_FILTER_FLAG_NEW_LISTENER`).
    pub fn has_listener(&self) -> bool {
        self.flags & FLAG_NEW_LISTENER != 0
    }
}

impl Program {
    /// Loads the program through `loader`, the raw `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)` wrapper of
    /// gantry-sys (this crate has no `unsafe`), called with [`Program::bpf`] and [`Program::flags`]. The loader
    /// returns the listener fd the kernel creates (close-on-exec) when the flags hold
    /// `SECCOMP_FILTER_FLAG_NEW_LISTENER`.
    ///
    /// This is the fast path: the child only makes the `seccomp(2)` call, while [`Filter::load`] also generates
    /// the program there (≈6 ms of CPU for a default-sized profile on three x86 ABIs, measured by the timing
    /// test); and the notify fd arrives as an `OwnedFd`.
    ///
    /// # Errors
    /// [`SecurityError::ProgramLoad`] with the loader's errno; also when the loader returns no fd although a
    /// listener was requested, or one although none was.
    pub fn load_with(
        &self,
        loader: impl FnOnce(&[u8], u32) -> std::io::Result<Option<std::os::fd::OwnedFd>>,
    ) -> Result<Option<std::os::fd::OwnedFd>, SecurityError> {
        let fd = loader(&self.bpf, self.flags).map_err(|source| SecurityError::ProgramLoad {
            flags: self.flags,
            source,
        })?;
        if fd.is_some() != self.has_listener() {
            return Err(SecurityError::ProgramLoad {
                flags: self.flags,
                source: std::io::Error::other(if self.has_listener() {
                    "the loader returned no listener fd for SECCOMP_FILTER_FLAG_NEW_LISTENER"
                } else {
                    "the loader returned a listener fd that was not requested"
                }),
            });
        }
        Ok(fd)
    }
}

impl Filter {
    /// Generates the BPF program of this filter and the flags it must be loaded with.
    ///
    /// Unless the default action is allow, log or trace, the program starts with runc's ENOSYS rule: per
    /// architecture, a syscall numbered above every syscall the profile names fails with ENOSYS instead of the
    /// default action, so software probing newer syscalls falls back (see `enosys.rs`). [`Filter::load`] cannot
    /// do this (libseccomp loads its own program); [`Program::load_with`] does.
    ///
    /// # Errors
    /// [`SecurityError::Export`]/[`SecurityError::Libseccomp`] if libseccomp cannot generate it;
    /// [`SecurityError::ProgramTooLarge`] above the kernel's 4096 instructions (so it fails on the host, not in
    /// the container's init).
    pub fn program(&self) -> Result<Program, SecurityError> {
        let mut bpf = self.export_bpf()?;
        if let Some(last) = &self.last_syscalls {
            bpf = last.patch(bpf)?;
        }
        let instructions = bpf.len() / INSN_SIZE;
        if instructions > MAX_INSTRUCTIONS {
            return Err(SecurityError::ProgramTooLarge { instructions });
        }
        let mut flags = 0;
        // get_ctl_* fail only when libseccomp is too old to know the attribute, i.e. it cannot be set either.
        if self.ctx.get_ctl_log().unwrap_or(false) {
            flags |= FLAG_LOG;
        }
        if self.ctx.get_ctl_ssb().unwrap_or(false) {
            flags |= FLAG_SPEC_ALLOW;
        }
        if self.ctx.get_ctl_waitkill().unwrap_or(false) {
            flags |= FLAG_WAIT_KILLABLE_RECV;
        }
        if self.uses_notify {
            flags |= FLAG_NEW_LISTENER;
        }
        Ok(Program { bpf, flags })
    }
}

/// Identifies the generator of a [`Program`]: a cached program is only valid for the same libseccomp.
pub fn generator_version() -> String {
    match libseccomp::ScmpVersion::current() {
        Ok(v) => format!("libseccomp {}.{}.{}", v.major, v.minor, v.micro),
        Err(_) => "libseccomp unknown".into(),
    }
}

impl Program {
    /// The program as bytes for a cache: the flags (4 bytes, little endian), then the instructions.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.bpf.len());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.bpf);
        out
    }

    /// A program read back from [`Program::to_bytes`]; `None` if the bytes cannot be one (wrong length, too many
    /// instructions, unknown flags). The caller must only use bytes it wrote itself for the same profile and
    /// [`generator_version`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Program> {
        let (flags, bpf) = bytes.split_first_chunk::<4>()?;
        let flags = u32::from_le_bytes(*flags);
        let known = FLAG_LOG | FLAG_SPEC_ALLOW | FLAG_NEW_LISTENER | FLAG_WAIT_KILLABLE_RECV;
        if bpf.is_empty() || bpf.len() % INSN_SIZE != 0 || bpf.len() / INSN_SIZE > MAX_INSTRUCTIONS
        {
            return None;
        }
        if flags & !known != 0 {
            return None;
        }
        Some(Program {
            bpf: bpf.to_vec(),
            flags,
        })
    }
}

#[cfg(test)]
mod cache_bytes_tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_garbage_is_refused() {
        let p = Program {
            bpf: vec![6, 0, 0, 0, 0, 0, 0xff, 0x7f],
            flags: FLAG_LOG,
        };
        assert_eq!(Program::from_bytes(&p.to_bytes()), Some(p));
        assert_eq!(Program::from_bytes(&[]), None);
        assert_eq!(Program::from_bytes(&[0, 0, 0, 0, 1, 2, 3]), None);
        assert_eq!(
            Program::from_bytes(&[0, 0, 0, 0x80, 6, 0, 0, 0, 0, 0, 0xff, 0x7f]),
            None
        );
        assert!(generator_version().starts_with("libseccomp "));
    }
}
