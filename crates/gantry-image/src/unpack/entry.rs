//! Creating one tar entry (file, directory, link, special file) under the root.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{
    self, AtFlags, FileType, Gid, Mode, OFlags, Timespec, Timestamps, Uid, XattrFlags,
};
use tar::EntryType;

use super::fsops::{self, WalkError};
use super::path::{self, Component};
use super::{refuse_in, Meta, Unpacker};
use crate::error::{ImageError, Result};

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";

fn ts(mtime: i64) -> Timestamps {
    let t = Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

impl Unpacker {
    pub(crate) fn walk_err(&self, raw: &[u8], e: WalkError) -> ImageError {
        self.refuse(raw, e.to_string())
    }

    fn os_err(&self, raw: &[u8], op: &str, e: rustix::io::Errno) -> ImageError {
        self.refuse(raw, format!("{op}: {e}"))
    }

    /// Dispatches one entry.
    pub(crate) fn entry<R: Read>(
        &mut self,
        data: &mut R,
        et: EntryType,
        raw: &[u8],
        link: Option<&[u8]>,
        meta: Meta,
    ) -> Result<()> {
        let (comps, neutralised) = path::clean(raw).map_err(|r| self.refuse(raw, r))?;
        let shown = path::join(&comps);
        let size = if et.is_file() || et == EntryType::Continuous {
            meta.size
        } else {
            0
        };
        // Charge the declared size of every entry: data of skipped or non-file entries is
        // still decompressed (and discarded) by the tar reader.
        self.budget
            .charge(&self.opts.limits, meta.size)
            .map_err(|x| x.into_error(&self.layer, &String::from_utf8_lossy(raw)))?;
        if comps.len() > self.opts.limits.max_depth {
            return Err(self.refuse(
                raw,
                format!("more than {} path components", self.opts.limits.max_depth),
            ));
        }
        if neutralised {
            self.warn(
                &shown,
                format!(
                    "name {:?} neutralised to /{shown}",
                    String::from_utf8_lossy(raw)
                ),
            );
        }
        if let Some(name) = comps.last() {
            if name.as_slice() == OPAQUE {
                return self.opaque(raw, &comps[..comps.len() - 1]);
            }
            if name.starts_with(b".wh..wh.") {
                self.warn(&shown, "aufs metadata entry ignored".into());
                return Ok(());
            }
            if let Some(target) = name.strip_prefix(WHITEOUT_PREFIX) {
                return self.whiteout(raw, &comps[..comps.len() - 1], target.to_vec());
            }
        } else if et != EntryType::Directory {
            return Err(self.refuse(raw, "non-directory entry for the root itself"));
        }
        match et {
            EntryType::Regular | EntryType::Continuous => self.file(data, raw, &comps, &meta, size),
            EntryType::Directory => self.directory(raw, &comps, &meta),
            EntryType::Symlink => {
                let target = link.ok_or_else(|| self.refuse(raw, "symlink without a target"))?;
                self.symlink(raw, &comps, target, &meta)
            }
            EntryType::Link => {
                let target = link.ok_or_else(|| self.refuse(raw, "hard link without a target"))?;
                self.hardlink(raw, &comps, target)
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                self.special(raw, &comps, et, &meta)
            }
            EntryType::GNUSparse => Err(self.refuse(raw, "GNU sparse files are not supported")),
            other => {
                self.warn(&shown, format!("entry type {other:?} skipped"));
                Ok(())
            }
        }
    }

    pub(crate) fn mark_created(&mut self, comps: &[Component]) {
        for i in 1..=comps.len() {
            if !self.created.contains(&comps[..i]) {
                self.created.insert(comps[..i].to_vec());
            }
        }
    }

    /// Removes whatever occupies `name` in `dir` unless it is a directory and `keep_dir`.
    /// Returns true if a directory was kept.
    fn clear_slot(&mut self, raw: &[u8], comps: &[Component], keep_dir: bool) -> Result<bool> {
        let (parent, name) = comps.split_at(comps.len() - 1);
        let depth = self.opts.limits.max_depth;
        let layer = self.layer.clone();
        let dir = self
            .tree
            .dir(parent, true)
            .map_err(|e| refuse_in(&layer, raw, e.to_string()))?;
        let Some(dir) = dir else { return Ok(false) };
        let res = match fsops::type_at(dir, &name[0]) {
            Ok(None) => Ok(false),
            Ok(Some(FileType::Directory)) if keep_dir => Ok(true),
            Ok(Some(FileType::Directory)) => {
                fsops::remove_all(dir, &name[0], depth).map(|()| false)
            }
            Ok(Some(_)) => fs::unlinkat(dir, name[0].as_slice(), AtFlags::empty()).map(|()| false),
            Err(e) => Err(e),
        };
        let kept =
            res.map_err(|e| refuse_in(&layer, raw, format!("replace existing entry: {e}")))?;
        self.regular.remove(comps);
        Ok(kept)
    }

    fn parent_fd(&mut self, raw: &[u8], comps: &[Component]) -> Result<BorrowedFd<'_>> {
        let parent = &comps[..comps.len() - 1];
        let layer = self.layer.clone();
        match self.tree.dir(parent, true) {
            Ok(Some(fd)) => Ok(fd),
            Ok(None) => Err(refuse_in(&layer, raw, "parent directory vanished")),
            Err(e) => Err(refuse_in(&layer, raw, e.to_string())),
        }
    }

    fn file<R: Read>(
        &mut self,
        data: &mut R,
        raw: &[u8],
        comps: &[Component],
        meta: &Meta,
        size: u64,
    ) -> Result<()> {
        self.clear_slot(raw, comps, false)?;
        let name = comps[comps.len() - 1].clone();
        let dir = self.parent_fd(raw, comps)?;
        let fd = fs::openat(
            dir,
            name.as_slice(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        );
        let fd = fd.map_err(|e| self.os_err(raw, "create file", e))?;
        let mut file = File::from(fd);
        let copied = io::copy(&mut data.take(size), &mut file)
            .map_err(|e| self.refuse(raw, format!("write: {e}")))?;
        if copied != size {
            return Err(self.refuse(raw, format!("truncated: {copied} of {size} bytes")));
        }
        self.bytes += copied;
        let fd: OwnedFd = file.into();
        self.fix_fd(raw, fd.as_fd(), meta)?;
        fs::futimens(&fd, &ts(meta.mtime)).map_err(|e| self.os_err(raw, "set mtime", e))?;
        self.mark_created(comps);
        self.regular.insert(comps.to_vec());
        Ok(())
    }

    /// chown (when preserving ownership), chmod, xattrs on an open fd.
    fn fix_fd(&mut self, raw: &[u8], fd: BorrowedFd<'_>, meta: &Meta) -> Result<()> {
        if self.opts.preserve_ownership {
            fs::fchown(
                fd,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
            )
            .map_err(|e| self.os_err(raw, "chown", e))?;
        }
        fs::fchmod(fd, Mode::from_raw_mode(meta.mode)).map_err(|e| self.os_err(raw, "chmod", e))?;
        for (k, v) in &meta.xattrs {
            if k.starts_with("trusted.overlay.") || k.starts_with("user.overlay.") {
                let shown = String::from_utf8_lossy(raw).into_owned();
                self.warn(
                    &shown,
                    format!("xattr {k} from the layer ignored (reserved for overlayfs)"),
                );
                continue;
            }
            if let Err(e) = fs::fsetxattr(fd, k.as_str(), v, XattrFlags::empty()) {
                let shown = String::from_utf8_lossy(raw).into_owned();
                self.warn(&shown, format!("xattr {k} not set: {e}"));
            }
        }
        Ok(())
    }

    fn directory(&mut self, raw: &[u8], comps: &[Component], meta: &Meta) -> Result<()> {
        let fd = if comps.is_empty() {
            fs::openat(
                self.tree.root(),
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| self.os_err(raw, "open root", e))?
        } else {
            let kept = self.clear_slot(raw, comps, true)?;
            let name = comps[comps.len() - 1].clone();
            let dir = self.parent_fd(raw, comps)?;
            if !kept {
                match fs::mkdirat(dir, name.as_slice(), Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(self.os_err(raw, "mkdir", e)),
                }
            }
            fsops::open_dir_at(dir, &name).map_err(|e| self.os_err(raw, "open dir", e))?
        };
        let mut m = meta.clone();
        if !self.opts.preserve_ownership {
            // Keep the directory writable for us until the end; the final mode is set in finish_dirs.
            m.mode |= 0o700;
        }
        self.fix_fd(raw, fd.as_fd(), &m)?;
        self.mark_created(comps);
        self.dirs.push((comps.to_vec(), meta.mode, meta.mtime));
        Ok(())
    }

    fn symlink(
        &mut self,
        raw: &[u8],
        comps: &[Component],
        target: &[u8],
        meta: &Meta,
    ) -> Result<()> {
        if target.contains(&0) || target.is_empty() {
            return Err(self.refuse(raw, "empty or NUL-containing symlink target"));
        }
        self.clear_slot(raw, comps, false)?;
        let name = comps[comps.len() - 1].clone();
        let chown = self.opts.preserve_ownership;
        let dir = self.parent_fd(raw, comps)?;
        let r = fs::symlinkat(target, dir, name.as_slice()).and_then(|()| {
            if chown {
                fs::chownat(
                    dir,
                    name.as_slice(),
                    Some(Uid::from_raw(meta.uid)),
                    Some(Gid::from_raw(meta.gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )?;
            }
            fs::utimensat(
                dir,
                name.as_slice(),
                &ts(meta.mtime),
                AtFlags::SYMLINK_NOFOLLOW,
            )
        });
        r.map_err(|e| self.os_err(raw, "symlink", e))?;
        self.mark_created(comps);
        Ok(())
    }

    fn hardlink(&mut self, raw: &[u8], comps: &[Component], target: &[u8]) -> Result<()> {
        let (tcomps, _) = path::clean(target).map_err(|r| self.refuse(raw, r))?;
        if tcomps.is_empty() || !self.regular.contains(&tcomps) {
            return Err(self.refuse(
                raw,
                format!(
                    "hard link to {:?}, which is not an earlier regular file of this layer",
                    String::from_utf8_lossy(target)
                ),
            ));
        }
        if tcomps.as_slice() == comps {
            return Err(self.refuse(raw, "hard link to itself"));
        }
        let (tparent, tname) = tcomps.split_at(tcomps.len() - 1);
        let tdir = self
            .tree
            .walk(tparent, false)
            .map_err(|e| self.walk_err(raw, e))?
            .ok_or_else(|| self.refuse(raw, "hard link target directory vanished"))?;
        match fsops::type_at(tdir.as_fd(), &tname[0]) {
            Ok(Some(FileType::RegularFile)) => {}
            _ => return Err(self.refuse(raw, "hard link target is no longer a regular file")),
        }
        self.clear_slot(raw, comps, false)?;
        let name = comps[comps.len() - 1].clone();
        let dir = self.parent_fd(raw, comps)?;
        fs::linkat(
            tdir.as_fd(),
            tname[0].as_slice(),
            dir,
            name.as_slice(),
            AtFlags::empty(),
        )
        .map_err(|e| self.os_err(raw, "link", e))?;
        self.mark_created(comps);
        self.regular.insert(comps.to_vec());
        Ok(())
    }

    fn special(
        &mut self,
        raw: &[u8],
        comps: &[Component],
        et: EntryType,
        meta: &Meta,
    ) -> Result<()> {
        let (ft, dev) = match et {
            EntryType::Fifo => (FileType::Fifo, 0),
            _ => {
                let (major, minor) = meta.dev;
                let ft = if et == EntryType::Char {
                    FileType::CharacterDevice
                } else {
                    FileType::BlockDevice
                };
                (ft, rustix::fs::makedev(major, minor))
            }
        };
        if ft != FileType::Fifo && !self.opts.create_devices {
            let shown = path::join(comps);
            self.warn(&shown, "device node skipped (not running as root)".into());
            return Ok(());
        }
        self.clear_slot(raw, comps, false)?;
        let name = comps[comps.len() - 1].clone();
        let chown = self.opts.preserve_ownership;
        let dir = self.parent_fd(raw, comps)?;
        let r =
            fs::mknodat(dir, name.as_slice(), ft, Mode::from_raw_mode(0o600), dev).and_then(|()| {
                if chown {
                    fs::chownat(
                        dir,
                        name.as_slice(),
                        Some(Uid::from_raw(meta.uid)),
                        Some(Gid::from_raw(meta.gid)),
                        AtFlags::SYMLINK_NOFOLLOW,
                    )?;
                }
                fs::chmodat(
                    dir,
                    name.as_slice(),
                    Mode::from_raw_mode(meta.mode),
                    AtFlags::empty(),
                )?;
                fs::utimensat(
                    dir,
                    name.as_slice(),
                    &ts(meta.mtime),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
            });
        match r {
            Ok(()) => {}
            Err(rustix::io::Errno::PERM) if ft != FileType::Fifo => {
                let shown = path::join(comps);
                self.warn(
                    &shown,
                    "device node skipped: mknod not permitted here".into(),
                );
                return Ok(());
            }
            Err(e) => return Err(self.os_err(raw, "mknod", e)),
        }
        self.mark_created(comps);
        Ok(())
    }

    /// Sets final directory modes and mtimes (children change a directory's mtime).
    pub(crate) fn finish_dirs(&mut self) {
        let dirs = std::mem::take(&mut self.dirs);
        for (comps, mode, mtime) in dirs.iter().rev() {
            let r = if comps.is_empty() {
                fs::futimens(self.tree.root(), &ts(*mtime))
            } else {
                let (parent, name) = comps.split_at(comps.len() - 1);
                match self.tree.walk(parent, false) {
                    Ok(Some(p)) => {
                        let set_mode = if self.opts.preserve_ownership {
                            Ok(())
                        } else {
                            fsops::open_dir_at(p.as_fd(), &name[0])
                                .and_then(|d| fs::fchmod(d, Mode::from_raw_mode(*mode)))
                        };
                        set_mode.and_then(|()| {
                            fs::utimensat(
                                p.as_fd(),
                                name[0].as_slice(),
                                &ts(*mtime),
                                AtFlags::SYMLINK_NOFOLLOW,
                            )
                        })
                    }
                    _ => Ok(()),
                }
            };
            if let Err(e) = r {
                let shown = path::join(comps);
                self.warn(&shown, format!("directory mode/mtime not set: {e}"));
            }
        }
    }
}
