//! [`run_in_child`]: do thread-spawning work (a D-Bus client) in a short-lived child, so the caller stays
//! single-threaded for the clones that follow.

use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::clone::{clone_unchecked, exit_immediately, require_single_threaded, Cloned};

/// Runs `f` in a forked child process and returns its result (the error text travels back through a pipe).
///
/// For work that starts threads, such as a D-Bus connection whose library runs an executor thread: the threads
/// live and die in the child, and the caller, which clones container processes and must have no other thread
/// when it does, stays single-threaded. The child is killed and reaped if it takes longer than `timeout`
/// (`ErrorKind::TimedOut`).
///
/// Refused with `ErrorKind::Unsupported` when the calling process already has more than one thread (a fork
/// would copy locks held by threads that do not exist in the child).
pub fn run_in_child(
    f: impl FnOnce() -> Result<(), String>,
    timeout: Duration,
) -> io::Result<Result<(), String>> {
    require_single_threaded(io::ErrorKind::Unsupported, |threads| {
        format!("run_in_child needs a single-threaded caller; this process has {threads} threads")
    })?;
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // SAFETY: the process is single-threaded (checked above), so the child may run any code; it ends in _exit.
    let pid = match unsafe { clone_unchecked(0, None) }?.0 {
        Cloned::Child => {
            drop(rd);
            let code = match f() {
                Ok(()) => 0,
                Err(msg) => {
                    let _ = rustix::io::write(&wr, msg.as_bytes());
                    1
                }
            };
            exit_immediately(code)
        }
        Cloned::Parent(pid) => pid,
    };
    drop(wr);
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let outcome = collect(&rd, &mut out, deadline);
    let child = rustix::process::Pid::from_raw(pid).expect("clone3 returns a positive pid");
    if outcome.is_err() {
        let _ = rustix::process::kill_process(child, rustix::process::Signal::KILL);
    }
    let status = rustix::process::waitpid(Some(child), rustix::process::WaitOptions::empty())?;
    outcome?;
    let ok = status.is_some_and(|(_, s)| s.exit_status() == Some(0));
    Ok(if ok {
        Ok(())
    } else if out.is_empty() {
        Err(format!(
            "helper process ended without a result ({status:?})"
        ))
    } else {
        Err(String::from_utf8_lossy(&out).into_owned())
    })
}

/// Reads `fd` to end of file, or fails with `TimedOut` at `deadline`.
fn collect(fd: &impl AsFd, out: &mut Vec<u8>, deadline: Instant) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "helper process did not finish in time",
            ));
        }
        let mut fds = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
        let ts = rustix::event::Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        match rustix::event::poll(&mut fds, Some(&ts)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(e.into()),
        }
        match rustix::io::read(fd, &mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_threaded_caller() {
        let _other = std::thread::spawn(|| std::thread::sleep(Duration::from_millis(500)));
        let err = run_in_child(|| Ok(()), Duration::from_secs(1)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    }
}
