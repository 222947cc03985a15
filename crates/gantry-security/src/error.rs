//! The one error type of this crate: every variant names the spec field or the operation that failed.

use std::path::PathBuf;

/// Why a capability plan or a seccomp filter could not be built, loaded or handed to an agent.
///
/// Variants raised while *building* (`caps::plan`, `seccomp::compile`) name the JSON field of `config.json`
/// (e.g. `linux.seccomp.syscalls[3].args[0].index`), so the runtime can refuse the bundle before it creates
/// anything. Variants raised while *applying* name the kernel operation and carry its errno.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecurityError {
    /// A capability name that neither the spec nor the `caps` crate knows.
    #[error("{field}: unknown capability {name:?} (names look like \"CAP_NET_ADMIN\")")]
    UnknownCapability {
        /// The field that held the name, e.g. `process.capabilities.bounding` or `exec --cap`.
        field: String,
        /// The name as given.
        name: String,
    },

    /// Two capability sets contradict each other in a way the kernel would refuse later.
    #[error("{field}: {cap} {reason}")]
    CapabilityConflict {
        /// The set holding the capability, e.g. `process.capabilities.effective`.
        field: &'static str,
        /// The capability name.
        cap: String,
        /// Why it cannot work and what to do.
        reason: &'static str,
    },

    /// `/proc/sys/kernel/cap_last_cap` could not be read or parsed.
    #[error("reading the kernel's last capability from {path}: {reason}; is /proc mounted?")]
    LastCap {
        /// The file that was read.
        path: PathBuf,
        /// What went wrong (I/O error or the unparsable content).
        reason: String,
    },

    /// A capability syscall (capset, prctl) failed inside the container's init.
    #[error("{op}: {source}")]
    CapabilitySyscall {
        /// The operation, e.g. `prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN)`.
        op: String,
        /// The errno.
        #[source]
        source: std::io::Error,
    },

    /// An architecture that this build of libseccomp cannot filter.
    #[error("{field}: architecture {arch} is not supported by libseccomp {libseccomp}: {source}")]
    UnsupportedArch {
        /// e.g. `linux.seccomp.architectures[2]`.
        field: String,
        /// The `SCMP_ARCH_*` name.
        arch: String,
        /// The libseccomp version in use.
        libseccomp: String,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// `errnoRet`/`defaultErrnoRet` given for an action that returns no errno, or out of range.
    #[error("{field}: {reason}")]
    BadErrnoRet {
        /// e.g. `linux.seccomp.syscalls[4].errnoRet`.
        field: String,
        /// What is wrong and what to do.
        reason: String,
    },

    /// A syscall argument index outside 0..=5.
    #[error(
        "{field}: argument index {index} is out of range (a syscall has at most 6 arguments, 0-5)"
    )]
    ArgIndex {
        /// e.g. `linux.seccomp.syscalls[1].args[0].index`.
        field: String,
        /// The index given.
        index: usize,
    },

    /// `SCMP_ACT_NOTIFY` used where the runtime cannot honour it.
    #[error("{field}: SCMP_ACT_NOTIFY {reason}")]
    NotifyNotAllowed {
        /// The field holding the action.
        field: String,
        /// Why, and what to do instead.
        reason: &'static str,
    },

    /// A seccomp filter flag that this libseccomp or kernel cannot set.
    #[error("{field}: seccomp flag {flag} is not supported by libseccomp {libseccomp} on this kernel: {source}")]
    UnsupportedFlag {
        /// e.g. `linux.seccomp.flags[0]`.
        field: String,
        /// The `SECCOMP_FILTER_FLAG_*` name.
        flag: String,
        /// The libseccomp version in use.
        libseccomp: String,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// libseccomp refused an operation while the filter was built (field says which part of the profile).
    #[error("{field}: {op}: {source}")]
    Libseccomp {
        /// The profile field being compiled, e.g. `linux.seccomp.syscalls[7]` or `linux.seccomp.defaultAction`.
        field: String,
        /// The operation, e.g. `adding rule for "mkdir"`.
        op: String,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// Writing the compiled filter out (BPF or PFC export, used by tests and debugging) failed.
    #[error("exporting the seccomp filter through a memfd: {source}")]
    Export {
        /// The errno.
        #[source]
        source: std::io::Error,
    },

    /// The generated BPF program is longer than the kernel accepts.
    #[error("linux.seccomp: the filter compiles to {instructions} BPF instructions, above the kernel's limit of 4096; \
             merge rules or drop architectures")]
    ProgramTooLarge {
        /// How many instructions libseccomp generated.
        instructions: usize,
    },

    /// Loading the compiled filter into the kernel failed.
    #[error(
        "loading the seccomp filter into the kernel: {errno}: {source} (without noNewPrivileges this needs \
         CAP_SYS_ADMIN; EINVAL means the kernel refused the program or a flag)"
    )]
    Load {
        /// The errno name (e.g. `EACCES`), or `unknown errno`.
        errno: String,
        /// libseccomp's error (its errno is the kernel's).
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// Loading a pre-generated BPF program (`Program::load_with`) failed.
    #[error("loading the seccomp BPF program (seccomp(2) flags {flags:#x}): {source}")]
    ProgramLoad {
        /// The `SECCOMP_FILTER_FLAG_*` bits passed.
        flags: u32,
        /// The loader's error.
        #[source]
        source: std::io::Error,
    },

    /// The runtime could not duplicate the notify fd out of the container's init (`pidfd_getfd(2)`).
    #[error("taking the seccomp notify fd {fd} from the container's init (pidfd_getfd): {source}")]
    NotifyFetch {
        /// The fd number in the init process.
        fd: i32,
        /// The errno.
        #[source]
        source: std::io::Error,
    },

    /// Talking to the seccomp agent at `linux.seccomp.listenerPath` failed.
    #[error("linux.seccomp.listenerPath {path}: {op}: {source}")]
    Listener {
        /// The socket path.
        path: PathBuf,
        /// `connect`, `sendmsg`, ...
        op: &'static str,
        /// The errno.
        #[source]
        source: std::io::Error,
    },

    /// Encoding the container process state for the agent failed.
    #[error("encoding the container process state for the seccomp agent: {0}")]
    StateJson(#[from] serde_json::Error),
}
