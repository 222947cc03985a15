//! `exec --tty` without `--console-socket` (interactive use, as `runc exec -t`): the runtime takes the pty master
//! itself over a private socket pair and copies between its own stdio and the pty until the process closes it.
//! The caller's terminal (if stdin is one) is switched to raw mode meanwhile and restored after. Single-threaded:
//! one `poll` loop.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::event::{PollFd, PollFlags};
use rustix::termios::{self, OptionalActions};

use crate::error::{Error, Result};

/// The runtime's end of the private console socket and the end to hand to the exec process.
pub fn console_pair() -> Result<(OwnedFd, OwnedFd)> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()
        .map_err(|e| Error::sys("create the console socket pair", e))?;
    Ok((OwnedFd::from(ours), OwnedFd::from(theirs)))
}

/// Takes the pty master from `ours` and relays stdin → pty and pty → stdout until the pty closes.
pub fn relay(ours: &OwnedFd) -> Result<()> {
    let master = crate::process::console::recv_fd(ours.as_fd())
        .map_err(|e| Error::sys("receive the pty master", e))?;
    let stdin = rustix::stdio::stdin();
    let saved = if termios::isatty(stdin) {
        let saved =
            termios::tcgetattr(stdin).map_err(|e| Error::sys("read the terminal mode", e))?;
        if let Ok(size) = termios::tcgetwinsize(stdin) {
            let _ = termios::tcsetwinsize(&master, size);
        }
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(stdin, OptionalActions::Now, &raw)
            .map_err(|e| Error::sys("put the terminal in raw mode", e))?;
        Some(saved)
    } else {
        None
    };
    let result = copy_loop(stdin, master.as_fd());
    if let Some(saved) = saved {
        let _ = termios::tcsetattr(stdin, OptionalActions::Now, &saved);
    }
    result
}

fn copy_loop(stdin: BorrowedFd<'_>, master: BorrowedFd<'_>) -> Result<()> {
    let stdout = rustix::stdio::stdout();
    let mut buf = [0u8; 8192];
    let mut stdin_open = true;
    loop {
        let mut fds = vec![PollFd::new(&master, PollFlags::IN)];
        if stdin_open {
            fds.push(PollFd::new(&stdin, PollFlags::IN));
        }
        match rustix::event::poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(Error::sys("wait for terminal input", e)),
        }
        let master_ready = !fds[0].revents().is_empty();
        let stdin_ready = stdin_open && !fds[1].revents().is_empty();
        if master_ready {
            match rustix::io::read(master, &mut buf) {
                // EIO: every slave descriptor is closed — the process (and its children) are done with it.
                Ok(0) | Err(rustix::io::Errno::IO) => return Ok(()),
                Ok(n) => write_all(stdout, &buf[..n])?,
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                Err(e) => return Err(Error::sys("read the pty", e)),
            }
        }
        if stdin_ready {
            match rustix::io::read(stdin, &mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => write_all(master, &buf[..n])?,
            }
        }
    }
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> Result<()> {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Error::sys("relay terminal data", e)),
        }
    }
    Ok(())
}
