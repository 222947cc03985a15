//! `TestCtx`: one test's temp dir, runtime state dir, unique ids and cleanup guard, with
//! the lifecycle verbs as helpers.

use crate::bundle::Bundle;
use crate::cleanup::{Cleanup, CGROUP_PARENT};
use crate::host;
use crate::runtime::{runtime_binary, Output, RunOpts, Runtime};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static TEST_SEQ: AtomicU32 = AtomicU32::new(0);

/// Everything one test needs; dropping it cleans up (see [`Cleanup`]).
#[derive(Debug)]
pub struct TestCtx {
    /// Short test name, used in ids and paths.
    pub name: String,
    /// The test's private temp dir (`/tmp/gantry-tests.*`).
    pub dir: PathBuf,
    /// The runtime bound to this test's `--root`.
    pub rt: Runtime,
    seq: AtomicU32,
    /// The cleanup guard (dropped last).
    pub guard: Cleanup,
}

impl TestCtx {
    /// A new context for the test called `name`.
    pub fn new(name: &str) -> TestCtx {
        let short: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(16)
            .collect();
        let n = TEST_SEQ.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{short}-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("gantry-tests.{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("state")).expect("creating test dir");
        std::fs::create_dir_all(dir.join("io")).expect("creating test dir");
        let rt = Runtime {
            binary: runtime_binary(),
            root: dir.join("state"),
            work: dir.join("io"),
        };
        TestCtx {
            name: tag,
            guard: Cleanup::new(rt.clone(), dir.clone()),
            dir,
            rt,
            seq: AtomicU32::new(0),
        }
    }

    fn next(&self) -> u32 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// A new unique container id, registered for `delete --force` at cleanup.
    pub fn id(&self) -> String {
        let id = format!("gt-{}-{}", self.name, self.next());
        self.register_container(&id);
        id
    }

    /// Registers an id chosen by the test for cleanup.
    pub fn register_container(&self, id: &str) {
        self.guard.with(|r| r.containers.push(id.to_string()));
    }

    /// A path inside the test's temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A new bundle with a busybox rootfs and the absolute cgroups path
    /// `/gantry-tests/<unique>`, registered for removal.
    pub fn bundle(&self) -> Bundle {
        let n = self.next();
        let cg = format!("{CGROUP_PARENT}/{}-{n}", self.name);
        self.guard.with(|r| r.cgroups.push(cg.clone()));
        Bundle::create(&self.dir.join(format!("bundle-{n}")), &cg)
    }

    /// Runs the runtime with `args` (after `--root`).
    pub fn rt(&self, args: &[&str]) -> Output {
        self.rt.cmd(args)
    }

    /// Runs the runtime with `args` and options.
    pub fn rt_with(&self, args: &[&str], opts: &RunOpts) -> Output {
        self.rt.cmd_with(args, opts)
    }

    /// Writes the config and runs it to completion under a new id (`run --bundle`).
    pub fn run(&self, b: &Bundle) -> Output {
        let id = self.id();
        self.run_id(b, &id, &[])
    }

    /// Runs the bundle (new id), asserts exit 0, and returns the container's stdout.
    #[track_caller]
    pub fn run_ok(&self, b: &Bundle) -> String {
        let o = self.run(b);
        o.assert_success();
        o.stdout
    }

    /// Writes the config and runs `run [extra] --bundle DIR id`.
    pub fn run_id(&self, b: &Bundle, id: &str, extra: &[&str]) -> Output {
        b.write();
        let dir = b.dir.to_string_lossy().to_string();
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--bundle", &dir, id]);
        self.rt(&args)
    }

    /// Writes the config and runs `create [extra] --bundle DIR id`.
    pub fn create_with(&self, b: &Bundle, id: &str, extra: &[&str]) -> Output {
        b.write();
        let dir = b.dir.to_string_lossy().to_string();
        let mut args = vec!["create"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--bundle", &dir, id]);
        self.rt(&args)
    }

    /// `create --bundle DIR id`.
    pub fn create(&self, b: &Bundle, id: &str) -> Output {
        self.create_with(b, id, &[])
    }

    /// `start id`.
    pub fn start(&self, id: &str) -> Output {
        self.rt(&["start", id])
    }

    /// `state id`.
    pub fn state(&self, id: &str) -> Output {
        self.rt(&["state", id])
    }

    /// `state id` parsed; panics if it fails.
    #[track_caller]
    pub fn state_json(&self, id: &str) -> Value {
        self.state(id).assert_success().json()
    }

    /// The `status` field of `state id` (`None` if `state` fails).
    pub fn status(&self, id: &str) -> Option<String> {
        let o = self.state(id);
        if !o.success() {
            return None;
        }
        o.json()["status"].as_str().map(str::to_string)
    }

    /// Waits (up to 10 s) until `state id` reports `status`.
    #[track_caller]
    pub fn wait_status(&self, id: &str, status: &str) {
        let ok = host::wait_until(Duration::from_secs(10), || {
            self.status(id).as_deref() == Some(status)
        });
        assert!(
            ok,
            "container {id} never reached status {status:?}; now {:?}",
            self.status(id)
        );
    }

    /// `kill id SIGNAL`.
    pub fn kill(&self, id: &str, sig: &str) -> Output {
        self.rt(&["kill", id, sig])
    }

    /// `delete id`.
    pub fn delete(&self, id: &str) -> Output {
        self.rt(&["delete", id])
    }

    /// Registers a helper process to kill (by PID) at cleanup.
    pub fn track_pid(&self, pid: i32) {
        self.guard.with(|r| r.pids.push(pid));
    }

    /// Registers a netns (made with `ip netns add`) to delete at cleanup.
    pub fn track_netns(&self, name: &str) {
        self.guard.with(|r| r.netns.push(name.to_string()));
    }

    /// Asserts that nothing of container `id` from bundle `b` remains: no state under
    /// `--root`, no cgroup dir in any hierarchy, no process in its cgroup, no host mount
    /// under the bundle.
    #[track_caller]
    pub fn assert_nothing_left(&self, id: &str, b: &Bundle) {
        assert!(
            !self.rt.root.join(id).exists(),
            "state dir {} left behind",
            self.rt.root.join(id).display()
        );
        let pids = host::pids_in_cgroup(&b.cgroups_path);
        assert!(
            pids.is_empty(),
            "processes left in {}: {pids:?}",
            b.cgroups_path
        );
        let dirs = host::cgroup_dirs(&b.cgroups_path);
        assert!(dirs.is_empty(), "cgroup dirs left behind: {dirs:?}");
        let mounts = host::mounts_under(&b.dir);
        assert!(mounts.is_empty(), "mounts left behind: {mounts:?}");
        let st = self.state(id);
        assert!(!st.success(), "state still knows {id}: {st}");
    }

    /// Reads a file of the container's rootfs from the host.
    pub fn read_rootfs(&self, b: &Bundle, p: &str) -> String {
        std::fs::read_to_string(b.host_path(p)).unwrap_or_default()
    }

    /// The test's temp dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
