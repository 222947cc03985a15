//! A process's own way into its v1 cgroups, without the kernel's global threadgroup lock.
//!
//! Moving a process through `cgroup.procs` (its pid, or `0`) write-locks the kernel's global
//! `cgroup_threadgroup_rwsem`. Taking that lock for writing waits for an RCU grace period unless another writer held
//! it moments before: on an otherwise quiet host the first attach takes 8-16 ms (two to four jiffies at 250 Hz),
//! during which every fork and exit on the machine also waits. Writing `0` to a v1 hierarchy's `tasks` file moves
//! only the writing thread, and for that case the kernel skips the global lock (the thread cannot exit or exec
//! under its own write). A single-threaded process, such as a container's init before it execs, is thereby moved
//! whole.
//!
//! The unified hierarchy has no such path for domain cgroups (`cgroup.threads` moves threads only within a threaded
//! subtree); on hybrid hosts the init is cloned into its unified cgroup instead (`CLONE_INTO_CGROUP`).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::CgroupError;
use crate::layout::Mode;
use crate::Cgroup;

/// The open `tasks` files of a cgroup's v1 directories, for [`SelfJoin::join`] by the process to be moved.
#[derive(Debug)]
pub struct SelfJoin {
    /// `tasks` of every v1 directory, opened for writing (close-on-exec), with its path for errors.
    tasks: Vec<(File, PathBuf)>,
    /// The cgroup's unified directory on a hybrid host.
    unified: Option<PathBuf>,
}

impl Cgroup {
    /// Opens `tasks` in every v1 directory of the cgroup (which must exist: [`Cgroup::create`]) so that a process
    /// can move itself in with [`SelfJoin::join`]. `None` on a pure v2 host (the process is cloned into its
    /// cgroup there) and with the systemd driver (systemd moves it, into a scope it makes for it).
    pub fn open_self_join(&self) -> Result<Option<SelfJoin>, CgroupError> {
        if self.mode() == Mode::V2 || self.systemd_unit().is_some() {
            return Ok(None);
        }
        let mut tasks = Vec::new();
        for dir in self.v1_dirs() {
            let path = dir.join("tasks");
            let file = File::options()
                .write(true)
                .open(&path)
                .map_err(|e| CgroupError::io("open", &path, e))?;
            tasks.push((file, path));
        }
        Ok(Some(SelfJoin {
            tasks,
            unified: self.unified_dir().map(Path::to_path_buf),
        }))
    }
}

impl SelfJoin {
    /// Moves the calling thread into every v1 directory. The caller must be the only thread of its process (a
    /// thread of a multi-threaded process would leave its siblings behind). Performs only `write(2)`s.
    pub fn join(&self) -> Result<(), CgroupError> {
        for (file, path) in &self.tasks {
            // One write(2) of "0": the writing thread itself.
            (&*file)
                .write(b"0")
                .map_err(|e| CgroupError::io("write", path, e))?;
        }
        Ok(())
    }

    /// The unified directory the process must be cloned into (`CLONE_INTO_CGROUP`) on a hybrid host, where
    /// [`SelfJoin::join`] covers only the v1 hierarchies.
    pub fn clone_into_dir(&self) -> Option<&Path> {
        self.unified.as_deref()
    }

    /// Moves process `pid` into the unified directory through `cgroup.procs` (taking the global lock), for when
    /// the clone could not place it there (no `clone3`). Nothing on a v1-only host.
    pub fn add_to_unified(&self, pid: i32) -> Result<(), CgroupError> {
        match &self.unified {
            Some(dir) => crate::cgroup::move_process(dir, pid),
            None => Ok(()),
        }
    }
}
