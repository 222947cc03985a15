//! The start gate (see [`crate::process`]): the FIFO `exec.fifo` in the container's state directory, on which the
//! created init blocks until `start` (or `run`, or the engine) writes one byte. The one owner of how it is opened
//! and of how the init reports a failed `startContainer` hook through it.

use std::os::fd::{AsFd, OwnedFd};

use crate::error::{Error, Result};
use crate::state::{ContainerDir, EXEC_FIFO};

/// What the init writes into the gate when a `startContainer` hook failed after the gate was opened.
pub(crate) const START_FAILED: &[u8] = b"F";

/// Opens the gate of the container in `dir` through `writer` (a write end of its FIFO) and removes the FIFO, so
/// the container cannot be started twice.
pub(crate) fn open(dir: &ContainerDir, writer: &OwnedFd) -> Result<()> {
    rustix::io::write(writer, &[0])
        .map_err(|e| Error::path("open the start gate", dir.path().join(EXEC_FIFO), e.into()))?;
    dir.remove_file(EXEC_FIFO)
}

/// Waits until the init has exec'd the user process (its end of the gate closed; `watch` is a read end opened
/// before the gate) and reports a `startContainer` hook failure it wrote into the gate.
pub(crate) fn wait_for_exec(watch: &OwnedFd, id: &str) -> Result<()> {
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
        if byte == *START_FAILED {
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
