//! `start` (runtime.md "Start"): open the start gate, then run the poststart hooks.

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
    let gate = dir
        .open_exec_fifo_writer()?
        .ok_or_else(|| Error::WrongState {
            id: id.into(),
            status: "stopped",
            op: "start",
        })?;
    rustix::io::write(&gate, &[0])
        .map_err(|e| Error::path("open the start gate", dir.path().join(EXEC_FIFO), e.into()))?;
    drop(gate);
    dir.remove_file(EXEC_FIFO)?;
    if !state.hooks.poststart.is_empty() {
        let json = serde_json::to_vec(&state.spec_view(Status::Running)).unwrap_or_default();
        crate::hooks::run_all_warn("poststart", &state.hooks.poststart, &json);
    }
    Ok(())
}
