//! [`Cgroup`]: a container's cgroup resolved in every hierarchy; membership, creation and removal.

use crate::error::CgroupError;
use crate::fsutil::{self, IntBuf};
use crate::layout::{Layout, Mode};
use crate::path::cgroup_path;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// `created_from` value meaning "create() made nothing here".
const NOTHING_CREATED: u32 = u32::MAX;
/// How long `destroy` keeps retrying `rmdir` while the last processes leave the cgroup.
const RMDIR_PATIENCE: Duration = Duration::from_millis(2000);

fn nothing_created() -> AtomicU32 {
    AtomicU32::new(NOTHING_CREATED)
}

/// The container's directory in one hierarchy.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Dir {
    /// The hierarchy's mount point.
    pub(crate) root: PathBuf,
    /// `root` joined with the cgroup path.
    pub(crate) path: PathBuf,
    /// Index of the first path component that `create` made (components below it existed before), or
    /// [`NOTHING_CREATED`]. `destroy` removes exactly the components from this one to the leaf.
    #[serde(default = "nothing_created")]
    created_from: AtomicU32,
}

impl Clone for Dir {
    fn clone(&self) -> Self {
        Dir {
            root: self.root.clone(),
            path: self.path.clone(),
            created_from: AtomicU32::new(self.created_from.load(Ordering::Relaxed)),
        }
    }
}

impl PartialEq for Dir {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
            && self.path == other.path
            && self.created_from.load(Ordering::Relaxed)
                == other.created_from.load(Ordering::Relaxed)
    }
}

/// The container's directory in one cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct V1Dir {
    /// The hierarchy's controllers (`name=systemd` for named hierarchies).
    pub(crate) controllers: Vec<String>,
    /// Where the container's cgroup is in it.
    pub(crate) dir: Dir,
}

/// A container's cgroup, resolved to one directory per hierarchy.
///
/// Serializable so that the runtime stores it in the container's state file and later verbs (`kill`, `delete`,
/// `pause`, `update`) act on exactly the directories `create` used, including what `create` made and must remove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cgroup {
    mode: Mode,
    path: String,
    v1: Vec<V1Dir>,
    unified: Option<Dir>,
    /// With the systemd driver: the transient scope that holds the container (systemd makes and removes the
    /// directory; `create` and `destroy` leave it alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<ScopeUnit>,
}

/// The systemd scope behind a [`Cgroup`] made by the systemd driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ScopeUnit {
    unit: String,
    slice: String,
}

/// Which kind of hierarchy a controller is driven through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// A cgroup v1 hierarchy.
    V1,
    /// The unified hierarchy.
    V2,
}

impl Cgroup {
    /// Resolves the container's cgroup in every hierarchy of `layout`, without any I/O.
    ///
    /// The cgroup path comes from [`crate::path::cgroup_path`]: an absolute `cgroups_path` is used as is in every
    /// hierarchy (in hybrid mode in the unified one too, as runc does); a relative one goes under
    /// [`crate::DEFAULT_PARENT`] (`/gantry`), and an absent or empty one becomes `/gantry/<container_id>` — never
    /// inside the caller's own cgroup.
    pub fn resolve(
        layout: &Layout,
        cgroups_path: Option<&str>,
        container_id: &str,
    ) -> Result<Cgroup, CgroupError> {
        let path = cgroup_path(cgroups_path, container_id)?;
        let rel = &path[1..];
        let dir = |root: &Path| Dir {
            root: root.to_owned(),
            path: root.join(rel),
            created_from: nothing_created(),
        };
        Ok(Cgroup {
            mode: layout.mode(),
            v1: layout
                .v1_hierarchies()
                .iter()
                .map(|h| V1Dir {
                    controllers: h.controllers.clone(),
                    dir: dir(&h.mount_point),
                })
                .collect(),
            unified: layout.unified().map(dir),
            path,
            scope: None,
        })
    }

