//! `--console-socket` helper: a unix socket that receives the pty master the runtime
//! sends with SCM_RIGHTS, and reads what the container writes to its terminal.

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use std::io::{IoSliceMut, Read};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// A listening console socket; the pty master arrives on a background thread.
#[derive(Debug)]
pub struct ConsoleSocket {
    path: PathBuf,
    rx: mpsc::Receiver<Result<OwnedFd, String>>,
}

impl ConsoleSocket {
    /// Binds a unix socket at `path` and waits for one connection in the background.
    pub fn bind(path: &Path) -> ConsoleSocket {
        let listener = UnixListener::bind(path).expect("binding console socket");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(receive_master(&listener));
        });
        ConsoleSocket {
            path: path.to_path_buf(),
            rx,
        }
    }

    /// The socket path to pass as `--console-socket`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pty master the runtime sent; panics if none arrived within `timeout`.
    #[track_caller]
    pub fn master(&self, timeout: Duration) -> OwnedFd {
        match self.rx.recv_timeout(timeout) {
            Ok(Ok(fd)) => fd,
            Ok(Err(e)) => panic!("console socket: {e}"),
            Err(_) => panic!("the runtime sent no pty master within {timeout:?}"),
        }
    }
}

/// Accepts one connection and takes the first fd passed over it.
fn receive_master(listener: &UnixListener) -> Result<OwnedFd, String> {
    let (conn, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    rustix::net::recvmsg(&conn, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC)
        .map_err(|e| format!("recvmsg: {e}"))?;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
            if let Some(fd) = fds.next() {
                return Ok(fd);
            }
        }
    }
    Err("message carried no file descriptor".into())
}

/// Reads the pty master until the terminal closes (EIO/EOF) or `timeout` passes, and
/// returns what was read (CRLF turned into LF).
pub fn read_all(master: OwnedFd, timeout: Duration) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut f = std::fs::File::from(master);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match f.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    let _ = tx.send(Some(out.clone()));
                }
            }
        }
        let _ = tx.send(None);
    });
    let deadline = std::time::Instant::now() + timeout;
    let mut last = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(Some(v)) => last = v,
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&last).replace("\r\n", "\n")
}
