//! A pod's network namespace, kept alive by a bind mount on a file under the engine's run directory (e.g.
//! `<root>/netns/<pod>`), so that it outlives every process of the pod and can be joined by path.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{io_err, Error, Result};

/// `NSFS_MAGIC`: the file system type of `/proc/<pid>/ns/*` and of their bind mounts.
const NSFS_MAGIC: u64 = 0x6e73_6673;

/// A named, persistent network namespace (a bind-mounted nsfs file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodNetns {
    path: PathBuf,
    owned: bool,
}

impl PodNetns {
    /// Creates a new network namespace with `lo` up and binds it to `path` (its parent directories are created).
    /// Fails if `path` exists. The namespace is made in a short-lived forked child: the caller never changes
    /// namespace and no thread is started.
    pub fn create(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io_err(parent, "creating the netns directory"))?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io_err(
                path,
                "creating the netns mount point (does the pod already exist?)",
            ))?;
        let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::Io {
            path: path.to_path_buf(),
            op: "creating a network namespace",
            source: std::io::Error::from_raw_os_error(libc_einval()),
        })?;
        if let Err(e) = gantry_sys::netns::create_bound_netns(&c_path) {
            let _ = std::fs::remove_file(path);
            return Err(io_err(path, "creating a network namespace")(e));
        }
        Ok(Self {
            path: path.to_path_buf(),
            owned: true,
        })
    }

    /// Refers to an existing namespace at `path`, checking that it really is a mounted namespace file.
    pub fn open(path: &Path) -> Result<Self> {
        if !is_mounted_netns(path)? {
            return Err(Error::Io {
                path: path.to_path_buf(),
                op: "opening a pod network namespace",
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not a mounted network namespace",
                ),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            owned: false,
        })
    }

    /// Refers to the namespace this crate created at `path` earlier (e.g. in another process), so that
    /// [`crate::Cni::gc`] removes it with the pod. Checks that it is a mounted namespace file.
    pub fn adopt(path: &Path) -> Result<Self> {
        let mut ns = Self::open(path)?;
        ns.owned = true;
        Ok(ns)
    }

    /// Whether the namespace was created (or adopted) as the pod's own, to be removed with it.
    pub fn is_owned(&self) -> bool {
        self.owned
    }

    /// The path to give CNI (`CNI_NETNS`) and the runtime (`linux.namespaces[type=network].path`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unmounts and unlinks the namespace file (see [`remove_netns`]).
    pub fn remove(self) -> Result<()> {
        remove_netns(&self.path)
    }
}

/// Whether `path` is a bind-mounted namespace file (false if it is missing or an ordinary file).
pub fn is_mounted_netns(path: &Path) -> Result<bool> {
    match rustix::fs::statfs(path) {
        Ok(st) => Ok(st.f_type as u64 == NSFS_MAGIC),
        Err(rustix::io::Errno::NOENT) => Ok(false),
        Err(e) => Err(io_err(path, "inspecting a network namespace file")(
            e.into(),
        )),
    }
}

/// Removes a pod's namespace file: lazy unmount (the namespace itself goes when its last user does), then
/// unlink. A path that is missing or not mounted is not an error, so this is safe to repeat (gc does).
pub fn remove_netns(path: &Path) -> Result<()> {
    match rustix::mount::unmount(path, rustix::mount::UnmountFlags::DETACH) {
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(io_err(path, "unmounting a network namespace")(e.into())),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, "removing a network namespace file")(e)),
    }
}

fn libc_einval() -> i32 {
    rustix::io::Errno::INVAL.raw_os_error()
}
