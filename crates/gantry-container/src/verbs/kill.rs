//! `kill` (runtime.md "Kill"): signal the init (through a pidfd, so a reused PID is never signalled), or with
//! `--all` every process in the container's cgroup.

use crate::error::{Error, Result};
use crate::state::{StateRoot, Status};

/// Sends `signal` to container `id`.
pub fn kill(root: &StateRoot, id: &str, signal: i32, all: bool) -> Result<()> {
    let dir = root.open(id)?;
    let state = dir.read_state()?;
    let status = dir.status(state.as_ref());
    let Some(state) =
        state.filter(|_| matches!(status, Status::Created | Status::Running | Status::Paused))
    else {
        return Err(Error::WrongState {
            id: id.into(),
            status: status.as_str(),
            op: "kill",
        });
    };
    if all {
        if let Some(cg) = &state.cgroup {
            cg.kill_all(signal)?;
            return Ok(());
        }
    }
    signal_init(&state, signal)
}

/// Signals the init of `state` through a pidfd opened after checking its start time.
pub fn signal_init(state: &crate::State, signal: i32) -> Result<()> {
    let pid = rustix::process::Pid::from_raw(state.pid)
        .ok_or_else(|| Error::NotFound(state.id.clone()))?;
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
        .map_err(|e| Error::sys("open a pidfd for the container init", e))?;
    // The pidfd pins the process: if the start time still matches, it is our init.
    if !state.init_alive() {
        return Err(Error::WrongState {
            id: state.id.clone(),
            status: "stopped",
            op: "kill",
        });
    }
    let sig =
        rustix::process::Signal::from_named_raw(signal).ok_or_else(|| Error::Unsupported {
            field: "signal".into(),
            reason: format!("{signal} is not a signal number"),
        })?;
    rustix::process::pidfd_send_signal(&pidfd, sig)
        .map_err(|e| Error::sys("signal the container init", e))
}
