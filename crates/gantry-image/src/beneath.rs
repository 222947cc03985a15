//! Opening files inside an untrusted directory tree (an image rootfs, a layout) safely.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::error::{ImageError, Result};

/// A directory whose files are opened only beneath it (symlinks resolved inside it).
pub(crate) struct Beneath {
    fd: OwnedFd,
    name: String,
}

impl Beneath {
    pub(crate) fn open(dir: &Path) -> Result<Beneath> {
        let fd = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ImageError::errno("open", dir, e))?;
        Ok(Beneath {
            fd,
            name: dir.display().to_string(),
        })
    }

    /// Opens a regular file below the directory; never a FIFO, device or anything outside.
    /// Symlinks are resolved as if the directory were `/` (RESOLVE_IN_ROOT); `O_NONBLOCK`
    /// keeps a FIFO from blocking the open before the type check refuses it.
    pub(crate) fn file(&self, rel: &str) -> Result<File> {
        let fd = rustix::fs::openat2(
            &self.fd,
            rel,
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )
        .map_err(|e| ImageError::errno("open", format!("{}/{rel}", self.name), e))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| ImageError::errno("stat", rel, e))?;
        if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
            return Err(ImageError::io(
                "open",
                format!("{}/{rel}", self.name),
                std::io::Error::other("not a regular file"),
            ));
        }
        Ok(File::from(fd))
    }

    /// The directory's display name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}
