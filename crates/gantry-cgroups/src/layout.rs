//! Which cgroup hierarchies exist on this host and where they are mounted.

use crate::error::CgroupError;
use crate::mountinfo::{cgroup_mounts, CgroupMount};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `CGROUP_SUPER_MAGIC` of linux/magic.h: the `f_type` of a cgroup v1 hierarchy.
const CGROUP_SUPER_MAGIC: u64 = 0x0027_e0eb;
/// `CGROUP2_SUPER_MAGIC` of linux/magic.h: the `f_type` of the unified hierarchy.
const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;

/// The filesystem type (`statfs`'s `f_type`) of `path`, if it can be examined.
fn fs_type(path: &Path) -> Option<u64> {
    rustix::fs::statfs(path).ok().map(|st| st.f_type as u64)
}

/// How the host's cgroups are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only cgroup v1 hierarchies.
    V1,
    /// cgroup v1 hierarchies plus a cgroup2 mount (systemd's "hybrid" arrangement); controllers bound to v1 are
    /// driven through v1, the others through the unified hierarchy.
    Hybrid,
    /// Only the cgroup2 unified hierarchy.
    V2,
}

/// A mounted cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory`.
    pub mount_point: PathBuf,
    /// Its controllers, e.g. `["cpu", "cpuacct"]`; named hierarchies appear as `name=systemd`.
    pub controllers: Vec<String>,
}

/// Which hierarchies exist and where: the input of [`crate::Cgroup::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    mode: Mode,
    v1: Vec<V1Hierarchy>,
    unified: Option<PathBuf>,
}

impl Layout {
    /// Detects the layout of the calling process.
    ///
    /// When `/sys/fs/cgroup` itself is a cgroup2 filesystem (a pure v2 host) one `statfs` decides it, as runc and
    /// crun decide it. On v1 and hybrid hosts `/proc/self/cgroup` names the hierarchies, and each is checked with
    /// one `statfs` where convention mounts it ([`Layout::conventional`]), the unified one at
    /// `/sys/fs/cgroup/unified` (where runc and crun look for it too). Only when a hierarchy is not where
    /// convention puts it is `/proc/self/mountinfo` read: its size grows with every mount on the host, and reading
    /// it waits for the kernel's global mount lock, which every container being set up beside this one takes
    /// (3.3 ms per `run` in 20 parallel ones). Detection runs at most once per process; later calls return a copy
    /// of the first answer.
    pub fn detect() -> Result<Layout, CgroupError> {
        static DETECTED: OnceLock<Layout> = OnceLock::new();
        if let Some(layout) = DETECTED.get() {
            return Ok(layout.clone());
        }
        let root = Path::new("/sys/fs/cgroup");
        let conventional = || {
            let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
            Layout::conventional(root, &text, fs_type)
        };
        let layout = match Layout::unified_at(root).or_else(conventional) {
            Some(layout) => layout,
            None => {
                const MOUNTINFO: &str = "/proc/self/mountinfo";
                let text = std::fs::read_to_string(MOUNTINFO)
                    .map_err(|e| CgroupError::io("read", MOUNTINFO, e))?;
                Layout::from_mountinfo(&text)?
            }
        };
        Ok(DETECTED.get_or_init(|| layout).clone())
    }

    /// The v1 or hybrid layout under `root` from the text of `/proc/self/cgroup` (`ID:controllers:path` lines,
    /// `0::path` for the unified hierarchy), when every v1 hierarchy it names is mounted where convention puts it:
    /// `root/<controllers>` (`root/cpu,cpuacct`), `root/<name>` for a named one (`name=systemd` at
    /// `root/systemd`), as `fs_type` (the `f_type` of `statfs`) confirms. The unified hierarchy is the cgroup2
    /// mount at `root/unified`, if there is one. `None` when a hierarchy is elsewhere, the text is unexpected or
    /// there is no v1 hierarchy: then mountinfo must tell.
    pub fn conventional(
        root: &Path,
        proc_cgroup: &str,
        fs_type: impl Fn(&Path) -> Option<u64>,
    ) -> Option<Layout> {
        let mut v1 = Vec::new();
        for line in proc_cgroup.lines() {
            let mut fields = line.splitn(3, ':');
            let (id, list) = (fields.next()?, fields.next()?);
            fields.next()?;
            if id == "0" {
                continue;
            }
            let dir = match list.strip_prefix("name=") {
                Some(name) if !name.contains(',') => name,
                Some(_) => return None, // a named hierarchy with controllers: no convention for it
                None if list.is_empty() || list.contains("name=") => return None,
                None => list,
            };
            let mount_point = root.join(dir);
            if fs_type(&mount_point)? != CGROUP_SUPER_MAGIC {
                return None;
            }
            v1.push(V1Hierarchy {
                mount_point,
                controllers: list.split(',').map(str::to_owned).collect(),
            });
        }
        if v1.is_empty() {
            return None;
        }
        let unified = root.join("unified");
        let unified = (fs_type(&unified) == Some(CGROUP2_SUPER_MAGIC)).then_some(unified);
        let mode = if unified.is_some() {
            Mode::Hybrid
        } else {
            Mode::V1
        };
        Some(Layout { mode, v1, unified })
    }

