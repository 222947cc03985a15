//! Cross-process critical sections: an `flock` on `<root>/store.lock`.
//!
//! Writers that add references (image registration, snapshot commit) hold it shared;
//! `gc` holds it exclusive. Downloads never hold it.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::{flock, FlockOperation};

use crate::error::{ImageError, Result};

/// A held store lock; released on drop (closing the fd drops the flock).
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Takes the lock shared (blocks while a `gc` runs).
    pub fn shared(root: &Path) -> Result<StoreLock> {
        Self::take(root, FlockOperation::LockShared)
    }

    /// Takes the lock exclusive (blocks while any writer is in its critical section).
    pub fn exclusive(root: &Path) -> Result<StoreLock> {
        Self::take(root, FlockOperation::LockExclusive)
    }

    fn take(root: &Path, op: FlockOperation) -> Result<StoreLock> {
        let path = root.join("store.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .custom_flags(libc_o_nofollow())
            .mode(0o600)
            .open(&path)
            .map_err(|e| ImageError::io("open", &path, e))?;
        flock(&file, op).map_err(|e| ImageError::errno("flock", &path, e))?;
        Ok(StoreLock { _file: file })
    }
}

/// `O_NOFOLLOW | O_CLOEXEC` as an `i32` for `OpenOptionsExt::custom_flags`.
pub(crate) fn libc_o_nofollow() -> i32 {
    (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC).bits() as i32
}
