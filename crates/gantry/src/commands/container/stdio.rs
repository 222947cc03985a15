//! The container's standard streams in `gantry run` (without a terminal), and how failures to execute its command
//! become exit codes.

use std::path::Path;

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

/// The container's stdio: inherited, except stdin from /dev/null without `-i`, and for `-d` everything
/// redirected (stdout/stderr to `<bundle>/output.log`); gantry's own stdio is restored afterwards.
pub struct Stdio {
    saved: Vec<(i32, std::os::fd::OwnedFd)>,
}

impl Stdio {
    /// Redirects what `interactive`/`detach` ask for, saving gantry's own descriptors.
    pub fn set_up(interactive: bool, detach: bool, bundle: &Path) -> anyhow::Result<Stdio> {
        let mut s = Stdio { saved: Vec::new() };
        if !interactive || detach {
            let null = std::fs::File::open("/dev/null").context("opening /dev/null")?;
            s.save(0)?;
            rustix::stdio::dup2_stdin(&null).context("redirecting stdin")?;
        }
        if detach {
            let log = bundle.join("output.log");
            let f = std::fs::File::create(&log)
                .with_context(|| format!("creating {}", log.display()))?;
            s.save(1)?;
            s.save(2)?;
            rustix::stdio::dup2_stdout(&f).context("redirecting stdout")?;
            rustix::stdio::dup2_stderr(&f).context("redirecting stderr")?;
        }
        Ok(s)
    }

    fn save(&mut self, fd: i32) -> anyhow::Result<()> {
        let b = match fd {
            0 => rustix::stdio::stdin(),
            1 => rustix::stdio::stdout(),
            _ => rustix::stdio::stderr(),
        };
        let copy = rustix::io::fcntl_dupfd_cloexec(b, 3).context("saving a stdio descriptor")?;
        self.saved.push((fd, copy));
        Ok(())
    }

    /// Puts gantry's own descriptors back.
    pub fn restore(self) -> anyhow::Result<()> {
        for (fd, copy) in &self.saved {
            match fd {
                0 => rustix::stdio::dup2_stdin(copy),
                1 => rustix::stdio::dup2_stdout(copy),
                _ => rustix::stdio::dup2_stderr(copy),
            }
            .context("restoring stdio")?;
        }
        Ok(())
    }
}