    /// The pure v2 layout rooted at `root` when `root` is a cgroup2 filesystem; `None` when it is anything else
    /// or cannot be examined (the caller then reads mountinfo, which reports the real problem).
    fn unified_at(root: &Path) -> Option<Layout> {
        (fs_type(root)? == CGROUP2_SUPER_MAGIC).then(|| Layout::v2(root.to_owned()))
    }

    /// Builds the layout from the text of a mountinfo file (pure; for tests and for callers that already read it).
    ///
    /// When a v1 hierarchy is mounted more than once, the first mount wins; so does the first cgroup2 mount.
    pub fn from_mountinfo(text: &str) -> Result<Layout, CgroupError> {
        let mut v1: Vec<V1Hierarchy> = Vec::new();
        let mut unified = None;
        for mount in cgroup_mounts(text)? {
            match mount {
                CgroupMount::V1 {
                    mount_point,
                    controllers,
                } => {
                    if !v1.iter().any(|h| h.controllers == controllers) {
                        v1.push(V1Hierarchy {
                            mount_point,
                            controllers,
                        });
                    }
                }
                CgroupMount::V2 { mount_point } => {
                    unified.get_or_insert(mount_point);
                }
            }
        }
        let mode = match (v1.is_empty(), unified.is_some()) {
            (true, true) => Mode::V2,
            (false, true) => Mode::Hybrid,
            (false, false) => Mode::V1,
            (true, false) => return Err(CgroupError::NoCgroupMounts),
        };
        Ok(Layout { mode, v1, unified })
    }

    /// A pure cgroup v2 layout whose unified hierarchy is mounted at `root`.
    pub fn v2(root: PathBuf) -> Layout {
        Layout {
            mode: Mode::V2,
            v1: Vec::new(),
            unified: Some(root),
        }
    }

    /// A cgroup v1 layout with one hierarchy per entry of `controllers`, mounted at `root/<entry>`.
    ///
    /// An entry may name co-mounted controllers separated by commas (`"cpu,cpuacct"`); named hierarchies are
    /// written `name=systemd` and mounted at `root/systemd`.
    pub fn v1(root: PathBuf, controllers: &[&str]) -> Layout {
        let v1 = controllers
            .iter()
            .map(|entry| V1Hierarchy {
                mount_point: root.join(entry.strip_prefix("name=").unwrap_or(entry)),
                controllers: entry.split(',').map(str::to_owned).collect(),
            })
            .collect();
        Layout {
            mode: Mode::V1,
            v1,
            unified: None,
        }
    }

    /// Adds a cgroup2 mount at `unified` to a v1 layout, making it [`Mode::Hybrid`] (for tests and odd hosts).
    pub fn with_unified(mut self, unified: PathBuf) -> Layout {
        self.mode = if self.v1.is_empty() {
            Mode::V2
        } else {
            Mode::Hybrid
        };
        self.unified = Some(unified);
        self
    }

    /// The arrangement: v1, hybrid or v2.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The v1 hierarchies (empty in [`Mode::V2`]).
    pub fn v1_hierarchies(&self) -> &[V1Hierarchy] {
        &self.v1
    }

