//! Setup shared by the `gantry` binary's integration tests: the shared testbed's scripts, its images and
//! loopback registry, the policy that lets tests pull unsigned testbed images, and cgroup cleanup.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub mod env;
pub mod trust_bed;

/// The `gantry` binary under test.
pub const GANTRY: &str = env!("CARGO_BIN_EXE_gantry");

/// The shared testbed (`../shared/testbed` beside the project root).
pub fn testbed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testbed")
}

/// Runs the testbed's `script` with `args` and the private `TESTBED_STATE` directory `state`; panics unless it
/// succeeds, and returns its standard output.
pub fn sh(script: &str, args: &[&str], state: &Path) -> String {
    let out = Command::new(testbed().join(script))
        .args(args)
        .env("TESTBED_STATE", state)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} {args:?} failed ({:?}): the testbed is needed for these tests",
        out.status
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Stops the testbed registry whose `TESTBED_STATE` is `state` (its recorded PID only); failures are ignored,
/// as this runs from `Drop`.
pub fn stop_registry(state: &Path) {
    let _ = Command::new(testbed().join("registry.sh"))
        .arg("stop")
        .env("TESTBED_STATE", state)
        .status();
}

/// The testbed's OCI layout (busybox, ...), built once per machine into `name` under the target's scratch dir.
pub fn testbed_images(name: &str) -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        if !out.join("oci/index.json").exists() {
            let script = testbed().join("images.sh");
            let st = Command::new("bash")
                .arg(&script)
                .arg(&out)
                .status()
                .expect("run images.sh");
            assert!(st.success(), "{} failed", script.display());
        }
        out
    })
}

/// Writes, unless it exists, a signature policy at `path` that accepts any image: for tests that pull unsigned
/// testbed images (signatures are tested in trust.rs).
pub fn accept_anything_policy(path: &Path) {
    if !path.exists() {
        std::fs::write(path, r#"{"default":[{"type":"insecureAcceptAnything"}]}"#).unwrap();
    }
}

/// Removes the shared `gantry` parent cgroup of every hierarchy where it is empty (rmdir fails while another
/// test's container or pod uses it).
pub fn remove_empty_parent_cgroups() {
    let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for e in entries.flatten() {
        let _ = std::fs::remove_dir(e.path().join("gantry"));
    }
}

/// Runs the `gantry` command `c` (given `args`) to completion and logs the call, its exit code and its stderr.
pub fn run_logged(c: &mut Command, args: &[&str]) -> Output {
    let out = c.output().expect("run gantry");
    eprintln!(
        "$ gantry {} -> {:?}\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// No cgroup directory of container or pod `id` in any hierarchy.
pub fn assert_no_cgroup(id: &str) {
    for e in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let p = e.path().join("gantry").join(id);
        assert!(!p.exists(), "cgroup left: {}", p.display());
    }
}

/// A command's standard output, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A command's standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A command's exit status, stdout and stderr, for assertion messages.
pub fn describe(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    )
}

/// Runs `cmd` with a terminal of its own for stdin, stdout and stderr: a pty pair made here, 33 rows by 101
/// columns; `input` is typed on it. Returns the exit code and everything the command wrote to the terminal.
pub fn run_on_pty(mut cmd: Command, input: &[u8]) -> (Option<i32>, String) {
    use rustix::pty::OpenptFlags;
    use std::io::{Read, Write};
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .unwrap();
    rustix::pty::grantpt(&master).unwrap();
    rustix::pty::unlockpt(&master).unwrap();
    let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::File::options()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let ws = rustix::termios::Winsize {
        ws_row: 33,
        ws_col: 101,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(&slave, ws).unwrap();
    let mut child = cmd
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    // The command holds copies of the slave: only with them closed does the master see the end (EIO).
    drop(cmd);
    let mut m = std::fs::File::from(master);
    m.write_all(input).unwrap();
    let code = child.wait().unwrap().code();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // No slave is open in this process any more: EIO once everything was read.
    while let Ok(n @ 1..) = m.read(&mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    (code, String::from_utf8_lossy(&out).into_owned())
}

/// What `run_on_pty` returned for `sh` typed `tty; stty size; echo sum-$((40+2)); exit 5`: the shell ran on a
/// pty of our terminal's size, read our input, and its exit code came back.
pub fn assert_shell_on_our_terminal(code: Option<i32>, out: &str) {
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("/dev/pts/0"), "not a tty inside:\n{out}");
    assert!(
        out.contains("33 101"),
        "terminal size not passed on:\n{out}"
    );
    assert!(
        out.contains("sum-42"),
        "stdin did not reach the shell:\n{out}"
    );
}
