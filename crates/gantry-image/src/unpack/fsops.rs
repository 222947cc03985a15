//! Directory-fd operations confined to a root: every component is opened with `O_NOFOLLOW`,
//! so no symlink (planted by an earlier entry or layer) is ever followed.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{self, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::path::Component;

/// Why a parent directory could not be reached.
#[derive(Debug)]
pub(crate) enum WalkError {
    /// A component is a symlink: following it could leave the root.
    Symlink(String),
    /// A component exists but is not a directory.
    NotDir(String),
    /// Any other errno.
    Os(&'static str, String, Errno),
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalkError::Symlink(p) => write!(
                f,
                "path component {p:?} is a symlink; refusing to follow it"
            ),
            WalkError::NotDir(p) => write!(f, "path component {p:?} is not a directory"),
            WalkError::Os(op, p, e) => write!(f, "{op} {p:?}: {e}"),
        }
    }
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// The unpack root plus a one-entry cache of the last parent directory opened.
pub(crate) struct Tree {
    root: OwnedFd,
    cache: Option<(Vec<Component>, OwnedFd)>,
}

fn name_of(c: &[Component], upto: usize) -> String {
    super::path::join(&c[..upto])
}

/// Opens `name` in `dir` as a directory without following a symlink.
pub(crate) fn open_dir_at(dir: BorrowedFd<'_>, name: &[u8]) -> Result<OwnedFd, Errno> {
    fs::openat(dir, name, DIR_FLAGS, Mode::empty())
}

impl Tree {
    /// Wraps an open root directory.
    pub(crate) fn new(root: OwnedFd) -> Tree {
        Tree { root, cache: None }
    }

    /// The root fd.
    pub(crate) fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// Forgets the cached directory (call after removing or replacing anything).
    pub(crate) fn invalidate(&mut self) {
        self.cache = None;
    }

    /// Opens the directory `comps` afresh, bypassing the cache (same rules as [`Tree::dir`]).
    pub(crate) fn walk(
        &self,
        comps: &[Component],
        create: bool,
    ) -> Result<Option<OwnedFd>, WalkError> {
        let mut cur: Option<OwnedFd> = None;
        for (i, c) in comps.iter().enumerate() {
            let parent = cur.as_ref().map_or(self.root.as_fd(), |f| f.as_fd());
            let next = match open_dir_at(parent, c) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if create => {
                    match fs::mkdirat(parent, c.as_slice(), Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(WalkError::Os("mkdir", name_of(comps, i + 1), e)),
                    }
                    open_dir_at(parent, c).map_err(|e| classify(parent, c, comps, i, e))?
                }
                Err(Errno::NOENT) => return Ok(None),
                Err(e) => return Err(classify(parent, c, comps, i, e)),
            };
            cur = Some(next);
        }
        match cur {
            Some(fd) => Ok(Some(fd)),
            None => fs::openat(self.root.as_fd(), ".", DIR_FLAGS, Mode::empty())
                .map(Some)
                .map_err(|e| WalkError::Os("open", ".".into(), e)),
        }
    }

    /// Opens the directory `comps` (creating missing ones with mode 0755 when `create`).
    /// `Ok(None)` when it does not exist and `create` is false.
    pub(crate) fn dir(
        &mut self,
        comps: &[Component],
        create: bool,
    ) -> Result<Option<BorrowedFd<'_>>, WalkError> {
        if comps.is_empty() {
            return Ok(Some(self.root.as_fd()));
        }
        let hit = matches!(&self.cache, Some((p, _)) if p.as_slice() == comps);
        if !hit {
            let Some(fd) = self.walk(comps, create)? else {
                return Ok(None);
            };
            self.cache = Some((comps.to_vec(), fd));
        }
        Ok(self.cache.as_ref().map(|(_, fd)| fd.as_fd()))
    }
}

fn classify(
    parent: BorrowedFd<'_>,
    c: &[u8],
    comps: &[Component],
    i: usize,
    e: Errno,
) -> WalkError {
    let name = name_of(comps, i + 1);
    if e == Errno::LOOP || e == Errno::NOTDIR {
        if let Ok(st) = fs::statat(parent, c, AtFlags::SYMLINK_NOFOLLOW) {
            if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
                return WalkError::Symlink(name);
            }
        }
        return WalkError::NotDir(name);
    }
    WalkError::Os("open", name, e)
}

/// The file type of `name` in `dir` (not following a symlink), or `None` if absent.
pub(crate) fn type_at(dir: BorrowedFd<'_>, name: &[u8]) -> Result<Option<FileType>, Errno> {
    match fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Names in a directory (without `.` and `..`).
pub(crate) fn list(dir: BorrowedFd<'_>) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    let d = fs::Dir::read_from(dir)?;
    for ent in d {
        let ent = ent?;
        let n = ent.file_name().to_bytes();
        if n != b"." && n != b".." {
            out.push(n.to_vec());
        }
    }
    Ok(out)
}

/// Removes `name` in `dir` and, for a directory, everything below it, without following
/// symlinks. `depth` bounds recursion.
pub(crate) fn remove_all(dir: BorrowedFd<'_>, name: &[u8], depth: usize) -> Result<(), Errno> {
    match type_at(dir, name)? {
        None => Ok(()),
        Some(FileType::Directory) => {
            if depth == 0 {
                return Err(Errno::LOOP);
            }
            let sub = open_dir_at(dir, name)?;
            for child in list(sub.as_fd())? {
                remove_all(sub.as_fd(), &child, depth - 1)?;
            }
            fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
        }
        Some(_) => fs::unlinkat(dir, name, AtFlags::empty()),
    }
}
