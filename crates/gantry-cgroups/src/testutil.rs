//! Fake cgroupfs trees on a temporary directory, for unit tests.

use crate::{Cgroup, Layout};
use std::fs;
use std::path::{Path, PathBuf};

/// Writes `content` to `dir/name`, creating `dir`.
pub(crate) fn put(dir: &Path, name: &str, content: &str) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(name), content).unwrap();
}

/// Reads `dir/name` without surrounding whitespace (panics if missing).
pub(crate) fn get(dir: &Path, name: &str) -> String {
    let text = fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()));
    text.trim().to_owned()
}

/// A temporary fake cgroupfs with a resolved, created container cgroup at `/test/ctr`.
pub(crate) struct Fake {
    pub(crate) _tmp: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) cgroup: Cgroup,
}

impl Fake {
    /// A v1 host with the given hierarchies (see [`Layout::v1`]).
    pub(crate) fn v1(controllers: &[&str]) -> Fake {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        let layout = Layout::v1(root.clone(), controllers);
        Fake::with(tmp, root, layout)
    }

    /// A pure v2 host.
    pub(crate) fn v2() -> Fake {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        let layout = Layout::v2(root.clone());
        Fake::with(tmp, root, layout)
    }

    /// A hybrid host: the given v1 hierarchies plus `root/unified`.
    pub(crate) fn hybrid(controllers: &[&str]) -> Fake {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        let layout = Layout::v1(root.clone(), controllers).with_unified(root.join("unified"));
        Fake::with(tmp, root, layout)
    }

    fn with(tmp: tempfile::TempDir, root: PathBuf, layout: Layout) -> Fake {
        for h in layout.v1_hierarchies() {
            fs::create_dir_all(&h.mount_point).unwrap();
            if h.controllers.iter().any(|c| c == "cpuset") {
                // A fake directory has no files after mkdir, unlike cgroupfs: pre-create the cpuset leaf.
                put(&h.mount_point, "cpuset.cpus", "0-1\n");
                put(&h.mount_point.join("test/ctr"), "cpuset.cpus", "");
            }
        }
        if let Some(unified) = layout.unified() {
            fs::create_dir_all(unified).unwrap();
        }
        let cgroup = Cgroup::resolve(&layout, Some("/test/ctr"), "ctr").unwrap();
        cgroup.create().unwrap();
        Fake {
            _tmp: tmp,
            root,
            cgroup,
        }
    }

    /// The container's directory in the hierarchy mounted at `root/<mount>`.
    pub(crate) fn dir(&self, mount: &str) -> PathBuf {
        if mount.is_empty() {
            self.root.join("test/ctr")
        } else {
            self.root.join(mount).join("test/ctr")
        }
    }
}
