//! Running the runtime binary under test: `--root`, captured output, exit status, timeout.

use serde_json::Value;
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Default time limit for one runtime invocation; a hang past it is a test failure.
/// `GANTRY_TEST_TIMEOUT` (seconds) overrides it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// The time limit in force: `GANTRY_TEST_TIMEOUT` seconds, else [`DEFAULT_TIMEOUT`].
pub fn default_timeout() -> Duration {
    static T: OnceLock<Duration> = OnceLock::new();
    *T.get_or_init(|| {
        std::env::var("GANTRY_TEST_TIMEOUT")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TIMEOUT)
    })
}

/// The workspace root (parent of this crate's directory).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Path of the runtime binary under test: `GANTRY_TEST_RUNTIME`, else the workspace's
/// `target/debug/gantry-runtime` (honouring `CARGO_TARGET_DIR`). Panics with instructions
/// when the binary does not exist.
pub fn runtime_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("GANTRY_TEST_RUNTIME") {
            let mut p = PathBuf::from(p);
            // cargo runs tests from tests/; a relative path is meant from the workspace root
            // (or the current directory, if it exists there).
            if p.is_relative() && !p.exists() {
                p = workspace_root().join(p);
            }
            let p = std::fs::canonicalize(&p).unwrap_or(p);
            assert!(
                p.is_file(),
                "GANTRY_TEST_RUNTIME={} does not exist or is not a file",
                p.display()
            );
            return p;
        }
        let workspace = workspace_root();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|t| {
                if t.is_absolute() {
                    t
                } else {
                    workspace.join(t)
                }
            })
            .unwrap_or_else(|| workspace.join("target"));
        let p = target.join("debug").join("gantry-runtime");
        assert!(
            p.is_file(),
            "runtime under test not found at {}: build it with `cargo build -p gantry-runtime`, \
             or point GANTRY_TEST_RUNTIME at a runc-compatible binary (e.g. /usr/sbin/runc)",
            p.display()
        );
        p
    })
    .clone()
}

/// First line of `<runtime> --version`, lower-cased (e.g. `runc version 1.1.5`).
pub fn runtime_identity() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let out = Command::new(runtime_binary())
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .expect("running <runtime> --version");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_lowercase()
    })
}

/// True when the runtime's `--version` names `name` (e.g. "runc", "crun").
pub fn runtime_is(name: &str) -> bool {
    runtime_identity()
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
        .any(|w| w == name)
}

/// What one runtime invocation did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The arguments after `--root DIR`.
    pub args: Vec<String>,
    /// Exit code, if it exited.
    pub code: Option<i32>,
    /// Terminating signal, if it was killed.
    pub signal: Option<i32>,
    /// Captured standard output.
    pub stdout: String,
    /// Captured standard error.
    pub stderr: String,
    /// True when it ran past its time limit and was killed.
    pub timed_out: bool,
    /// Wall-clock time it took.
    pub elapsed: Duration,
}

