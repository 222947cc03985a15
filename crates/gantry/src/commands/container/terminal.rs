//! `gantry run -t`: the container gets a pty (opened by its init in its own devpts); the master comes back to us
//! over a private console socket (SCM_RIGHTS, as with `runc --console-socket`), and gantry proxies it to its own
//! terminal in raw mode, forwards signals (SIGWINCH resizes the pty), and returns the exit status.
//!
//! Threads: the proxy threads start only after the container's init was cloned (no process may clone while other
//! threads run), and they inherit a mask blocking every signal so that signals reach the main thread's
//! `sigwaitinfo`.

use std::io::{IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use gantry_container::verbs::create::{create, CreateOptions};
use gantry_container::StateRoot;
use gantry_sys::signal::{self, SigSet};
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use rustix::termios::{OptionalActions, Termios, Winsize};

/// A listening console socket in a private (0700) directory, removed on drop.
pub struct ConsoleSocket {
    dir: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    /// Binds `<tmp>/gantry-<id prefix>/console` (short: socket paths are limited to 107 bytes).
    pub fn bind(id: &str) -> anyhow::Result<ConsoleSocket> {
        let dir = std::env::temp_dir().join(format!("gantry-{}", &id[..16]));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("console");
        let listener = UnixListener::bind(&path)
            .with_context(|| format!("binding the console socket {}", path.display()));
        match listener {
            Ok(listener) => Ok(ConsoleSocket { dir, listener }),
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    /// The path the runtime connects to.
    pub fn path(&self) -> PathBuf {
        self.dir.join("console")
    }

    /// Takes the pty master the runtime sent during `create` (already queued: never blocks).
    pub fn receive_master(&self) -> anyhow::Result<OwnedFd> {
        self.listener.set_nonblocking(true)?;
        let (conn, _) = self
            .listener
            .accept()
            .context("the runtime sent no pty master over the console socket")?;
        let cred = rustix::net::sockopt::socket_peercred(&conn)?;
        anyhow::ensure!(
            cred.uid == rustix::process::geteuid(),
            "console socket: a process of uid {} connected; refusing its descriptor",
            cred.uid.as_raw()
        );
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let mut buf = [0u8; 4096];
        let mut iov = [IoSliceMut::new(&mut buf)];
        rustix::net::recvmsg(&conn, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC)
            .context("receiving the pty master")?;
        for msg in control.drain() {
            if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
                if let Some(fd) = fds.next() {
                    return Ok(fd);
                }
            }
        }
        anyhow::bail!("the console socket message carried no descriptor")
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.path());
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The size of gantry's own terminal (stdin), if it is one.
pub fn own_size() -> Option<Winsize> {
    let stdin = std::io::stdin();
    rustix::termios::isatty(&stdin)
        .then(|| rustix::termios::tcgetwinsize(&stdin).ok())
        .flatten()
}

/// Puts stdin's terminal in raw mode until dropped.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    /// Raw mode for stdin's terminal (nothing when stdin is not a terminal).
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let saved = rustix::termios::isatty(&stdin)
            .then(|| rustix::termios::tcgetattr(&stdin).ok())
            .flatten();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            raw.make_raw();
            let _ = rustix::termios::tcsetattr(&stdin, OptionalActions::Now, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = rustix::termios::tcsetattr(std::io::stdin(), OptionalActions::Now, t);
        }
    }
}

/// Creates and starts the container, proxies its terminal, forwards signals and waits; deletes its runtime
/// state. Returns the exit code (128+N when killed by signal N).
pub fn run(
    root: &StateRoot,
    opts: &CreateOptions,
    console: &ConsoleSocket,
    interactive: bool,
) -> anyhow::Result<i32> {
    let set = gantry_container::verbs::run::forwarded_signals();
    let old = signal::block(&set).context("blocking signals")?;
    let result = run_blocked(root, opts, console, interactive, &set, old);
    let _ = signal::set_mask(&old);
    result
}

fn run_blocked(
    root: &StateRoot,
    opts: &CreateOptions,
    console: &ConsoleSocket,
    interactive: bool,
    set: &SigSet,
    old: SigSet,
) -> anyhow::Result<i32> {
    let created = create(root, opts, old)?;
    let pid = created.state.pid;
    let started = (|| -> anyhow::Result<OwnedFd> {
        let master = console.receive_master()?;
        created.open_gate().context("opening the start gate")?;
        Ok(master)
    })();
    let master = match started {
        Ok(m) => m,
        Err(e) => {
            let _ = gantry_container::verbs::delete::delete(root, &opts.id, true);
            return Err(e);
        }
    };
    drop(created);
    let master = Arc::new(std::fs::File::from(master));
    let raw = RawMode::enter();
    let out = {
        let m = Arc::clone(&master);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut stdout = std::io::stdout();
            // EIO once the last slave descriptor closed: the container is gone.
            while let Ok(n @ 1..) = (&*m).read(&mut buf) {
                if stdout
                    .write_all(&buf[..n])
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    break;
                }
            }
        })
    };
    if interactive {
        let m = Arc::clone(&master);
        // Not joined: it may sit in read(stdin) forever; the process exits around it.
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut stdin = std::io::stdin();
            while let Ok(n @ 1..) = stdin.read(&mut buf) {
                if (&*m).write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
    }
    let code = wait_forwarding(pid, set, &master);
    let _ = out.join();
    drop(raw);
    gantry_container::verbs::delete::delete(root, &opts.id, true)?;
    code
}

fn wait_forwarding(pid: i32, set: &SigSet, master: &std::fs::File) -> anyhow::Result<i32> {
    // The library's reap-and-forward loop; SIGWINCH resizes the pty we relay instead of reaching the container.
    let code = gantry_container::verbs::run::wait_forwarding_with(pid, set, |sig| {
        if sig != libc::SIGWINCH {
            return false;
        }
        if let Some(ws) = own_size() {
            let _ = rustix::termios::tcsetwinsize(master.as_fd(), ws);
        }
        true
    })?;
    Ok(code)
}
