//! The real clients of `../shared/testbed` (podman 4.3, containerd 1.6 with `ctr`), driven from tests with a
//! private `TESTBED_STATE` under the test's temp dir. Setup failures panic with the reason: a test that needs
//! these services never skips silently. Dropping a [`Testbed`] stops what it started.

use crate::runtime::runtime_binary;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One testbed at a time per test process: podman's and containerd's own timeouts (e.g. podman's 5 s wait for
/// conmon's exit file) are short enough to trip when several of them share two loaded cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Where the shared testbed scripts live (`GANTRY_TESTBED`, default `<workspace>/../shared/testbed`).
pub fn scripts_dir() -> PathBuf {
    match std::env::var_os("GANTRY_TESTBED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testbed"),
    }
}

/// What one shell script run did.
#[derive(Debug)]
pub struct ShOutput {
    /// The script.
    pub script: String,
    /// Exit code (None: killed, e.g. past the time limit).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl ShOutput {
    /// Panics with everything unless it exited 0; returns trimmed stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "script failed: {self}");
        self.stdout.trim()
    }
}

impl std::fmt::Display for ShOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` code={:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.script, self.code, self.stdout, self.stderr
        )
    }
}

/// Which service a [`Testbed`] started (and stops on drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// A private podman (`podman.sh env`; `reset` on drop).
    Podman,
    /// A private containerd (`containerd.sh start`; `stop` on drop).
    Containerd,
}

/// A private testbed state with one service set up, plus the test images.
#[derive(Debug)]
pub struct Testbed {
    /// `TESTBED_STATE`.
    pub state: PathBuf,
    /// `images.sh` output.
    pub images: PathBuf,
    /// The runtime binary under test (absolute).
    pub runtime: PathBuf,
    service: Service,
    _turn: MutexGuard<'static, ()>,
}

impl Testbed {
    /// Builds the test images under `dir` and sets up `service`; panics with the reason when that fails.
    pub fn start(dir: &Path, service: Service) -> Testbed {
        let tb = Testbed {
            state: dir.join("testbed-state"),
            images: dir.join("testbed-images"),
            runtime: std::fs::canonicalize(runtime_binary()).expect("runtime binary path"),
            service,
            _turn: ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner()),
        };
        std::fs::create_dir_all(&tb.state).expect("creating TESTBED_STATE");
        let scripts = scripts_dir();
        assert!(
            scripts.join("images.sh").exists(),
            "the shared testbed is missing at {} (set GANTRY_TESTBED)",
            scripts.display()
        );
        let o = tb.sh(&format!("\"$TB/images.sh\" '{}'", tb.images.display()), 600);
        assert_eq!(o.code, Some(0), "testbed setup: images.sh failed: {o}");
        let setup = match service {
            Service::Podman => format!(
                "{} && podman load -q -i '{}/archives/busybox.oci.tar'",
                Self::PODMAN_ENV,
                tb.images.display()
            ),
            // The runtime under test is CRI runtime handler `gantry` (beside the script's `runc` and `crun`).
            Service::Containerd => format!(
                "CONTAINERD_RUNTIMES=\"gantry=$RT\" \"$TB/containerd.sh\" start '{}'",
                tb.images.display()
            ),
        };
        let o = tb.sh(&setup, 600);
        assert_eq!(o.code, Some(0), "testbed setup: {service:?} failed: {o}");
        tb
    }

    const PODMAN_ENV: &'static str = "eval \"$(\"$TB/podman.sh\" env)\"";
    const CTR_ENV: &'static str = "eval \"$(\"$TB/containerd.sh\" env)\"";

    /// Runs `script` in bash with `TESTBED_STATE`, `TB` (the scripts dir) and `RT` (the runtime) set, for at most
    /// `timeout_secs`.
    pub fn sh(&self, script: &str, timeout_secs: u64) -> ShOutput {
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(script)
            .env("TESTBED_STATE", &self.state)
            .env("TB", scripts_dir())
            .env("RT", &self.runtime)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running bash");
        let mut out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        let ereader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let deadline = Instant::now() + Duration::from_secs(timeout_secs);
        let status = loop {
            if let Some(st) = child.try_wait().expect("waiting for bash") {
                break Some(st);
            }
            if Instant::now() > deadline {
                crate::host::kill_pid(child.id() as i32, rustix::process::Signal::KILL);
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        ShOutput {
            script: script.to_string(),
            code: status.and_then(|s| s.code()),
            stdout: reader.join().unwrap_or_default(),
            stderr: ereader.join().unwrap_or_default(),
        }
    }

    /// Runs `script` with podman set up (`podman` talks to the private state).
    pub fn podman(&self, script: &str) -> ShOutput {
        self.sh(&format!("{}\n{script}", Self::PODMAN_ENV), 120)
    }

    /// Runs `script` with `ctr` pointed at the private containerd.
    pub fn ctr(&self, script: &str) -> ShOutput {
        self.sh(&format!("{}\n{script}", Self::CTR_ENV), 120)
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let cmd = match self.service {
            Service::Podman => "\"$TB/podman.sh\" reset",
            Service::Containerd => "\"$TB/containerd.sh\" stop",
        };
        let o = self.sh(cmd, 120);
        if o.code != Some(0) {
            eprintln!("testbed cleanup failed: {o}");
        }
    }
}
