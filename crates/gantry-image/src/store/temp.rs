//! Temporary store entries owned by a live process: partial unpacks under `snapshots/tmp/`
//! and partial blobs under `ingest/`.
//!
//! Ownership is an `flock` held on the entry itself (a directory or a file) for as long as the
//! owning process works on it; the kernel drops it when that process dies, even by `kill -9`.
//! [`sweep`] therefore removes exactly the entries nobody holds, at once, with no age guess.

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation, Mode, OFlags};

use crate::error::{ImageError, Result};

/// A temporary directory locked by this process; the lock goes with the value (or the process).
pub struct OwnedTempDir {
    path: PathBuf,
    _lock: File,
}

impl OwnedTempDir {
    /// Creates `parent/<unique name>` and locks it.
    pub fn create(parent: &Path, prefix: &str) -> Result<OwnedTempDir> {
        loop {
            let path = parent.join(crate::snapshot::unique_name(prefix));
            fs::create_dir(&path).map_err(|e| ImageError::io("mkdir", &path, e))?;
            let fd = match open_nofollow(&path, OFlags::DIRECTORY) {
                Ok(fd) => fd,
                // A sweep removed it between mkdir and open: try another name.
                Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => return Err(ImageError::errno("open", &path, e)),
            };
            match flock(&fd, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => continue,
                Err(e) => return Err(ImageError::errno("flock", &path, e)),
            }
            let file = File::from(fd);
            let ours = file
                .metadata()
                .map_err(|e| ImageError::io("stat", &path, e))?;
            match fs::symlink_metadata(&path) {
                Ok(m) if m.ino() == ours.ino() && m.dev() == ours.dev() => {
                    return Ok(OwnedTempDir { path, _lock: file })
                }
                _ => continue,
            }
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open_nofollow(path: &Path, extra: OFlags) -> rustix::io::Result<rustix::fd::OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK | extra,
        Mode::empty(),
    )
}

/// Removes every entry of `dir` that no live process holds locked; returns what it removed.
/// Entries it cannot open (a symlink planted there, say) are removed too: only locked
/// directories and files are ever in use.
pub fn sweep(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for ent in super::gc::entries(dir)? {
        let ent = ent?;
        let path = ent.path();
        let is_dir = ent.file_type().is_ok_and(|t| t.is_dir());
        // Held while removing, so a writer that opened it before us cannot lock it meanwhile
        // and believe it still owns it (writers re-check the path after locking).
        let _held = match open_nofollow(&path, OFlags::empty()) {
            Ok(fd) => match flock(&fd, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => Some(fd),
                Err(rustix::io::Errno::WOULDBLOCK) => continue,
                Err(e) => return Err(ImageError::errno("flock", &path, e)),
            },
            Err(rustix::io::Errno::NOENT) => continue,
            Err(_) => None,
        };
        let r = if is_dir {
            crate::unpack::remove_tree(&path)
        } else {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(ImageError::io("remove", &path, e))
                }
                _ => Ok(()),
            }
        };
        r?;
        removed.push(path);
    }
    removed.sort();
    Ok(removed)
}

/// The entries of `dir` that no live process holds locked (what [`sweep`] would remove).
pub fn unowned(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for ent in super::gc::entries(dir)? {
        let path = ent?.path();
        let owned = open_nofollow(&path, OFlags::empty()).is_ok_and(|fd| {
            let free = flock(&fd, FlockOperation::NonBlockingLockShared).is_ok();
            !free
        });
        if !owned {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unlocked_entries_are_swept() {
        let root = tempfile::tempdir().unwrap();
        let owned = OwnedTempDir::create(root.path(), "unpack").unwrap();
        std::fs::write(owned.path().join("f"), b"x").unwrap();
        let dead = root.path().join("unpack-dead");
        std::fs::create_dir_all(dead.join("sub")).unwrap();
        let partial = root.path().join("sha256-abc");
        std::fs::write(&partial, b"partial").unwrap();
        let held = File::open(&partial).unwrap();
        flock(&held, FlockOperation::LockExclusive).unwrap();
        assert_eq!(sweep(root.path()).unwrap(), vec![dead.clone()]);
        assert!(owned.path().join("f").exists() && partial.exists());
        drop(held);
        let p = owned.path().to_path_buf();
        drop(owned);
        let mut want = vec![p, partial];
        want.sort();
        assert_eq!(sweep(root.path()).unwrap(), want);
    }
}