    /// Resolves the container's cgroup for the systemd driver: `cgroups_path` is `slice:prefix:name` (see
    /// [`crate::ScopePath`]), and the cgroup is the transient scope's directory, which [`Cgroup::enter`] has systemd
    /// make. Needs systemd ([`crate::systemd_driver`]) and a pure cgroup v2 host.
    pub fn resolve_systemd(
        layout: &Layout,
        cgroups_path: Option<&str>,
        container_id: &str,
    ) -> Result<Cgroup, CgroupError> {
        let scope = crate::systemd::ScopePath::parse(cgroups_path, container_id)?;
        crate::systemd::systemd_driver()?;
        match layout.mode() {
            Mode::V2 => {}
            Mode::V1 => return Err(CgroupError::SystemdNeedsV2 { mode: "v1" }),
            Mode::Hybrid => return Err(CgroupError::SystemdNeedsV2 { mode: "hybrid" }),
        }
        let mut cg = Cgroup::resolve(layout, Some(&scope.cgroup), container_id)?;
        cg.scope = Some(ScopeUnit {
            unit: scope.unit,
            slice: scope.slice,
        });
        Ok(cg)
    }

    /// Whether the container's directory exists in the unified hierarchy (or, without one, in the first v1 one).
    fn exists(&self) -> bool {
        self.unified_dir()
            .or(self.v1.first().map(|h| h.dir.path.as_path()))
            .is_some_and(Path::is_dir)
    }

    /// The systemd unit holding the container, when the systemd driver made this cgroup.
    pub fn systemd_unit(&self) -> Option<&str> {
        self.scope.as_ref().map(|s| s.unit.as_str())
    }

    /// Puts the container's init `pid` in its cgroup: with the systemd driver by starting the transient scope
    /// with it (and waiting until systemd has made it), otherwise as [`Cgroup::add_process`].
    pub fn enter(&self, pid: i32, container_id: &str) -> Result<(), CgroupError> {
        match &self.scope {
            Some(s) => crate::systemd::start_scope(
                &crate::systemd::ScopePath {
                    slice: s.slice.clone(),
                    unit: s.unit.clone(),
                    cgroup: self.path.clone(),
                },
                pid,
                container_id,
            ),
            None => self.add_process(pid),
        }
    }

    /// [`Cgroup::resolve`] for `linux.cgroupsPath` as oci-spec types it (a `PathBuf`): a path that is not UTF-8 is
    /// refused rather than silently replaced by the default.
    pub fn resolve_path(
        layout: &Layout,
        cgroups_path: Option<&Path>,
        container_id: &str,
    ) -> Result<Cgroup, CgroupError> {
        let text = match cgroups_path {
            None => None,
            Some(p) => Some(p.to_str().ok_or_else(|| CgroupError::InvalidPath {
                field: "linux.cgroupsPath",
                value: p.to_string_lossy().into_owned(),
                reason: "is not valid UTF-8",
            })?),
        };
        Cgroup::resolve(layout, text, container_id)
    }

    /// The normalized cgroup path shared by all hierarchies, e.g. `/gantry/abc`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether this cgroup lives on a v1, hybrid or v2 host.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The container's directory in the unified hierarchy, if there is one (for `CLONE_INTO_CGROUP`, say).
    pub fn unified_dir(&self) -> Option<&Path> {
        self.unified.as_ref().map(|d| d.path.as_path())
    }

    /// The directory to pass to `clone3(CLONE_INTO_CGROUP)` so the child starts inside the cgroup: only on a pure v2
    /// host, where the unified hierarchy is the only one (on v1 and hybrid hosts use [`Cgroup::add_process`]), and
    /// with the systemd driver only once the scope exists (the init joins it through [`Cgroup::enter`]).
    pub fn clone_into_dir(&self) -> Option<&Path> {
        if self.mode == Mode::V2 && (self.scope.is_none() || self.exists()) {
            self.unified_dir()
        } else {
            None
        }
    }

