//! Shared helpers of the real-host tests: unique absolute cgroup paths, children we spawn, cleanup guards.
//!
//! These tests only ever touch cgroups named `/gantry-cgtest-<pid>-<n>` that they create themselves, and only
//! signal processes they spawned.

#![allow(dead_code)]

use gantry_cgroups::{Cgroup, Layout};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Fails the test unless it can run here: root on a host with a v1 freezer and a cgroup2 mount (the hybrid CI
/// machine). These tests exercise the v1 and hybrid layouts on the real kernel; a host without them cannot check
/// anything, so the test fails rather than passing unchecked.
#[track_caller]
pub fn require_real_host() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test needs root (it creates cgroups): run it as root, as scripts/test.sh and CI do"
    );
    for p in [
        "/sys/fs/cgroup/freezer/cgroup.procs",
        "/sys/fs/cgroup/unified/cgroup.procs",
    ] {
        assert!(
            Path::new(p).exists(),
            "this test needs a hybrid cgroup host (v1 controllers plus cgroup2 at /sys/fs/cgroup/unified): \
             {p} is missing; run it on such a host (the CI machine)"
        );
    }
}

/// A fresh absolute cgroup path unique to this test process.
pub fn unique_path() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "/gantry-cgtest-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A created cgroup plus the children a test spawned; dropping it kills those children, thaws and destroys it.
pub struct Guard {
    /// The cgroup under test.
    pub cgroup: Cgroup,
    /// Children spawned by the test (killed and reaped on drop).
    pub children: Vec<Child>,
}

impl Guard {
    /// Resolves and creates a unique cgroup in `layout`.
    pub fn new(layout: &Layout) -> Guard {
        let cgroup = Cgroup::resolve(layout, Some(&unique_path()), "unused").unwrap();
        let guard = Guard {
            cgroup,
            children: Vec::new(),
        };
        guard.cgroup.create().unwrap();
        guard
    }

    /// Spawns `sh -c script` inside the cgroup (the shell joins it before running the script, so even its first
    /// fork lands inside) and waits until it has joined every hierarchy; returns its pid.
    pub fn spawn_inside(&mut self, script: &str) -> i32 {
        let child = Command::new("sh")
            .args(["-c", &self.joining(script)])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        self.children.push(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        // The shell writes one hierarchy after another: wait until /proc/<pid>/cgroup names the cgroup in as many
        // hierarchies as it has directories (one `cgroup.procs` listing the pid says only that one was written).
        let hierarchies = self.cgroup.dirs().count();
        let joined = || {
            std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                .unwrap_or_default()
                .lines()
                .filter(|l| l.splitn(3, ':').nth(2) == Some(self.cgroup.path()))
                .count()
                == hierarchies
        };
        while !joined() {
            assert!(
                std::time::Instant::now() < deadline,
                "child {pid} never joined {} in all {hierarchies} hierarchies",
                self.cgroup.path()
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        pid
    }

    /// A shell command that writes its own pid into every hierarchy of the cgroup, then execs `sh -c script`.
    fn joining(&self, script: &str) -> String {
        let prologue: String = self
            .cgroup
            .dirs()
            .map(|d| format!("echo $$ > {}/cgroup.procs && ", d.display()))
            .collect();
        let quoted = script.replace('\'', "'\\''");
        format!("{prologue}exec sh -c '{quoted}'")
    }

    /// Runs `sh -c script` inside the cgroup from its first instruction (a shell prologue writes its own pid
    /// into every hierarchy, then execs the script) and returns its output.
    pub fn run_inside(&self, script: &str) -> std::process::Output {
        let prologue: String = self
            .cgroup
            .dirs()
            .map(|d| format!("echo $$ > {}/cgroup.procs && ", d.display()))
            .collect();
        let quoted = script.replace('\'', "'\\''");
        Command::new("sh")
            .args(["-c", &format!("{prologue}exec sh -c '{quoted}'")])
            .output()
            .unwrap()
    }

    /// Polls until the cgroup holds `count` processes (at most 5 s); returns the last count seen.
    pub fn wait_for_procs(&self, count: usize) -> usize {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let seen = self.cgroup.procs().unwrap().len();
            if seen == count || std::time::Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Waits for child `index` and returns the signal that ended it, if any.
    pub fn wait_signal(&mut self, index: usize) -> Option<i32> {
        self.children[index].wait().unwrap().signal()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Everything in a test cgroup was started by the test (including grandchildren): kill it all first.
        let _ = self.cgroup.kill_all(9);
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.cgroup.thaw();
        if let Err(e) = self.cgroup.destroy() {
            eprintln!("cleanup of {} failed: {e}", self.cgroup.path());
        }
    }
}

/// The line of `/proc/<pid>/cgroup` for hierarchy `key` (`"freezer"`, `""` for the unified one).
pub fn proc_cgroup(pid: i32, key: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    text.lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _ = parts.next();
            let controllers = parts.next()?;
            let path = parts.next()?;
            (controllers.split(',').any(|c| c == key) || (key.is_empty() && controllers.is_empty()))
                .then(|| path.to_owned())
        })
        .unwrap_or_default()
}
