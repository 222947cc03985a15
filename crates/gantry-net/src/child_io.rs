//! Feeding a child's standard input and collecting its output and error with a deadline, on the calling thread
//! (poll(2), no helper threads: the engine must stay single-threaded).

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};

/// The most a child may print (a CNI result is a few kilobytes).
const MAX_OUTPUT: usize = 16 << 20;

/// What a finished child printed.
pub(crate) struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Writes `input` to the child's piped stdin (then closes it) while reading its piped stdout and stderr until
/// both close, then reaps it. If `timeout` passes first, the child is killed (SIGKILL), reaped, and
/// `ErrorKind::TimedOut` returned. A child that exits without reading all its input is not an error here (its
/// exit status tells).
pub(crate) fn run(mut child: Child, input: &[u8], timeout: Duration) -> io::Result<Output> {
    let deadline = Instant::now() + timeout;
    let mut inp = child.stdin.take();
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let (mut stdout, mut stderr, mut written) = (Vec::new(), Vec::new(), 0);
    let fds = [
        inp.as_ref().map(|f| f.as_fd()),
        out.as_ref().map(|f| f.as_fd()),
        err.as_ref().map(|f| f.as_fd()),
    ];
    for fd in fds.into_iter().flatten() {
        rustix::io::ioctl_fionbio(fd, true)?;
    }
    if input.is_empty() {
        inp = None;
    }
    while inp.is_some() || out.is_some() || err.is_some() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {timeout:?}; killed"),
            ));
        }
        let ts = Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: left.subsec_nanos() as i64,
        };
        let mut fds = Vec::with_capacity(3);
        if let Some(f) = inp.as_ref() {
            fds.push(PollFd::new(f, PollFlags::OUT));
        }
        if let Some(f) = out.as_ref() {
            fds.push(PollFd::new(f, PollFlags::IN));
        }
        if let Some(f) = err.as_ref() {
            fds.push(PollFd::new(f, PollFlags::IN));
        }
        match poll(&mut fds, Some(&ts)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        drop(fds);
        if let Some(f) = inp.as_mut() {
            match f.write(&input[written..]) {
                Ok(n) => written += n,
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::Interrupted => {}
                // EPIPE: the child closed its input; what it printed still counts.
                Err(_) => written = input.len(),
            }
            if written >= input.len() {
                inp = None;
            }
        }
        if let Some(f) = out.as_mut() {
            if drain(f, &mut stdout)? {
                out = None;
            }
        }
        if let Some(f) = err.as_mut() {
            if drain(f, &mut stderr)? {
                err = None;
            }
        }
        if stdout.len() + stderr.len() > MAX_OUTPUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("printed more than {} MiB; killed", MAX_OUTPUT >> 20),
            ));
        }
    }
    let status = child.wait()?;
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Reads what is available; true at end of file.
fn drain(f: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut chunk = [0u8; 8192];
    loop {
        match f.read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn sh(script: &str) -> Child {
        Command::new("/bin/sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    #[test]
    fn collects_both_streams_and_the_status() {
        let o = run(
            sh("echo out; echo err >&2; exit 3"),
            b"in",
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(
            (o.stdout.as_slice(), o.stderr.as_slice()),
            (&b"out\n"[..], &b"err\n"[..])
        );
        assert_eq!(o.status.code(), Some(3));
    }

    #[test]
    fn large_input_and_output_flow_both_ways_without_deadlock() {
        // cat echoes as it reads: neither side may wait for the other to finish first.
        let input = vec![b'a'; 1 << 20];
        let o = run(sh("cat"), &input, Duration::from_secs(20)).unwrap();
        assert_eq!(o.stdout.len(), input.len());
        assert!(o.status.success());
        // A child that ignores its input still gets its output collected.
        let o = run(sh("echo done"), &input, Duration::from_secs(20)).unwrap();
        assert_eq!(o.stdout, b"done\n");
    }

    #[test]
    fn endless_output_is_cut_off() {
        let e = run(sh("exec yes"), b"", Duration::from_secs(60))
            .err()
            .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_hung_child_is_killed_at_the_deadline() {
        let start = Instant::now();
        let e = run(sh("exec sleep 30"), b"x", Duration::from_millis(200))
            .err()
            .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
