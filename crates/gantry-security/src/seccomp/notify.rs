//! Handing the `SCMP_ACT_NOTIFY` listener to the seccomp agent named by `linux.seccomp.listenerPath`.
//!
//! The runtime (host side, not the container's init: `listenerPath` is a host path) connects to the agent's
//! unix socket and sends, in one message, the container process state JSON of the runtime spec
//! (`containerProcessState`: `ociVersion`, `fds`, `pid`, `metadata`, `state`) with the listener fd attached via
//! `SCM_RIGHTS`; `fds[i]` names the i-th attached fd (`"seccompFd"`).

use crate::SecurityError;
use oci_spec::runtime::{ContainerProcessState, State, SECCOMP_FD_NAME};
use rustix::net::{sendmsg, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
use rustix::process::{pidfd_getfd, PidfdGetfdFlags};
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Most fds one message to the agent carries (the spec defines one, `seccompFd`).
const MAX_FDS: usize = 4;

/// Duplicates the notify fd `fd` (the number [`super::Filter::load`] returned in the container's init) into this
/// process, given a pidfd of the init (`pidfd_open(2)`). The copy is close-on-exec.
///
/// This is how runc moves the fd: the init reports the number, the parent takes it with `pidfd_getfd(2)`.
///
/// # Errors
/// [`SecurityError::NotifyFetch`] with the errno (EPERM without ptrace rights over the init, EBADF if the number
/// is wrong).
pub fn fetch_notify_fd(pidfd: impl AsFd, fd: RawFd) -> Result<OwnedFd, SecurityError> {
    pidfd_getfd(pidfd, fd, PidfdGetfdFlags::empty()).map_err(|e| SecurityError::NotifyFetch {
        fd,
        source: e.into(),
    })
}

/// The runtime spec's container process state for the agent, as JSON: `fds` is `["seccompFd"]`, `pid` the
/// container process as seen by the runtime, `metadata` the profile's `listenerMetadata`, `ociVersion` the
/// state's.
///
/// # Errors
/// [`SecurityError::StateJson`] if the state cannot be encoded.
pub fn process_state_json(
    state: &State,
    pid: i32,
    metadata: Option<&str>,
) -> Result<Vec<u8>, SecurityError> {
    let mut s = ContainerProcessState::default();
    s.set_version(state.version().clone());
    s.set_fds(vec![SECCOMP_FD_NAME.to_owned()]);
    s.set_pid(pid);
    s.set_metadata(metadata.map(str::to_owned));
    s.set_state(state.clone());
    Ok(serde_json::to_vec(&s)?)
}

/// Connects to the agent's unix socket at `listener_path` and sends `state_json` (see [`process_state_json`])
/// with `fds` attached via `SCM_RIGHTS`, in one `sendmsg(2)`; then closes the connection.
///
/// # Errors
/// [`SecurityError::Listener`] naming the path and the failed step (`connect`, `sendmsg`); more than four fds or
/// none is refused as `EINVAL`.
pub fn send_to_listener(
    listener_path: &Path,
    fds: &[BorrowedFd<'_>],
    state_json: &[u8],
) -> Result<(), SecurityError> {
    let err = |op: &'static str| {
        move |source: std::io::Error| SecurityError::Listener {
            path: listener_path.to_owned(),
            op,
            source,
        }
    };
    if fds.is_empty() || fds.len() > MAX_FDS {
        return Err(err("sendmsg")(std::io::Error::from_raw_os_error(
            rustix::io::Errno::INVAL.raw_os_error(),
        )));
    }
    let conn = UnixStream::connect(listener_path).map_err(err("connect"))?;
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(err("sendmsg")(std::io::Error::from_raw_os_error(
            rustix::io::Errno::NOBUFS.raw_os_error(),
        )));
    }
    let iov = [IoSlice::new(state_json)];
    let sent = sendmsg(&conn, &iov, &mut control, SendFlags::NOSIGNAL)
        .map_err(|e| err("sendmsg")(e.into()))?;
    if sent != state_json.len() {
        // A stream socket may take part of the message; the fds went with the first byte, send the rest plainly.
        use std::io::Write;
        (&conn)
            .write_all(&state_json[sent..])
            .map_err(err("write"))?;
    }
    Ok(())
}
