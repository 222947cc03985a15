//! `kill` (runtime.md "Kill"): signal the init (through a pidfd, so a reused PID is never signalled), or with
//! `--all` every process in the container's cgroup.
//!
//! A stopped container follows runc, whose behaviour containerd's shim relies on: `kill --all` signals whatever is
//! left in its cgroup and succeeds; a plain `kill` fails with "container not running".

use crate::error::{Error, Result};
use crate::state::{StateRoot, Status};

/// Sends `signal` to container `id`.
pub fn kill(root: &StateRoot, id: &str, signal: i32, all: bool) -> Result<()> {
    let sig = parse_signal(signal)?;
    let dir = root.open(id)?;
    let state = dir.read_state()?;
    let status = dir.status(state.as_ref());
    let state = match (state, status) {
        (Some(state), Status::Created | Status::Running | Status::Paused) => state,
        (Some(state), Status::Stopped) => {
            if !all {
                return Err(Error::NotRunning(id.into()));
            }
            // Processes of a container without its own PID namespace can outlive its init.
            if let Some(cg) = &state.cgroup {
                if let Err(e) = cg.kill_all(sig.as_raw()) {
                    tracing::debug!("kill --all of stopped container {id}: {e}");
                }
            }
            return Ok(());
        }
        (_, status) => {
            return Err(Error::WrongState {
                id: id.into(),
                status: status.as_str(),
                op: "kill",
            })
        }
    };
    if all {
        if let Some(cg) = &state.cgroup {
            cg.kill_all(signal)?;
            return Ok(());
        }
    }
    signal_init(&state, signal)
}

fn parse_signal(signal: i32) -> Result<rustix::process::Signal> {
    rustix::process::Signal::from_named_raw(signal).ok_or_else(|| Error::Unsupported {
        field: "signal".into(),
        reason: format!("{signal} is not a signal number"),
    })
}

/// Signals the init of `state` through a pidfd opened after checking its start time.
pub fn signal_init(state: &crate::State, signal: i32) -> Result<()> {
    let pid = rustix::process::Pid::from_raw(state.pid)
        .ok_or_else(|| Error::NotFound(state.id.clone()))?;
    let pidfd = match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::SRCH) => return Err(Error::NotRunning(state.id.clone())),
        Err(e) => return Err(Error::sys("open a pidfd for the container init", e)),
    };
    // The pidfd pins the process: if the start time still matches, it is our init.
    if !state.init_alive() {
        return Err(Error::NotRunning(state.id.clone()));
    }
    let sig = parse_signal(signal)?;
    rustix::process::pidfd_send_signal(&pidfd, sig)
        .map_err(|e| Error::sys("signal the container init", e))
}
