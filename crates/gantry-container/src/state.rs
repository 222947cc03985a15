//! The state directory: one directory per container under `--root`, holding `state.json` (written atomically by
//! rename) and `exec.fifo` (the start gate; its presence means "created"). A directory lock (`flock`) serialises
//! the verbs that change a container (create, start, delete).

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, Mode, OFlags};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::procfs;

/// Name of the state file inside a container's directory.
pub const STATE_FILE: &str = "state.json";
/// Name of the start gate FIFO inside a container's directory.
pub const EXEC_FIFO: &str = "exec.fifo";
/// Name of the copy of the bundle's config.json kept at create (for `exec`).
pub const CONFIG_FILE: &str = "config.json";
/// Name of the marker file written while a container is paused (after the freeze succeeded; the status is
/// `paused` only while the cgroup is frozen too).
pub const PAUSED_MARKER: &str = "paused";

/// The OCI status of a container (runtime.md "State").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Being created (create has not finished).
    Creating,
    /// Created, init waiting at the start gate.
    Created,
    /// The user process runs.
    Running,
    /// Frozen by `pause`.
    Paused,
    /// The init process has exited.
    Stopped,
}

impl Status {
    /// The spec's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// Hooks that run after `create` returns, kept so `start` and `delete` need not re-read the bundle.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LaterHooks {
    /// `hooks.poststart`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart: Vec<oci_spec::runtime::Hook>,
    /// `hooks.poststop`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop: Vec<oci_spec::runtime::Hook>,
}

/// What the runtime records about a container (a superset of the spec's state).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// The runtime-spec version of this state.
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// The init process's PID on the host.
    pub pid: i32,
    /// Start time of the init process (ticks since boot), to detect PID reuse.
    #[serde(rename = "pidStartTime")]
    pub pid_start_time: u64,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// `annotations` from config.json.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Owner (user name or uid) of the container, for `list`.
    #[serde(default)]
    pub owner: String,
    /// The container's cgroup, as resolved at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<gantry_cgroups::Cgroup>,
    /// Hooks for start and delete.
    #[serde(default)]
    pub hooks: LaterHooks,
    /// A provisional record written by `create` before it makes anything (cgroup, process), so that a `create`
    /// killed midway leaves a container `delete` can remove. While set, `pid` and `pid_start_time` are those of
    /// the `create` process itself: the status is `creating` while it lives, `stopped` after.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub creating: bool,
}

/// The spec's state JSON (runtime.md "State"), as printed by `state` and given to hooks on stdin.
#[derive(Debug, Serialize)]
pub struct SpecState<'a> {
    /// Spec version.
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    /// Container id.
    pub id: &'a str,
    /// Status.
    pub status: &'a str,
    /// Init PID (omitted when stopped, as the spec allows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Bundle path.
    pub bundle: &'a Path,
    /// Annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
    /// Rootfs path (runc prints it too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<&'a Path>,
    /// Creation time (runc prints it too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<&'a str>,
    /// Owner (runc prints it too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<&'a str>,
}

impl<'a> SpecState<'a> {
    /// The state given to the create-time hooks (`prestart`, `createRuntime`, `createContainer`, `startContainer`)
    /// and to the seccomp listener, before the record holds the init's PID: the same view as [`State::spec_view`]
    /// (the runtime's spec version, as runc gives), without the fields only the record has.
    pub fn during_create(
        id: &'a str,
        status: Status,
        pid: i32,
        bundle: &'a Path,
        annotations: &'a BTreeMap<String, String>,
    ) -> SpecState<'a> {
        SpecState {
            oci_version: crate::OCI_VERSION,
            id,
            status: status.as_str(),
            pid: Some(pid),
            bundle,
            annotations,
            rootfs: None,
            created: None,
            owner: None,
        }
    }

    /// As JSON, for a hook's stdin.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// As oci-spec's type (the seccomp listener's process state embeds it).
    pub fn to_oci(&self) -> oci_spec::runtime::State {
        let mut s = oci_spec::runtime::State::default();
        s.set_version(self.oci_version.to_owned());
        s.set_id(self.id.to_owned());
        s.set_status(match self.status {
            "creating" => oci_spec::runtime::ContainerState::Creating,
            "created" => oci_spec::runtime::ContainerState::Created,
            "running" => oci_spec::runtime::ContainerState::Running,
            _ => oci_spec::runtime::ContainerState::Stopped,
        });
        s.set_pid(self.pid);
        s.set_bundle(self.bundle.to_path_buf());
        s.set_annotations(
            (!self.annotations.is_empty()).then(|| self.annotations.clone().into_iter().collect()),
        );
        s
    }
}

