//! `run`: create, start, wait, delete in one process — the container's exit status becomes ours.
//!
//! Every catchable asynchronous signal, SIGCHLD included, is blocked *before* the init is cloned and then taken
//! synchronously with `sigwaitinfo`: the exit cannot be missed (the zombie waits for us), and other signals are
//! forwarded to the container's init. The init restores the caller's mask before exec.

use crate::error::{Error, Result};
use crate::state::{StateRoot, Status};
use crate::verbs::create::{create, CreateOptions};
use gantry_sys::signal::{self, SigSet};

/// Runs a container; returns its exit code (128+N when killed by signal N). With `detach`, returns 0 once started.
pub fn run(root: &StateRoot, opts: &CreateOptions, detach: bool) -> Result<i32> {
    let set = forwarded_signals();
    let old = signal::block(&set).map_err(|e| Error::sys("block signals", e))?;
    let result = run_blocked(root, opts, detach, &set, old);
    let _ = signal::set_mask(&old);
    result
}

/// The signals a foreground runtime blocks and takes with `sigwaitinfo` (all but the synchronous and
/// uncatchable ones); SIGCHLD is reset to its default disposition so it is generated.
pub fn forwarded_signals() -> SigSet {
    signal::set_default(libc::SIGCHLD);
    let mut set = SigSet::all();
    for sig in [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGTRAP,
    ] {
        set.remove(sig);
    }
    set
}

fn run_blocked(
    root: &StateRoot,
    opts: &CreateOptions,
    detach: bool,
    set: &SigSet,
    old: SigSet,
) -> Result<i32> {
    let created = create(root, opts, old)?;
    let pid = created.state.pid;
    if let Err(e) = created.open_gate() {
        let _ = crate::verbs::delete::delete(root, &opts.id, true);
        return Err(e);
    }
    drop(created.exec_fifo);
    let state = created.state;
    drop(created.dir); // release the lock: others may query, signal or delete while it runs
    if !state.hooks.poststart.is_empty() {
        let json = serde_json::to_vec(&state.spec_view(Status::Running)).unwrap_or_default();
        crate::hooks::run_all_warn("poststart", &state.hooks.poststart, &json);
    }
    if detach {
        return Ok(0);
    }
    let code = wait_forwarding(pid, set)?;
    crate::verbs::delete::delete(root, &opts.id, true)?;
    Ok(code)
}

/// Waits for child `pid` while forwarding every signal of `set` but SIGCHLD to it; returns its exit code
/// (128+N when killed by signal N).
pub(crate) fn wait_forwarding(pid: i32, set: &SigSet) -> Result<i32> {
    wait_forwarding_with(pid, set, |_| false)
}

/// [`wait_forwarding`] with a hook: `handled(sig)` runs first for each signal, and a signal it reports handled
/// (e.g. SIGWINCH for a terminal the caller relays) is not forwarded.
pub fn wait_forwarding_with(
    pid: i32,
    set: &SigSet,
    mut handled: impl FnMut(i32) -> bool,
) -> Result<i32> {
    let child =
        rustix::process::Pid::from_raw(pid).ok_or_else(|| Error::InitDied("invalid pid".into()))?;
    loop {
        // Reap first: the init may already have exited before we wait for a signal.
        match rustix::process::waitpid(Some(child), rustix::process::WaitOptions::NOHANG) {
            Ok(Some((_, st))) => {
                if let Some(sig) = st.terminating_signal() {
                    return Ok(128 + sig);
                }
                return Ok(st.exit_status().unwrap_or(0));
            }
            Ok(None) => {}
            Err(e) => return Err(Error::sys("wait for the container", e)),
        }
        let sig = signal::wait(set).map_err(|e| Error::sys("wait for signals", e))?;
        if sig != libc::SIGCHLD && !handled(sig) {
            if let Some(s) = rustix::process::Signal::from_named_raw(sig) {
                let _ = rustix::process::kill_process(child, s);
            }
        }
    }
}
