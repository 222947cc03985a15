//! `start` (runtime.md "Start"): open the start gate, then run the poststart hooks.

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
    crate::gate::open(&dir, &gate)?;
    drop(gate);
    crate::gate::wait_for_exec(&watch, id)?;
    if !state.hooks.poststart.is_empty() {
        let json = serde_json::to_vec(&state.spec_view(Status::Running)).unwrap_or_default();
        crate::hooks::run_all_warn("poststart", &state.hooks.poststart, &json);
    }
    Ok(())
}
