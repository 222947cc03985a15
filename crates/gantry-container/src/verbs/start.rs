//! `start` (runtime.md "Start"): open the start gate, then run the poststart hooks.

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{self as rfs, Mode, OFlags};

use crate::error::{Error, Result};
use crate::state::{StateRoot, Status, EXEC_FIFO};

/// Starts container `id`, which must be `created`.
pub fn start(root: &StateRoot, id: &str) -> Result<()> {
    let dir = root.open(id)?;
    dir.lock()?;
    let state = dir.read_state()?;
    let status = dir.status(state.as_ref());
    let state = match (status, state) {
        (Status::Created, Some(s)) => s,
        (status, _) => {
            return Err(Error::WrongState {
                id: id.into(),
                status: status.as_str(),
                op: "start",
            })
        }
    };
    let gate_path = || dir.path().join(EXEC_FIFO);
    // Our read end lets us see (POLLHUP) when the init's end closes: at its execve, or when it dies.
    let watch = rfs::openat(
        dir.fd(),
        EXEC_FIFO,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| Error::path("open the start gate", gate_path(), e.into()))?;
    let gate = dir
        .open_exec_fifo_writer()?
        .ok_or_else(|| Error::WrongState {
            id: id.into(),
            status: "stopped",
            op: "start",
        })?;
    rustix::io::write(&gate, &[0])
        .map_err(|e| Error::path("open the start gate", gate_path(), e.into()))?;
    drop(gate);
    dir.remove_file(EXEC_FIFO)?;
    wait_for_exec(&watch, id)?;
    if !state.hooks.poststart.is_empty() {
        let json = serde_json::to_vec(&state.spec_view(Status::Running)).unwrap_or_default();
        crate::hooks::run_all_warn("poststart", &state.hooks.poststart, &json);
    }
    Ok(())
}

/// Waits until the init has exec'd the user process (its end of the gate closed) and reports a startContainer
/// hook failure it wrote into the gate.
fn wait_for_exec(watch: &OwnedFd, id: &str) -> Result<()> {
    let fd = watch.as_fd();
    let mut fds = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::empty(),
    )];
    loop {
        match rustix::event::poll(&mut fds, None) {
            Ok(_) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(Error::sys("wait for the container to start", e)),
        }
    }
    let mut byte = [0u8; 1];
    if let Ok(1) = rustix::io::read(watch, &mut byte) {
        if byte == *crate::process::init::START_FAILED {
            return Err(Error::Hook {
                kind: "startContainer",
                index: 0,
                path: String::new(),
                reason: format!(
                    "a startContainer hook of container {id:?} failed; the process was not started"
                ),
            });
        }
    }
    Ok(())
}