    /// The container's directory in the v1 hierarchy holding `controller` (e.g. `"memory"`, `"name=systemd"`).
    pub fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
            .map(|h| h.dir.path.as_path())
    }

    /// The cgroup's directory in every v1 hierarchy.
    pub(crate) fn v1_dirs(&self) -> impl Iterator<Item = &Path> {
        self.v1.iter().map(|h| h.dir.path.as_path())
    }

    /// Every directory of this cgroup, v1 hierarchies first, then the unified one.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.all_dirs().map(|d| d.path.as_path())
    }

    fn all_dirs(&self) -> impl Iterator<Item = &Dir> {
        self.v1.iter().map(|h| &h.dir).chain(self.unified.as_ref())
    }

    /// The unified directory with its hierarchy root, for enabling controllers on the way down.
    pub(crate) fn unified(&self) -> Option<(&Path, &Path)> {
        self.unified
            .as_ref()
            .map(|d| (d.root.as_path(), d.path.as_path()))
    }

    /// The directory whose `cgroup.procs` lists the container's processes: the unified one on v2, otherwise the
    /// freezer hierarchy's (the one [`Cgroup::freeze`] acts on), otherwise the first v1 hierarchy's.
    pub(crate) fn membership_dir(&self) -> Option<&Path> {
        if self.mode == Mode::V2 {
            return self.unified_dir();
        }
        self.v1_dir("freezer")
            .or_else(|| self.v1.first().map(|h| h.dir.path.as_path()))
            .or(self.unified_dir())
    }

    /// Creates the cgroup's directory (and missing parents) in every hierarchy, recording what it made so that
    /// [`Cgroup::destroy`] removes exactly that. Directories that exist are reused. In the v1 `cpuset` hierarchy
    /// each new directory inherits its parent's `cpuset.cpus` and `cpuset.mems` (the kernel leaves them empty, and an
    /// empty cpuset cannot hold processes).
    ///
    /// On a pure v2 host, the controllers the hierarchy root hands down (its `cgroup.subtree_control`, set up by the
    /// init system) are enabled in every directory *between* the root and the container's cgroup, so that its
    /// usage is accounted (for `events --stats`) even when no limit is set. The root itself is never written here,
    /// nor the leaf (a cgroup with controllers enabled for children cannot hold processes).
    ///
    /// On error, whatever this call made is removed again before returning.
    pub fn create(&self) -> Result<(), CgroupError> {
        if self.scope.is_some() {
            return Ok(()); // systemd makes the scope's directory when the scope starts
        }
        let result = self.create_all();
        if result.is_err() {
            // Leave nothing half-made behind: the caller has no Cgroup with a record to destroy from.
            let _ = self.destroy();
        }
        result
    }

    fn create_all(&self) -> Result<(), CgroupError> {
        for h in &self.v1 {
            let cpuset = h.controllers.iter().any(|c| c == "cpuset");
            create_dir(&h.dir, &self.path, cpuset)?;
        }
        if let Some(dir) = &self.unified {
            create_dir(dir, &self.path, false)?;
            if self.mode == Mode::V2 {
                delegate_root_controllers(dir)?;
            }
        }
        Ok(())
    }

    /// Moves process `pid` (with all its threads) into the cgroup in every hierarchy. On v1 and hybrid hosts this
    /// can wait for an RCU grace period; a process that moves itself can avoid that ([`Cgroup::open_self_join`]).
    pub fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in self.all_dirs() {
            move_process(&dir.path, pid)?;
        }
        Ok(())
    }

    /// The processes in the cgroup and in any cgroups below it (as `runc ps` lists them), in no particular order.
    pub fn procs(&self) -> Result<Vec<i32>, CgroupError> {
        let mut pids = Vec::new();
        if let Some(dir) = self.membership_dir() {
            let mut buf = String::new();
            collect_procs(dir, &mut pids, &mut buf)?;
        }
        Ok(pids)
    }

    /// Removes the directories [`Cgroup::create`] made, leaf first in every hierarchy, after removing any cgroups
    /// the container made below its own. Retries for up to two seconds in all while exiting processes still hold
    /// the leaf busy (on v1 a dead process keeps its cgroup busy until it is reaped). Directories that existed
    /// before `create` are left alone; missing ones are not an error. With the systemd driver, stops the scope and
    /// waits for systemd to remove it, removing nothing itself.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        if let Some(s) = &self.scope {
            return crate::systemd::stop_unit(&s.unit);
        }
        let depth = self.path[1..].split('/').count() as u32;
        let mut first_error = None;
        let deadline = Instant::now() + RMDIR_PATIENCE;
        for dir in self.all_dirs() {
            let from = dir.created_from.load(Ordering::Relaxed);
            if from >= depth {
                continue;
            }
            if let Err(e) = remove_leaf(&dir.path, deadline) {
                first_error.get_or_insert(e);
                continue;
            }
            // Parents we made: remove while empty; a sibling container keeps them busy, which is fine.
            let mut parent = dir.path.clone();
            for _ in from..depth - 1 {
                parent.pop();
                if std::fs::remove_dir(&parent).is_err() {
                    break;
                }
            }
            dir.created_from.store(NOTHING_CREATED, Ordering::Relaxed);
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn create_dir(dir: &Dir, path: &str, cpuset: bool) -> Result<(), CgroupError> {
    let components: Vec<&str> = path[1..].split('/').collect();
    let depth = components.len() as u32;
    // Fast path: the parent exists, only the leaf is new (or the leaf exists already).
    match std::fs::create_dir(&dir.path) {
        Ok(()) => {
            dir.created_from.fetch_min(depth - 1, Ordering::Relaxed);
            if cpuset {
                inherit_cpuset(&dir.path)?;
            }
            return Ok(());
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(CgroupError::io("mkdir", &dir.path, e)),
    }
    // Walk down from the root. A concurrent `destroy` of a sibling may remove a shared parent between two of our
    // mkdirs (ENOENT); walking again from the root a few times settles that race.
    let mut attempts = 0;
    'walk: loop {
        attempts += 1;
        let mut current = dir.root.clone();
        for (index, component) in components.iter().enumerate() {
            current.push(component);
            match std::fs::create_dir(&current) {
                Ok(()) => {
                    dir.created_from.fetch_min(index as u32, Ordering::Relaxed);
                    if cpuset {
                        inherit_cpuset(&current)?;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound && index > 0 && attempts < 5 => {
                    continue 'walk
                }
                Err(e) => return Err(CgroupError::io("mkdir", &current, e)),
            }
        }
        return Ok(());
    }
}

/// Enables the root's delegated controllers in each directory strictly between the root and the leaf.
fn delegate_root_controllers(dir: &Dir) -> Result<(), CgroupError> {
    let Ok(rel) = dir.path.strip_prefix(&dir.root) else {
        return Ok(());
    };
    let mut components = rel.components();
    components.next_back(); // not the leaf
    if components.clone().next().is_none() {
        return Ok(());
    }
    let root_control = dir.root.join("cgroup.subtree_control");
    let enabled = match fsutil::read(&root_control) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CgroupError::io("read", root_control, e)),
    };
    let mut request = String::with_capacity(enabled.len() + 8);
    for controller in enabled.split_whitespace() {
        if !request.is_empty() {
            request.push(' ');
        }
        request.push('+');
        request.push_str(controller);
    }
    if request.is_empty() {
        return Ok(());
    }
    let mut current = dir.root.clone();
    for component in components {
        current.push(component);
        let file = current.join("cgroup.subtree_control");
        fsutil::write(&file, request.as_bytes()).map_err(|e| CgroupError::io("write", file, e))?;
    }
    Ok(())
}

/// Moves process `pid` (all its threads) into the cgroup directory `dir`: its pid into `cgroup.procs`.
pub(crate) fn move_process(dir: &Path, pid: i32) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.procs");
    fsutil::write(&file, IntBuf::new(i64::from(pid)).as_bytes())
        .map_err(|e| CgroupError::io("write", file, e))
}

