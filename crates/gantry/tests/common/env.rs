//! A store root and state root of a test's own (`Env`), and the guard that removes everything the test left and
//! fails it on leftovers: the `run` and `pods` tests share it.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use super::{accept_anything_policy, remove_empty_parent_cgroups, stdout, testbed_images, GANTRY};

/// A store root and state root in a temp dir; on drop every container and pod is force-removed and the test
/// fails if any mount, container or pod directory, netns or runtime state is left.
pub struct Env {
    /// The temp dir holding `root/` (the store), `state/` (the runtime's) and `policy.json`.
    pub dir: tempfile::TempDir,
}

impl Env {
    /// An empty store; `kind` names the temp dir (`gantry-KIND-...`).
    pub fn bare(kind: &str) -> Env {
        assert!(
            rustix::process::geteuid().is_root(),
            "these tests run containers and pods and need root"
        );
        Env {
            dir: tempfile::Builder::new()
                .prefix(&format!("gantry-{kind}-"))
                .tempdir()
                .unwrap(),
        }
    }

    /// With busybox imported from the testbed layout (as `busybox`).
    pub fn with_busybox(kind: &str) -> Env {
        let env = Env::bare(kind);
        let store = gantry_image::Store::open(env.root()).unwrap();
        let opts = gantry_image::layout::ImportOptions {
            refs: Some(vec!["busybox".into()]),
            ..Default::default()
        };
        store
            .import_oci_layout(
                &testbed_images(&format!("gantry-{kind}-images")).join("oci"),
                &opts,
            )
            .unwrap();
        env
    }

    /// The store root (`--root`).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// The runtime state root (`--state-root`).
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// `gantry ARGS` on this env, stdin from /dev/null; unsigned testbed images are trusted explicitly
    /// (signatures are tested in trust.rs).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(GANTRY);
        c.arg("--root")
            .arg(self.root())
            .arg("--state-root")
            .arg(self.state());
        c.args(args);
        let policy = self.dir.path().join("policy.json");
        accept_anything_policy(&policy);
        c.env("GANTRY_POLICY", policy);
        c.stdin(Stdio::null());
        c
    }

    /// Runs `gantry ARGS` to the end.
    pub fn gantry(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run gantry")
    }

    /// `gantry status NAME` as key=value pairs per line.
    pub fn status(&self, name: &str) -> String {
        stdout(&self.gantry(&["status", name]))
    }

    /// The full IDs of every pod and container (`ps -a`).
    pub fn ids(&self) -> Vec<String> {
        stdout(&self.gantry(&["ps", "-a", "-q", "--no-trunc"]))
            .lines()
            .map(String::from)
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for id in self.ids() {
            let _ = self.gantry(&["rm", "-f", &id]);
        }
        // The shared `/gantry` parent cgroup goes once empty (rmdir fails while another test's pod uses it).
        remove_empty_parent_cgroups();
        if !std::thread::panicking() {
            assert_clean(self);
        }
    }
}

/// No mounts under the env, no pods, container dirs, netns or runtime state.
fn assert_clean(env: &Env) {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let d = env.dir.path().to_str().unwrap();
    assert!(!mi.contains(d), "mounts left under {d}:\n{mi}");
    for sub in ["root/containers", "root/pods", "root/netns", "state"] {
        let p = env.dir.path().join(sub);
        if let Ok(rd) = std::fs::read_dir(&p) {
            let left: Vec<_> = rd
                .flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .collect();
            assert!(left.is_empty(), "left in {}: {left:?}", p.display());
        }
    }
}
