//! Test helper: run part of a test in a fresh copy of the test binary, so seccomp filters and capability
//! changes land in a throw-away process.
//!
//! A test calls [`child_case`] first: in the re-executed child (marked by an environment variable) it runs the
//! child body and exits with its code; in the parent it returns and the test goes on to [`spawn_child`].

use std::process::{Child, Command, Stdio};

/// The environment variable naming the case a re-executed test binary must run.
pub const CHILD_ENV: &str = "GANTRY_SECURITY_TEST_CHILD";

/// In the child for `case`: runs `body` and exits with its return code. Elsewhere: returns.
pub fn child_case(case: &str, body: impl FnOnce() -> i32) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(case) {
        let code = body();
        std::process::exit(code);
    }
}

/// Re-runs only the test `test_path` (e.g. `seccomp::tests::load::mkdir_gets_exdev`) in a child with
/// [`CHILD_ENV`]=`case`; stdout and stderr are piped.
pub fn spawn_child(test_path: &str, case: &str) -> Child {
    let exe = std::env::current_exe().expect("current_exe");
    Command::new(exe)
        .args([
            test_path,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_ENV, case)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the test child")
}

/// What a finished child printed: its `RESULT ...` lines (without the prefix), exit code and stderr.
#[derive(Debug)]
pub struct ChildOutput {
    /// The lines the child printed starting with `RESULT `, prefix removed.
    pub results: Vec<String>,
    /// The exit code (None when killed by a signal).
    pub code: Option<i32>,
    /// All of stderr, for failure messages.
    pub stderr: String,
}

/// Runs [`spawn_child`] to completion.
pub fn run_child(test_path: &str, case: &str) -> ChildOutput {
    let out = spawn_child(test_path, case)
        .wait_with_output()
        .expect("waiting for the test child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    ChildOutput {
        results: stdout
            .lines()
            .filter_map(|l| l.strip_prefix("RESULT ").map(str::to_owned))
            .collect(),
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Whether this process runs as root (the load tests need CAP_SYS_ADMIN or no_new_privs; capability tests
/// need root).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}
