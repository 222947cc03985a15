//! The cleanup guard: on drop (also while a test panics) it removes every container,
//! process, cgroup, mount, netns and temp dir its test made.

use crate::host;
use crate::runtime::{RunOpts, Runtime};
use rustix::process::Signal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Parent of every test cgroup (`/gantry-tests/<id>` in each hierarchy).
pub const CGROUP_PARENT: &str = "/gantry-tests";

/// Number of live guards in this process; the last one removes [`CGROUP_PARENT`].
static LIVE: Mutex<usize> = Mutex::new(0);

/// Registers a new guard; pair with [`Cleanup::drop`].
fn enter() {
    *LIVE.lock().unwrap_or_else(|e| e.into_inner()) += 1;
}

/// What one test created, and must be removed when it ends.
#[derive(Debug, Default)]
pub struct Registry {
    /// Container ids created with the runtime.
    pub containers: Vec<String>,
    /// Absolute cgroups paths given to bundles.
    pub cgroups: Vec<String>,
    /// PIDs of helper processes the test started itself.
    pub pids: Vec<i32>,
    /// Names of network namespaces made with `ip netns add`.
    pub netns: Vec<String>,
}

/// Removes everything in its [`Registry`] when dropped.
#[derive(Debug)]
pub struct Cleanup {
    /// The runtime (with the test's `--root`) used for `delete --force`.
    pub runtime: Runtime,
    /// The test's temp dir (removed last, after unmounting anything below it).
    pub dir: PathBuf,
    /// What to clean up.
    pub registry: Mutex<Registry>,
}

impl Cleanup {
    /// A guard for a test whose files live under `dir`.
    pub fn new(runtime: Runtime, dir: PathBuf) -> Cleanup {
        enter();
        Cleanup {
            runtime,
            dir,
            registry: Mutex::new(Registry::default()),
        }
    }

    /// Runs `f` on the registry.
    pub fn with<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        f(&mut self.registry.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Kills the processes in `cgroups_path` (by PID, thawing a v1 freezer first) and
/// removes its directories in every hierarchy, leaf first.
pub fn remove_cgroup(cgroups_path: &str) {
    for dir in host::cgroup_dirs(cgroups_path) {
        let freezer = dir.join("freezer.state");
        if freezer.exists() {
            let _ = std::fs::write(&freezer, "THAWED");
        }
        let frozen2 = dir.join("cgroup.freeze");
        if frozen2.exists() {
            let _ = std::fs::write(&frozen2, "0");
        }
    }
    host::wait_until(Duration::from_secs(3), || {
        let pids = host::pids_in_cgroup(cgroups_path);
        for &p in &pids {
            host::kill_pid(p, Signal::KILL);
        }
        pids.is_empty()
    });
    for dir in host::cgroup_dirs(cgroups_path) {
        rmdir_tree(&dir);
    }
}

/// Removes a cgroup directory tree leaf first (cgroupfs only allows rmdir of leaves).
fn rmdir_tree(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                rmdir_tree(&e.path());
            }
        }
    }
    // A just-killed process can keep the cgroup busy for a moment.
    host::wait_until(Duration::from_secs(2), || {
        std::fs::remove_dir(dir).is_ok() || !dir.exists()
    });
}

/// Lazily unmounts every mount at or below `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let mut mounts = host::mounts_under(dir);
    mounts.sort_by_key(|m| std::cmp::Reverse(m.as_os_str().len()));
    for m in mounts {
        let _ = rustix::mount::unmount(&m, rustix::mount::UnmountFlags::DETACH);
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let reg = std::mem::take(&mut *self.registry.lock().unwrap_or_else(|e| e.into_inner()));
        let opts = RunOpts {
            timeout: Duration::from_secs(10),
            ..RunOpts::default()
        };
        for id in &reg.containers {
            // Ids that never became containers just make the runtime fail quickly.
            let _ = self.runtime.cmd_with(&["delete", "--force", id], &opts);
        }
        for &pid in &reg.pids {
            host::kill_pid(pid, Signal::KILL);
        }
        for cg in &reg.cgroups {
            remove_cgroup(cg);
        }
        for ns in &reg.netns {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(std::process::Stdio::null())
                .status();
        }
        unmount_under(&self.dir);
        if host::mounts_under(&self.dir).is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!(
                "cleanup: mounts remain under {}; leaving it in place",
                self.dir.display()
            );
        }
        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        *live -= 1;
        if *live == 0 {
            for m in host::cgroup_mounts() {
                let _ = std::fs::remove_dir(m.join(CGROUP_PARENT.trim_start_matches('/')));
            }
        }
    }
}