impl State {
    /// The spec view of this state with `status`.
    pub fn spec_view(&self, status: Status) -> SpecState<'_> {
        SpecState {
            oci_version: &self.oci_version,
            id: &self.id,
            status: status.as_str(),
            pid: (status != Status::Stopped && !self.creating).then_some(self.pid),
            bundle: &self.bundle,
            annotations: &self.annotations,
            rootfs: Some(&self.rootfs),
            created: Some(&self.created),
            owner: Some(&self.owner),
        }
    }

    /// Whether the recorded init process is still alive (same PID and start time, not a zombie).
    pub fn init_alive(&self) -> bool {
        match procfs::stat(self.pid) {
            Ok(Some(s)) => s.start_time == self.pid_start_time && !s.is_dead(),
            _ => false,
        }
    }
}

/// The state root (`--root`).
#[derive(Debug, Clone)]
pub struct StateRoot {
    path: PathBuf,
}

impl StateRoot {
    /// A state root at `path` (created on first use, mode 0700).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateRoot { path: path.into() }
    }

    /// The root's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates and locks the directory of a new container; fails with [`Error::Exists`] if the id is in use.
    pub fn create(&self, id: &str) -> Result<ContainerDir> {
        crate::id::validate(id)?;
        let dir = self.path.join(id);
        match rfs::mkdir(&dir, Mode::from_raw_mode(0o700)) {
            Ok(()) => {}
            Err(rustix::io::Errno::EXIST) => return Err(Error::Exists(id.to_owned())),
            Err(rustix::io::Errno::NOENT) => {
                std::fs::create_dir_all(&self.path)
                    .map_err(|e| Error::path("create state root", &self.path, e))?;
                rfs::chmod(&self.path, Mode::from_raw_mode(0o700))
                    .map_err(|e| Error::path("chmod state root", &self.path, e.into()))?;
                match rfs::mkdir(&dir, Mode::from_raw_mode(0o700)) {
                    Ok(()) => {}
                    Err(rustix::io::Errno::EXIST) => return Err(Error::Exists(id.to_owned())),
                    Err(e) => return Err(Error::path("create state directory", &dir, e.into())),
                }
            }
            Err(e) => return Err(Error::path("create state directory", &dir, e.into())),
        }
        let cd = ContainerDir::open_path(id, dir)?;
        cd.lock()?;
        Ok(cd)
    }

    /// Opens the directory of an existing container (not locked).
    pub fn open(&self, id: &str) -> Result<ContainerDir> {
        crate::id::validate(id)?;
        ContainerDir::open_path(id, self.path.join(id))
    }

    /// Ids of all containers under this root, sorted.
    pub fn ids(&self) -> Result<Vec<String>> {
        let rd = match std::fs::read_dir(&self.path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::path("read state root", &self.path, e)),
        };
        let mut ids = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| Error::path("read state root", &self.path, e))?;
            if let Some(name) = entry.file_name().to_str() {
                if crate::id::validate(name).is_ok() && entry.path().is_dir() {
                    ids.push(name.to_owned());
                }
            }
        }
        ids.sort();
        Ok(ids)
    }
}

/// One container's state directory, open by descriptor.
#[derive(Debug)]
pub struct ContainerDir {
    id: String,
    path: PathBuf,
    fd: OwnedFd,
}

