//! `delete` (runtime.md "Delete"): remove a stopped container (or, with `--force`, kill it first), its cgroup and
//! state, then run the poststop hooks.

use std::os::fd::AsFd;

use crate::error::{Error, Result};
use crate::state::{StateRoot, Status};

/// Deletes container `id`.
pub fn delete(root: &StateRoot, id: &str, force: bool) -> Result<()> {
    let dir = match root.open(id) {
        Err(Error::NotFound(_)) if force => return Ok(()),
        r => r?,
    };
    dir.lock()?;
    let state = dir.read_state()?;
    let status = dir.status(state.as_ref());
    // runtime.md "Delete": deleting a container that is not stopped MUST be an error (unless forced).
    match status {
        Status::Stopped => {}
        _ if force => {}
        _ => {
            return Err(Error::WrongState {
                id: id.into(),
                status: status.as_str(),
                op: "delete (use --force to kill it first)",
            })
        }
    }
    let Some(state) = state else {
        return dir.remove();
    };
    // A provisional record's pid is its `create` process, never to be signalled from here.
    if status != Status::Stopped && !state.creating {
        kill_and_wait(&state)?;
    }
    if let Some(cg) = &state.cgroup {
        if status == Status::Paused {
            let _ = cg.thaw();
        }
        // Other processes may remain (no PID namespace, or a shared one): they go with the container.
        let _ = cg.kill_all(libc::SIGKILL);
        cg.destroy()?;
        if state.creating {
            // A create killed midway: its record predates the cgroup, so which directories it made is unknown.
            // Remove the container's own (leaf) directories, as runc removes its cgroup paths; parents stay.
            remove_leaves(cg)?;
        }
    }
    crate::net::devices::return_kept(&dir);
    dir.remove()?;
    if !state.hooks.poststop.is_empty() {
        let json = serde_json::to_vec(&state.spec_view(Status::Stopped)).unwrap_or_default();
        crate::hooks::run_all_warn("poststop", &state.hooks.poststop, &json);
    }
    Ok(())
}

/// SIGKILLs the init and waits (via pidfd) until it is gone.
fn kill_and_wait(state: &crate::State) -> Result<()> {
    let Some(pid) = rustix::process::Pid::from_raw(state.pid) else {
        return Ok(());
    };
    let Ok(pidfd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) else {
        return Ok(()); // already gone
    };
    if !state.init_alive() {
        return Ok(());
    }
    if let Some(cg) = &state.cgroup {
        let _ = cg.thaw();
    }
    let _ = rustix::process::pidfd_send_signal(&pidfd, rustix::process::Signal::KILL);
    let fd = pidfd.as_fd();
    let mut fds = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::IN,
    )];
    let timeout = rustix::event::Timespec {
        tv_sec: 10,
        tv_nsec: 0,
    };
    rustix::event::poll(&mut fds, Some(&timeout))
        .map_err(|e| Error::sys("wait for the container init", e))?;
    Ok(())
}

/// Removes the cgroup's leaf directory in every hierarchy where it exists, waiting (bounded) for killed processes
/// to leave it.
fn remove_leaves(cg: &gantry_cgroups::Cgroup) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    for dir in cg.dirs() {
        loop {
            match std::fs::remove_dir(dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e)
                    if e.raw_os_error() == Some(libc::EBUSY)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => return Err(Error::path("remove cgroup directory", dir, e)),
            }
        }
    }
    Ok(())
}
