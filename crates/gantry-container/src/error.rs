//! The container library's error type: every variant says what failed, on which container, path or field.

use std::io;
use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a lifecycle operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The container id is not acceptable.
    #[error("invalid container id {id:?}: {reason}")]
    InvalidId {
        /// The id as given.
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A container with this id exists already.
    #[error("container {0:?} already exists (delete it first, or choose another id)")]
    Exists(String),
    /// No container with this id.
    #[error("container {0:?} does not exist")]
    NotFound(String),
    /// The operation is not allowed in the container's current state.
    #[error("cannot {op} container {id:?}: it is {status}")]
    WrongState {
        /// The container.
        id: String,
        /// Its status.
        status: &'static str,
        /// What was attempted.
        op: &'static str,
    },
    /// A plain `kill` of a container whose init has exited (runc's wording, which containerd's shim matches).
    #[error("container not running: {0:?} has stopped (kill --all still signals what is left in its cgroup)")]
    NotRunning(String),
    /// The bundle's config.json is invalid.
    #[error(transparent)]
    Spec(Box<gantry_spec::SpecError>),
    /// A cgroup operation failed.
    #[error(transparent)]
    Cgroup(Box<gantry_cgroups::CgroupError>),
    /// Capabilities or seccomp settings are invalid.
    #[error(transparent)]
    Security(Box<gantry_security::SecurityError>),
    /// A system call on a path failed.
    #[error("{op} {path}: {source}")]
    Path {
        /// The operation (e.g. "create state directory").
        op: &'static str,
        /// The path it acted on.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Sys {
        /// The operation.
        op: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The container's init process failed during setup; `context` names the step and its field or path.
    #[error("container init: {context}: {source}")]
    Init {
        /// What the init was doing (e.g. "mount proc on /proc (mounts[0])").
        context: String,
        /// The OS error it got.
        source: io::Error,
    },
    /// The container's init process died during setup without reporting why.
    #[error("container init exited during setup ({0})")]
    InitDied(String),
    /// A hook failed.
    #[error("hook hooks.{kind}[{index}] ({path}): {reason}")]
    Hook {
        /// Which hook list.
        kind: &'static str,
        /// Index in the list.
        index: usize,
        /// The hook's path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The state file of a container is damaged.
    #[error("state of container {id:?} is unreadable ({path}): {reason}")]
    BadState {
        /// The container.
        id: String,
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration value cannot be honoured on this host or by this build.
    #[error("{field}: {reason}")]
    Unsupported {
        /// The config field or CLI flag.
        field: String,
        /// Why, and what to do.
        reason: String,
    },
}

impl From<gantry_spec::SpecError> for Error {
    fn from(e: gantry_spec::SpecError) -> Self {
        Error::Spec(Box::new(e))
    }
}

impl From<gantry_cgroups::CgroupError> for Error {
    fn from(e: gantry_cgroups::CgroupError) -> Self {
        Error::Cgroup(Box::new(e))
    }
}

impl From<gantry_security::SecurityError> for Error {
    fn from(e: gantry_security::SecurityError) -> Self {
        Error::Security(Box::new(e))
    }
}

impl Error {
    /// A path error.
    pub fn path(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Path {
            op,
            path: path.into(),
            source,
        }
    }

    /// A syscall error.
    pub fn sys(op: &'static str, source: impl Into<io::Error>) -> Self {
        Error::Sys {
            op,
            source: source.into(),
        }
    }
}