impl ContainerDir {
    fn open_path(id: &str, path: PathBuf) -> Result<Self> {
        let fd = match rfs::open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Err(Error::NotFound(id.to_owned())),
            Err(e) => return Err(Error::path("open state directory", &path, e.into())),
        };
        Ok(ContainerDir {
            id: id.to_owned(),
            path,
            fd,
        })
    }

    /// The container id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the container's exclusive lock (blocks while another verb holds it); released on drop.
    pub fn lock(&self) -> Result<()> {
        rfs::flock(&self.fd, rfs::FlockOperation::LockExclusive)
            .map_err(|e| Error::path("lock state directory", &self.path, e.into()))
    }

    /// Writes `state.json` atomically: a temporary file, then a rename. Over an existing `state.json` the rename
    /// is an exchange followed by an unlink of the old file: ext4 flushes a file renamed over another at once
    /// (`auto_da_alloc`), which allocates its blocks, writes them and, on a `discard` mount, makes the unlink at
    /// `delete` wait for a synchronous discard; an exchanged file stays in the page cache like any new one.
    pub fn write_state(&self, state: &State) -> Result<()> {
        let bytes = serde_json::to_vec(state).map_err(|e| Error::BadState {
            id: self.id.clone(),
            path: self.path.join(STATE_FILE),
            reason: e.to_string(),
        })?;
        let tmp = ".state.json.tmp";
        let f = rfs::openat(
            &self.fd,
            tmp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| Error::path("write state", self.path.join(tmp), e.into()))?;
        write_all(&f, &bytes).map_err(|e| Error::path("write state", self.path.join(tmp), e))?;
        drop(f);
        let err =
            |e: rustix::io::Errno| Error::path("write state", self.path.join(STATE_FILE), e.into());
        match rfs::renameat_with(
            &self.fd,
            tmp,
            &self.fd,
            STATE_FILE,
            rfs::RenameFlags::EXCHANGE,
        ) {
            Ok(()) => {
                // The old state, now under the temporary name; a leftover is overwritten by the next write and
                // removed with the directory.
                let _ = rfs::unlinkat(&self.fd, tmp, rfs::AtFlags::empty());
                Ok(())
            }
            // No state.json yet (the first write), or a filesystem without exchange.
            Err(rustix::io::Errno::NOENT | rustix::io::Errno::INVAL) => {
                rfs::renameat(&self.fd, tmp, &self.fd, STATE_FILE).map_err(err)
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Reads `state.json`; `Ok(None)` while the container is still being created.
    pub fn read_state(&self) -> Result<Option<State>> {
        let path = || self.path.join(STATE_FILE);
        let f = match rfs::openat(
            &self.fd,
            STATE_FILE,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(f) => f,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(Error::path("read state", path(), e.into())),
        };
        let bytes = read_to_end(&f).map_err(|e| Error::path("read state", path(), e))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::BadState {
                id: self.id.clone(),
                path: path(),
                reason: e.to_string(),
            })
    }

    /// Whether a file named `name` exists in the directory.
    pub fn has(&self, name: &str) -> bool {
        rfs::accessat(
            &self.fd,
            name,
            rfs::Access::EXISTS,
            rfs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .is_ok()
    }

    /// Removes `name` from the directory if present.
    pub fn remove_file(&self, name: &str) -> Result<()> {
        match rfs::unlinkat(&self.fd, name, rfs::AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(Error::path("remove", self.path.join(name), e.into())),
        }
    }

    /// Creates an empty marker file `name`.
    pub fn touch(&self, name: &str) -> Result<()> {
        rfs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map(drop)
        .map_err(|e| Error::path("create", self.path.join(name), e.into()))
    }

    /// Records `config` (the bytes of the bundle's config.json that create validated) as [`CONFIG_FILE`], for
    /// `exec`. Written from memory: no second read of the bundle (which may be on another filesystem, where an
    /// in-kernel copy fails with EXDEV, and may have changed since it was validated).
    pub fn keep_config(&self, config: &[u8]) -> Result<()> {
        let dst_path = || self.path.join(CONFIG_FILE);
        let dst = rfs::openat(
            &self.fd,
            CONFIG_FILE,
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| Error::path("keep config", dst_path(), e.into()))?;
        write_all(&dst, config).map_err(|e| Error::path("keep config", dst_path(), e))
    }

    /// Creates the start gate FIFO and opens it read-write (which never blocks), close-on-exec.
    pub fn make_exec_fifo(&self) -> Result<OwnedFd> {
        let path = || self.path.join(EXEC_FIFO);
        rfs::mknodat(
            &self.fd,
            EXEC_FIFO,
            rfs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .map_err(|e| Error::path("create start gate", path(), e.into()))?;
        rfs::openat(
            &self.fd,
            EXEC_FIFO,
            OFlags::RDWR | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("open start gate", path(), e.into()))
    }

    /// Opens the start gate for writing without blocking; `Ok(None)` if it is gone or nobody waits at it.
    pub fn open_exec_fifo_writer(&self) -> Result<Option<OwnedFd>> {
        match rfs::openat(
            &self.fd,
            EXEC_FIFO,
            OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(fd)),
            Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NXIO) => Ok(None),
            Err(e) => Err(Error::path(
                "open start gate",
                self.path.join(EXEC_FIFO),
                e.into(),
            )),
        }
    }

    /// The container's current status, derived from the recorded state and the live system.
    pub fn status(&self, state: Option<&State>) -> Status {
        let Some(state) = state else {
            return Status::Creating;
        };
        if state.creating {
            // `pid` is the creating runtime's.
            return if state.init_alive() {
                Status::Creating
            } else {
                Status::Stopped
            };
        }
        if !state.init_alive() {
            return Status::Stopped;
        }
        if self.has(EXEC_FIFO) {
            return Status::Created;
        }
        if self.has(PAUSED_MARKER)
            && state
                .cgroup
                .as_ref()
                .is_some_and(|cg| cg.is_frozen().unwrap_or(false))
        {
            return Status::Paused;
        }
        Status::Running
    }

    /// Removes the directory and everything in it.
    pub fn remove(self) -> Result<()> {
        std::fs::remove_dir_all(&self.path)
            .or_else(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(|e| Error::path("remove state directory", &self.path, e))
    }

    /// The directory descriptor's number (for the init to close it).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    /// The directory descriptor.
    pub fn fd(&self) -> impl AsFd + '_ {
        &self.fd
    }
}

impl Drop for ContainerDir {
    fn drop(&mut self) {
        // The container's init is a clone of this process and holds the same open file description until it
        // execs: closing our copy would not release the lock, so unlock explicitly.
        let _ = rfs::flock(&self.fd, rfs::FlockOperation::Unlock);
    }
}

fn write_all(fd: &OwnedFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match rustix::io::write(fd, buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn read_to_end(fd: &OwnedFd) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(2048);
    let mut buf = [0u8; 8192];
    loop {
        match rustix::io::read(fd, &mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str) -> State {
        State {
            oci_version: "1.2.0".into(),
            id: id.into(),
            pid: std::process::id() as i32,
            pid_start_time: procfs::stat(std::process::id() as i32)
                .unwrap()
                .unwrap()
                .start_time,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            annotations: BTreeMap::new(),
            created: "2026-01-01T00:00:00Z".into(),
            owner: "root".into(),
            cgroup: None,
            hooks: LaterHooks::default(),
            creating: false,
        }
    }

    #[test]
    fn create_write_read_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let root = StateRoot::new(tmp.path().join("root"));
        let dir = root.create("c1").unwrap();
        assert!(matches!(root.create("c1"), Err(Error::Exists(_))));
        assert_eq!(dir.status(None), Status::Creating);
        let st = sample("c1");
        dir.write_state(&st).unwrap();
        let back = dir.read_state().unwrap().unwrap();
        assert_eq!(back.id, "c1");
        assert_eq!(dir.status(Some(&back)), Status::Running);
        let _gate = dir.make_exec_fifo().unwrap();
        assert_eq!(dir.status(Some(&back)), Status::Created);
        assert_eq!(root.ids().unwrap(), vec!["c1".to_string()]);
        dir.remove().unwrap();
        assert!(matches!(root.open("c1"), Err(Error::NotFound(_))));
    }

    #[test]
    fn a_second_write_replaces_the_state_and_leaves_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let root = StateRoot::new(tmp.path().join("root"));
        let dir = root.create("c2").unwrap();
        let mut st = sample("c2");
        dir.write_state(&st).unwrap();
        st.bundle = "/other".into();
        dir.write_state(&st).unwrap();
        assert_eq!(
            dir.read_state().unwrap().unwrap().bundle,
            Path::new("/other")
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [STATE_FILE], "only the state file is left");
    }

    #[test]
    fn provisional_record_is_creating_while_its_creator_lives() {
        let tmp = tempfile::tempdir().unwrap();
        let root = StateRoot::new(tmp.path());
        let dir = root.create("c3").unwrap();
        let mut st = sample("c3");
        st.creating = true;
        dir.write_state(&st).unwrap();
        let back = dir.read_state().unwrap().unwrap();
        assert!(back.creating);
        assert_eq!(dir.status(Some(&back)), Status::Creating);
        assert_eq!(back.spec_view(Status::Creating).pid, None);
        st.pid_start_time += 1;
        assert_eq!(dir.status(Some(&st)), Status::Stopped);
    }

    #[test]
    fn dead_or_reused_pid_is_stopped() {
        let tmp = tempfile::tempdir().unwrap();
        let root = StateRoot::new(tmp.path());
        let dir = root.create("c2").unwrap();
        let mut st = sample("c2");
        st.pid_start_time += 1;
        assert_eq!(dir.status(Some(&st)), Status::Stopped);
    }

    #[test]
    fn create_time_state_is_the_same_view_with_the_runtime_version() {
        let ann = BTreeMap::from([("k".to_string(), "v".to_string())]);
        let st = SpecState::during_create("c1", Status::Creating, 42, Path::new("/b"), &ann);
        let v: serde_json::Value = serde_json::from_slice(&st.to_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"ociVersion": crate::OCI_VERSION, "id": "c1", "status": "creating", "pid": 42,
                "bundle": "/b", "annotations": {"k": "v"}})
        );
        let oci =
            SpecState::during_create("c1", Status::Created, 42, Path::new("/b"), &ann).to_oci();
        assert_eq!(oci.status(), &oci_spec::runtime::ContainerState::Created);
        assert_eq!(oci.version(), crate::OCI_VERSION);
        assert_eq!(*oci.pid(), Some(42));
        assert_eq!(
            oci.annotations().as_ref().and_then(|a| a.get("k")),
            Some(&"v".to_string())
        );
    }
}
