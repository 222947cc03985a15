//! The container's standard streams in `gantry run` (without a terminal), and how failures to execute its command
//! become exit codes.

use std::os::fd::AsFd;

use anyhow::Context;

/// Exec failures inside the container get the shell's codes (126 cannot execute, 127 not found), like podman.
pub fn exec_error(e: gantry_container::Error) -> anyhow::Error {
    if let gantry_container::Error::Init { context, source } = &e {
        if context.starts_with("exec:") {
            let code = if source.raw_os_error() == Some(libc::ENOENT) {
                127
            } else {
                126
            };
            return anyhow::Error::new(ExecFailed {
                code,
                message: e.to_string(),
            });
        }
    }
    anyhow::Error::new(e)
}

/// The container's command could not be executed; carries the exit code gantry ends with.
#[derive(Debug)]
pub struct ExecFailed {
    /// 126 or 127.
    pub code: i32,
    /// What the runtime said.
    pub message: String,
}

impl std::fmt::Display for ExecFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExecFailed {}

/// The container's stdio: inherited, except stdin from /dev/null without `-i`; gantry's own stdio is restored
/// afterwards.
pub struct Stdio {
    saved: SavedStdio,
}

impl Stdio {
    /// Redirects stdin unless `interactive`, saving gantry's own descriptor.
    pub fn set_up(interactive: bool) -> anyhow::Result<Stdio> {
        let mut s = Stdio {
            saved: SavedStdio::default(),
        };
        if !interactive {
            let null = std::fs::File::open("/dev/null").context("opening /dev/null")?;
            s.saved.replace(0, null.as_fd())?;
        }
        Ok(s)
    }

    /// Puts gantry's own descriptors back.
    pub fn restore(self) -> anyhow::Result<()> {
        self.saved.restore()
    }
}

/// Copies of gantry's standard descriptors (0, 1, 2) taken before redirecting them, put back by
/// [`SavedStdio::restore`].
#[derive(Default)]
pub struct SavedStdio {
    saved: Vec<(i32, std::os::fd::OwnedFd)>,
}

impl SavedStdio {
    /// Keeps a close-on-exec copy of standard descriptor `fd` (0, 1 or 2).
    pub fn save(&mut self, fd: i32) -> anyhow::Result<()> {
        let b = match fd {
            0 => rustix::stdio::stdin(),
            1 => rustix::stdio::stdout(),
            _ => rustix::stdio::stderr(),
        };
        let copy = rustix::io::fcntl_dupfd_cloexec(b, 3).context("saving a stdio descriptor")?;
        self.saved.push((fd, copy));
        Ok(())
    }

    /// Saves standard descriptor `fd` (0, 1 or 2), then points it at `with`.
    pub fn replace(&mut self, fd: i32, with: std::os::fd::BorrowedFd<'_>) -> anyhow::Result<()> {
        self.save(fd)?;
        dup2_stdio(fd, with).context("redirecting an app's stdio")
    }

    /// Puts the saved descriptors back, the latest saved first.
    pub fn restore(self) -> anyhow::Result<()> {
        for (fd, copy) in self.saved.iter().rev() {
            dup2_stdio(*fd, copy.as_fd()).context("restoring stdio")?;
        }
        Ok(())
    }
}

fn dup2_stdio(fd: i32, with: std::os::fd::BorrowedFd<'_>) -> rustix::io::Result<()> {
    match fd {
        0 => rustix::stdio::dup2_stdin(with),
        1 => rustix::stdio::dup2_stdout(with),
        _ => rustix::stdio::dup2_stderr(with),
    }
}