    /// Where the cgroup2 hierarchy is mounted, if it is.
    pub fn unified(&self) -> Option<&Path> {
        self.unified.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
        36 31 0:32 / /mnt/memory-again rw,relatime - cgroup cgroup rw,memory\n\
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

    #[test]
    fn classifies_hybrid_and_dedups() {
        let layout = Layout::from_mountinfo(HOST).unwrap();
        assert_eq!(layout.mode(), Mode::Hybrid);
        assert_eq!(layout.v1_hierarchies().len(), 3);
        assert_eq!(
            layout.v1_hierarchies()[1].mount_point,
            Path::new("/sys/fs/cgroup/memory")
        );
        assert_eq!(layout.unified(), Some(Path::new("/sys/fs/cgroup/unified")));
    }

    #[test]
    fn classifies_v1_and_v2() {
        let v1: String = HOST
            .lines()
            .filter(|l| !l.contains("cgroup2"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(Layout::from_mountinfo(&v1).unwrap().mode(), Mode::V1);
        let v2 = "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let layout = Layout::from_mountinfo(v2).unwrap();
        assert_eq!(layout, Layout::v2("/sys/fs/cgroup".into()));
        assert!(matches!(
            Layout::from_mountinfo("1 2 0:1 / / rw - ext4 /dev/sda rw\n"),
            Err(CgroupError::NoCgroupMounts)
        ));
    }

    #[test]
    fn statfs_recognises_cgroup2_mounts_only() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Layout::unified_at(dir.path()), None);
        let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        for mount in cgroup_mounts(&text).unwrap() {
            match mount {
                CgroupMount::V2 { mount_point } => assert_eq!(
                    Layout::unified_at(&mount_point),
                    Some(Layout::v2(mount_point.clone())),
                    "{mount_point:?}"
                ),
                CgroupMount::V1 { mount_point, .. } => {
                    assert_eq!(Layout::unified_at(&mount_point), None, "{mount_point:?}")
                }
            }
        }
    }

    #[test]
    fn constructors() {
        let layout = Layout::v1("/cg".into(), &["cpu,cpuacct", "name=systemd"]);
        assert_eq!(
            layout.v1_hierarchies()[0].mount_point,
            Path::new("/cg/cpu,cpuacct")
        );
        assert_eq!(
            layout.v1_hierarchies()[1].mount_point,
            Path::new("/cg/systemd")
        );
        assert_eq!(
            layout.v1_hierarchies()[1].controllers,
            vec!["name=systemd".to_owned()]
        );
        assert_eq!(
            layout.clone().with_unified("/cg/unified".into()).mode(),
            Mode::Hybrid
        );
    }

    const PROC_CGROUP: &str = "12:pids:/user.slice\n\
        4:cpu,cpuacct:/user.slice\n\
        1:name=systemd:/user.slice/session-1.scope\n\
        0::/user.slice/session-1.scope\n";

    fn fake_fs(
        cgroup: &'static [&'static str],
        cgroup2: &'static str,
    ) -> impl Fn(&Path) -> Option<u64> {
        move |p: &Path| {
            let p = p.to_str().unwrap();
            if cgroup.contains(&p) {
                Some(CGROUP_SUPER_MAGIC)
            } else if p == cgroup2 {
                Some(CGROUP2_SUPER_MAGIC)
            } else if p.starts_with("/cg") {
                Some(0x0102_1994) // tmpfs
            } else {
                None
            }
        }
    }

    #[test]
    fn conventional_layout_from_proc_cgroup_and_statfs() {
        let all = &["/cg/pids", "/cg/cpu,cpuacct", "/cg/systemd"];
        let layout =
            Layout::conventional(Path::new("/cg"), PROC_CGROUP, fake_fs(all, "/cg/unified"))
                .unwrap();
        assert_eq!(
            layout,
            Layout::v1("/cg".into(), &["pids", "cpu,cpuacct", "name=systemd"])
                .with_unified("/cg/unified".into())
        );
        // No cgroup2 at root/unified (hidden, or mounted elsewhere): v1 only, as runc and crun see it.
        let v1 = Layout::conventional(Path::new("/cg"), PROC_CGROUP, fake_fs(all, "")).unwrap();
        assert_eq!(v1.mode(), Mode::V1);
        assert_eq!(v1.unified(), None);
    }

    #[test]
    fn conventional_gives_way_to_mountinfo_when_a_hierarchy_is_elsewhere() {
        let missing_pids = &["/cg/cpu,cpuacct", "/cg/systemd"];
        assert_eq!(
            Layout::conventional(Path::new("/cg"), PROC_CGROUP, fake_fs(missing_pids, "")),
            None
        );
        let all = &["/cg/pids", "/cg/cpu,cpuacct", "/cg/systemd", "/cg/foo"];
        for odd in ["5:cpu,name=foo:/\n", "5::/x\n", "garbage\n", "0::/\n"] {
            assert_eq!(
                Layout::conventional(Path::new("/cg"), odd, fake_fs(all, "")),
                None,
                "{odd:?}"
            );
        }
    }

    #[test]
    fn conventional_agrees_with_mountinfo_on_this_host() {
        let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let conventional = Layout::conventional(Path::new("/sys/fs/cgroup"), &text, fs_type)
            .expect("this host mounts its hierarchies where convention puts them");
        let mountinfo =
            Layout::from_mountinfo(&std::fs::read_to_string("/proc/self/mountinfo").unwrap())
                .unwrap();
        assert_eq!(conventional.mode(), mountinfo.mode());
        assert_eq!(conventional.unified(), mountinfo.unified());
        let mut a: Vec<_> = conventional.v1_hierarchies().to_vec();
        let mut b: Vec<_> = mountinfo.v1_hierarchies().to_vec();
        for h in a.iter_mut().chain(b.iter_mut()) {
            h.controllers.sort();
        }
        a.sort_by(|x, y| x.mount_point.cmp(&y.mount_point));
        b.sort_by(|x, y| x.mount_point.cmp(&y.mount_point));
        assert_eq!(a, b);
    }

    #[test]
    fn detect_reads_this_host() {
        // Every Linux test host mounts some cgroup filesystem.
        let layout = Layout::detect().unwrap();
        assert_eq!(Layout::detect().unwrap(), layout);
    }
}