/// Copies `cpuset.cpus` and `cpuset.mems` from the parent of `dir` into `dir`. A parent that is still empty
/// (another container created it a moment ago and has not filled it yet) is filled from its own parent first, so
/// a container racing with the creator of a shared parent never ends up with an empty cpuset (ENOSPC on
/// `cgroup.procs`).
fn inherit_cpuset(dir: &Path) -> Result<(), CgroupError> {
    inherit_cpuset_depth(dir, 0)
}

/// Deepest chain of empty ancestors filled (cgroup paths are short; this only bounds a pathological tree).
const MAX_CPUSET_DEPTH: u32 = 64;

fn inherit_cpuset_depth(dir: &Path, depth: u32) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    let mut buf = String::new();
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let from = parent.join(file);
        fsutil::read_into(&from, &mut buf).map_err(|e| CgroupError::io("read", &from, e))?;
        if buf.trim().is_empty() && depth < MAX_CPUSET_DEPTH {
            inherit_cpuset_depth(parent, depth + 1)?;
            fsutil::read_into(&from, &mut buf).map_err(|e| CgroupError::io("read", &from, e))?;
        }
        let value = buf.trim();
        if value.is_empty() {
            continue;
        }
        let to = dir.join(file);
        fsutil::write(&to, value.as_bytes()).map_err(|e| CgroupError::io("write", &to, e))?;
    }
    Ok(())
}

