//! The one error type of this crate: every variant names the path or spec field and the operation that failed.

use std::io;
use std::path::PathBuf;

/// An error from a cgroup operation.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A file of a cgroup filesystem (or `/proc/self/mountinfo`) could not be read, written, created or removed.
    #[error("cgroup: {op} {}: {source}", path.display())]
    Io {
        /// What was being done (`"read"`, `"write"`, `"mkdir"`, `"rmdir"`, ...).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A line of mountinfo could not be parsed.
    #[error("cgroup: cannot parse mountinfo line {line}: {reason}")]
    MountInfo {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No cgroup filesystem is mounted at all.
    #[error("cgroup: no cgroup v1 or cgroup2 filesystem is mounted (see /proc/self/mountinfo); mount one under /sys/fs/cgroup")]
    NoCgroupMounts,
    /// `linux.cgroupsPath` (or the container id used to build the default path) is unusable.
    #[error("cgroup: invalid {field} {value:?}: {reason}")]
    InvalidPath {
        /// The spec field (`linux.cgroupsPath` or `container id`).
        field: &'static str,
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A resource was requested on a controller this host does not provide to the container's cgroup.
    #[error("cgroup: {field} is set but the {controller} cgroup controller is not available on this host{}",
        if .detail.is_empty() { String::new() } else { format!(" ({})", .detail) })]
    MissingController {
        /// The spec field, e.g. `linux.resources.network.classID`.
        field: String,
        /// The controller name, e.g. `net_cls`.
        controller: &'static str,
        /// Extra context, e.g. the file that is missing.
        detail: String,
    },
    /// A resource value is out of range or malformed.
    #[error("cgroup: invalid value for {field}: {reason}")]
    InvalidValue {
        /// The spec field, e.g. `linux.resources.memory.swappiness`.
        field: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// A resource cannot be expressed on this cgroup version.
    #[error("cgroup: {field} is not supported on {version}: {reason}")]
    Unsupported {
        /// The spec field.
        field: String,
        /// `"cgroup v1"` or `"cgroup v2"`.
        version: &'static str,
        /// What to do instead.
        reason: &'static str,
    },
    /// A write to a controller file was refused by the kernel.
    #[error("cgroup: cannot set {field}: write {value:?} to {}: {source}", path.display())]
    Write {
        /// The spec field being applied.
        field: String,
        /// The file written.
        path: PathBuf,
        /// The value written.
        value: String,
        /// The kernel's answer.
        #[source]
        source: io::Error,
    },
    /// The memory limit is below what the cgroup already uses and `checkBeforeUpdate` was requested.
    #[error("cgroup: linux.resources.memory.limit {limit} is below the current usage {usage} of {} (checkBeforeUpdate is set)", path.display())]
    LimitBelowUsage {
        /// Requested limit in bytes.
        limit: i64,
        /// Current usage in bytes.
        usage: u64,
        /// The cgroup directory.
        path: PathBuf,
    },
    /// A state change (freeze, thaw, emptying before removal) did not complete in time.
    #[error("cgroup: timed out waiting to {op} {}", path.display())]
    Timeout {
        /// What was awaited.
        op: &'static str,
        /// The cgroup directory.
        path: PathBuf,
    },
    /// A signal number that cannot be sent from safe code (real-time signals are not supported yet).
    #[error(
        "cgroup: cannot send signal {0}: only the standard named signals (1-31) are supported"
    )]
    UnsupportedSignal(i32),
    /// Loading or attaching the eBPF device filter failed.
    #[error("cgroup: {op} of the eBPF device program for {}: {source}", path.display())]
    Bpf {
        /// `"load"`, `"attach"`, `"query"` or `"detach"`.
        op: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// The kernel's answer (the verifier log is appended for loads when available).
        #[source]
        source: io::Error,
    },
    /// A controller file held something this crate cannot parse.
    #[error("cgroup: unexpected content in {}: {reason}", path.display())]
    Parse {
        /// The file read.
        path: PathBuf,
        /// What was expected.
        reason: &'static str,
    },
    /// The systemd cgroup driver was requested.
    #[error("systemd cgroup driver requested but systemd is not running (no /run/systemd/system); drop --systemd-cgroup to use the cgroupfs driver")]
    SystemdNotRunning,
    /// The systemd cgroup driver was requested on a host without a pure cgroup v2 hierarchy.
    #[error("systemd cgroup driver requested on a {mode} cgroup host; only pure cgroup v2 hosts are supported: drop --systemd-cgroup to use the cgroupfs driver")]
    SystemdNeedsV2 {
        /// The host's arrangement (`v1` or `hybrid`).
        mode: &'static str,
    },
    /// systemd refused or failed a request for the container's unit, or could not be reached over D-Bus.
    #[error("systemd cgroup driver: {action} {unit}: {reason}")]
    Systemd {
        /// The unit, e.g. `gantry-abc.scope`.
        unit: String,
        /// What was asked (`start`, `stop`).
        action: &'static str,
        /// systemd's or D-Bus's answer.
        reason: String,
    },
}

impl CgroupError {
    /// Whether the kernel refused for lack of privilege (`EPERM`/`EACCES`), e.g. in a rootless container without
    /// a delegated cgroup: the runtime may then go on without cgroups when no resource was requested, as runc does.
    pub fn is_permission_denied(&self) -> bool {
        let source = match self {
            CgroupError::Io { source, .. }
            | CgroupError::Write { source, .. }
            | CgroupError::Bpf { source, .. } => source,
            _ => return false,
        };
        source.kind() == io::ErrorKind::PermissionDenied
            || source.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error())
    }

    /// Shorthand for [`CgroupError::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        CgroupError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_errors_are_recognised() {
        let eperm = CgroupError::io("mkdir", "/x", io::Error::from_raw_os_error(1));
        let eacces = CgroupError::io("mkdir", "/x", io::Error::from_raw_os_error(13));
        let enoent = CgroupError::io("mkdir", "/x", io::Error::from_raw_os_error(2));
        assert!(eperm.is_permission_denied() && eacces.is_permission_denied());
        assert!(
            !enoent.is_permission_denied() && !CgroupError::NoCgroupMounts.is_permission_denied()
        );
        assert_eq!(
            eperm.to_string(),
            "cgroup: mkdir /x: Operation not permitted (os error 1)"
        );
    }
}
