//! `gantry run -it` of a pod in the foreground: the first app gets a pty (as with podman, the other apps keep
//! gantry's stdout and stderr), and the supervisor relays it to gantry's own terminal, in raw mode, from its
//! single poll loop — no threads, since the supervisor clones the apps (and restarts them) at any time.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::super::container::terminal::{own_size, RawMode};

/// The first app's pty master and gantry's terminal.
pub struct Relay {
    /// The pty master while the app's terminal is open (replaced when the app is restarted).
    master: Option<OwnedFd>,
    /// Whether gantry's stdin is relayed to the app (`-i`) and has not reached end of file.
    stdin_open: bool,
    /// Gantry's terminal in raw mode while the relay lives: keys reach the app as typed (^C included).
    _raw: RawMode,
}

impl Relay {
    /// Puts gantry's terminal in raw mode; `interactive` (`-i`) relays stdin too.
    pub fn new(interactive: bool) -> Relay {
        Relay {
            master: None,
            stdin_open: interactive,
            _raw: RawMode::enter(),
        }
    }

    /// Relays the pty of a (re)started first app.
    pub fn attach(&mut self, master: OwnedFd) {
        self.master = Some(master);
    }

    /// The pty master, to poll for output.
    pub fn master(&self) -> Option<BorrowedFd<'_>> {
        self.master.as_ref().map(AsFd::as_fd)
    }

    /// Gantry's stdin, to poll for input (`-i`, until end of file).
    pub fn stdin(&self) -> Option<BorrowedFd<'static>> {
        (self.stdin_open && self.master.is_some()).then(rustix::stdio::stdin)
    }

    /// Copies what the app wrote to gantry's stdout (one read: called when poll said the master is readable);
    /// forgets the master once its terminal is closed (EIO: the app is gone).
    pub fn pump_out(&mut self) {
        let Some(m) = &self.master else { return };
        let mut buf = [0u8; 8192];
        match rustix::io::read(m, &mut buf) {
            Ok(n @ 1..) => write_all(rustix::stdio::stdout(), &buf[..n]),
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
            _ => self.master = None,
        }
    }

    /// Copies what is left to read from the master (the app exited) without blocking.
    pub fn drain(&mut self) {
        while let Some(m) = &self.master {
            let mut fds = [rustix::event::PollFd::new(m, rustix::event::PollFlags::IN)];
            let zero = rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            match rustix::event::poll(&mut fds, Some(&zero)) {
                Ok(1..) => self.pump_out(),
                _ => return,
            }
        }
    }

    /// Copies what gantry read on its stdin to the app (one read, after poll); stops at end of file.
    pub fn pump_in(&mut self) {
        let Some(m) = &self.master else { return };
        let mut buf = [0u8; 8192];
        match rustix::io::read(rustix::stdio::stdin(), &mut buf) {
            Ok(n @ 1..) => write_all(m.as_fd(), &buf[..n]),
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
            _ => self.stdin_open = false,
        }
    }

    /// SIGWINCH: gives the app's pty gantry's terminal size (the kernel then signals the app).
    pub fn resize(&self) {
        if let (Some(m), Some(ws)) = (&self.master, own_size()) {
            let _ = rustix::termios::tcsetwinsize(m, ws);
        }
    }
}

/// Writes all of `buf` (a closed or failing destination drops the rest: the app must not block on us).
fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8]) {
    while !buf.is_empty() {
        match rustix::io::write(fd, buf) {
            Ok(0) => return,
            Ok(n) => buf = &buf[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return,
        }
    }
}