fn collect_procs(dir: &Path, pids: &mut Vec<i32>, buf: &mut String) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.procs");
    match fsutil::read_into(&file, buf) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CgroupError::io("read", file, e)),
    }
    for line in buf.lines() {
        let pid = line.trim().parse().map_err(|_| CgroupError::Parse {
            path: file.clone(),
            reason: "expected one pid per line",
        })?;
        pids.push(pid);
    }
    for child in child_cgroups(dir)? {
        collect_procs(&child, pids, buf)?;
    }
    Ok(())
}

/// The sub-cgroups (subdirectories) of `dir`.
pub(crate) fn child_cgroups(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CgroupError::io("read directory", dir, e)),
    };
    let mut children = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CgroupError::io("read directory", dir, e))?;
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            children.push(entry.path());
        }
    }
    Ok(children)
}

/// `rmdir` with retries while the cgroup is busy; sub-cgroups are removed first.
fn remove_leaf(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    let mut delay = Duration::from_millis(1);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if is_busy(&e) => {
                for child in child_cgroups(dir)? {
                    remove_leaf(&child, deadline)?;
                }
                if Instant::now() >= deadline {
                    return Err(CgroupError::io("rmdir", dir, e));
                }
                // Retry immediately once children are gone; otherwise wait for processes to exit.
                if std::fs::remove_dir(dir).is_ok() {
                    return Ok(());
                }
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(CgroupError::io("rmdir", dir, e)),
        }
    }
}

fn is_busy(e: &io::Error) -> bool {
    let busy = [rustix::io::Errno::BUSY, rustix::io::Errno::NOTEMPTY];
    e.raw_os_error()
        .is_some_and(|code| busy.iter().any(|b| b.raw_os_error() == code))
}

#[cfg(test)]
mod cpuset_race_tests {
    use super::inherit_cpuset;
    use crate::testutil::{get, put};

    #[test]
    fn an_empty_shared_parent_is_filled_before_the_child() {
        // Another container made `a` and has not filled it yet; our `a/b` must not inherit emptiness.
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        put(root, "cpuset.cpus", "0-1");
        put(root, "cpuset.mems", "0");
        for dir in [root.join("a"), root.join("a/b")] {
            put(&dir, "cpuset.cpus", "");
            put(&dir, "cpuset.mems", "");
        }
        inherit_cpuset(&root.join("a/b")).unwrap();
        assert_eq!(get(&root.join("a/b"), "cpuset.cpus").trim(), "0-1");
        assert_eq!(get(&root.join("a/b"), "cpuset.mems").trim(), "0");
        assert_eq!(get(&root.join("a"), "cpuset.cpus").trim(), "0-1");
    }
}