impl Output {
    /// True when it exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// Panics unless it exited 0; returns self for chaining.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "runtime failed: {self}");
        self
    }

    /// Panics unless it exited with a non-zero code (a hang or a crash is not a clean failure).
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(!self.timed_out, "runtime hung: {self}");
        assert!(self.signal.is_none(), "runtime crashed: {self}");
        assert!(self.code != Some(0), "runtime should have failed: {self}");
        self
    }

    /// Panics unless it exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert!(!self.timed_out, "runtime hung: {self}");
        assert_eq!(self.code, Some(code), "unexpected exit status: {self}");
        self
    }

    /// Panics unless stderr (or stdout) mentions each of `words` (case-insensitive).
    #[track_caller]
    pub fn assert_error_mentions(&self, words: &[&str]) -> &Self {
        let text = format!("{}\n{}", self.stderr, self.stdout).to_lowercase();
        for w in words {
            assert!(
                text.contains(&w.to_lowercase()),
                "error should mention {w:?}: {self}"
            );
        }
        self
    }

    /// Standard output parsed as JSON; panics with the output when it is not.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self}"))
    }

    /// Standard output with surrounding whitespace removed.
    pub fn out(&self) -> &str {
        self.stdout.trim()
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` code={:?} signal={:?} timed_out={} ({:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.signal,
            self.timed_out,
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }
}

/// Options of one invocation beyond its arguments.
#[derive(Debug, Clone)]
pub struct RunOpts {
    /// Time limit; the runtime is killed (by PID) past it.
    pub timeout: Duration,
    /// Files opened read-only as fds 3, 4, … of the runtime (for `--preserve-fds`).
    pub extra_fds: Vec<PathBuf>,
    /// Extra environment variables for the runtime.
    pub env: Vec<(String, String)>,
    /// File to use as standard input (default: /dev/null).
    pub stdin: Option<PathBuf>,
}

impl Default for RunOpts {
    fn default() -> Self {
        RunOpts {
            timeout: default_timeout(),
            extra_fds: Vec::new(),
            env: Vec::new(),
            stdin: None,
        }
    }
}

/// The runtime binary bound to one private state directory (`--root`).
#[derive(Debug, Clone)]
pub struct Runtime {
    /// The binary.
    pub binary: PathBuf,
    /// The `--root` state directory.
    pub root: PathBuf,
    /// Where captured stdout/stderr files go.
    pub work: PathBuf,
}

impl Runtime {
    /// Runs `<binary> --root <root> ARGS` with default options.
    pub fn cmd(&self, args: &[&str]) -> Output {
        self.cmd_with(args, &RunOpts::default())
    }

    /// Runs `<binary> --root <root> ARGS` with `opts`. Output goes through files, so a
    /// detached container holding the runtime's stdout never blocks the test.
    pub fn cmd_with(&self, args: &[&str], opts: &RunOpts) -> Output {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let out_path = self.work.join(format!("out.{n}"));
        let err_path = self.work.join(format!("err.{n}"));
        let out_file = File::create(&out_path).expect("creating stdout capture file");
        let err_file = File::create(&err_path).expect("creating stderr capture file");
        let mut cmd = if opts.extra_fds.is_empty() {
            Command::new(&self.binary)
        } else {
            // The shell opens the files without close-on-exec, then becomes the runtime.
            // LISTEN_PID must name the runtime itself for socket activation; exec keeps the
            // shell's PID.
            let mut script =
                String::from("[ -n \"$LISTEN_FDS\" ] && export LISTEN_PID=$$; exec \"$0\" \"$@\"");
            for (i, p) in opts.extra_fds.iter().enumerate() {
                script.push_str(&format!(" {}<'{}'", i + 3, p.display()));
            }
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(script).arg(&self.binary);
            c
        };
        cmd.arg("--root").arg(&self.root).args(args);
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let stdin = match &opts.stdin {
            Some(p) => Stdio::from(File::open(p).expect("opening stdin file")),
            None => Stdio::null(),
        };
        cmd.stdin(stdin).stdout(out_file).stderr(err_file);
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot execute runtime {}: {e}", self.binary.display()));
        let mut timed_out = false;
        let mut pause = Duration::from_millis(1);
        let status = loop {
            if let Some(st) = child.try_wait().expect("waiting for runtime") {
                break st;
            }
            if start.elapsed() > opts.timeout {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("waiting for killed runtime");
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        };
        let elapsed = start.elapsed();
        let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        let _ = std::fs::remove_file(&out_path);
        let _ = std::fs::remove_file(&err_path);
        Output {
            args: args.iter().map(|s| s.to_string()).collect(),
            code: status.code(),
            signal: status.signal(),
            stdout,
            stderr,
            timed_out,
            elapsed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_runtime(name: &str, script: &str) -> Runtime {
        let dir =
            std::env::temp_dir().join(format!("gantry-tests.unit-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("fake-runtime");
        std::fs::write(&bin, script).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Runtime {
            binary: bin,
            root: dir.join("state"),
            work: dir,
        }
    }

    #[test]
    fn a_hanging_runtime_is_killed_and_reported() {
        let rt = fake_runtime("hang", "#!/bin/sh\nexec sleep 30\n");
        let opts = RunOpts {
            timeout: Duration::from_millis(300),
            ..RunOpts::default()
        };
        let o = rt.cmd_with(&["state", "x"], &opts);
        assert!(o.timed_out, "{o}");
        assert!(o.elapsed < Duration::from_secs(5), "{o}");
        assert!(!o.success());
        let _ = std::fs::remove_dir_all(&rt.work);
    }

    #[test]
    fn output_exit_code_and_args_are_captured() {
        let rt = fake_runtime(
            "echo",
            "#!/bin/sh\necho \"out $*\"; echo err >&2; [ -n \"$LISTEN_PID\" ] && echo pid-set; cat <&3; exit 7\n",
        );
        let extra = rt.work.join("extra");
        std::fs::write(&extra, "fd3\n").unwrap();
        let opts = RunOpts {
            extra_fds: vec![extra],
            env: vec![("LISTEN_FDS".into(), "1".into())],
            ..RunOpts::default()
        };
        let o = rt.cmd_with(&["kill", "id", "TERM"], &opts);
        assert_eq!(o.code, Some(7));
        let root = rt.root.display().to_string();
        assert_eq!(
            o.stdout,
            format!("out --root {root} kill id TERM\npid-set\nfd3\n")
        );
        assert_eq!(o.stderr, "err\n");
        let _ = std::fs::remove_dir_all(&rt.work);
    }
}
