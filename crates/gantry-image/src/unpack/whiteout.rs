//! OCI whiteouts: `.wh.NAME` (delete NAME from lower layers) and `.wh..wh..opq` (hide all of a
//! directory's lower content), as overlayfs markers or applied to a flat tree.

use std::os::fd::AsFd;

use rustix::fs::{self, FileType, Mode, XattrFlags};

use super::fsops;
use super::path::{self, Component};
use super::{refuse_in, Unpacker, WhiteoutMode};
use crate::error::Result;

impl Unpacker {
    /// Handles `dir/.wh.NAME`.
    pub(crate) fn whiteout(
        &mut self,
        raw: &[u8],
        dir: &[Component],
        target: Vec<u8>,
    ) -> Result<()> {
        if target.is_empty() || target == b"." || target == b".." {
            return Err(self.refuse(raw, "whiteout of an empty, '.' or '..' name"));
        }
        let mut victim = dir.to_vec();
        victim.push(target.clone());
        let shown = path::join(&victim);
        if self.created.contains(&victim) {
            self.warn(
                &shown,
                "whiteout of an entry of the same layer ignored".into(),
            );
            return Ok(());
        }
        let layer = self.layer.clone();
        match self.opts.whiteouts {
            WhiteoutMode::Overlay | WhiteoutMode::OverlayUserXattr => {
                let d = self
                    .tree
                    .dir(dir, true)
                    .map_err(|e| refuse_in(&layer, raw, e.to_string()))?;
                let Some(d) = d else { return Ok(()) };
                let depth = self.opts.limits.max_depth;
                let r = fsops::remove_all(d, &target, depth).and_then(|()| {
                    fs::mknodat(
                        d,
                        target.as_slice(),
                        FileType::CharacterDevice,
                        Mode::empty(),
                        fs::makedev(0, 0),
                    )
                });
                r.map_err(|e| {
                    refuse_in(&layer, raw, format!("cannot create the overlay whiteout device: {e} (use WhiteoutMode::Flat when not root)"))
                })?;
                self.mark_created(&victim);
            }
            WhiteoutMode::Flat => {
                let d = self
                    .tree
                    .dir(dir, false)
                    .map_err(|e| refuse_in(&layer, raw, e.to_string()))?;
                let Some(d) = d else { return Ok(()) };
                let depth = self.opts.limits.max_depth;
                fsops::remove_all(d, &target, depth)
                    .map_err(|e| refuse_in(&layer, raw, format!("apply whiteout: {e}")))?;
                self.tree.invalidate();
                self.regular.remove(&victim);
            }
        }
        Ok(())
    }

    /// Handles `dir/.wh..wh..opq`.
    pub(crate) fn opaque(&mut self, raw: &[u8], dir: &[Component]) -> Result<()> {
        let mode = self.opts.whiteouts;
        let depth = self.opts.limits.max_depth;
        let layer = self.layer.clone();
        let d = self
            .tree
            .dir(dir, true)
            .map_err(|e| refuse_in(&layer, raw, e.to_string()))?;
        let Some(d) = d else { return Ok(()) };
        match mode {
            WhiteoutMode::Overlay | WhiteoutMode::OverlayUserXattr => {
                let name = mode.opaque_xattr().unwrap_or("trusted.overlay.opaque");
                let d = fs::openat(
                    d,
                    ".",
                    fs::OFlags::RDONLY | fs::OFlags::DIRECTORY | fs::OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| refuse_in(&layer, raw, format!("open: {e}")))?;
                fs::fsetxattr(d.as_fd(), name, b"y", XattrFlags::empty()).map_err(|e| {
                    self.refuse(raw, format!("cannot set {name}: {e} (trusted.* needs root: use WhiteoutMode::OverlayUserXattr or Flat)"))
                })?;
            }
            WhiteoutMode::Flat => {
                let d = fs::openat(
                    d,
                    ".",
                    fs::OFlags::RDONLY | fs::OFlags::DIRECTORY | fs::OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| refuse_in(&layer, raw, format!("open: {e}")))?;
                let children =
                    fsops::list(d.as_fd()).map_err(|e| self.refuse(raw, format!("list: {e}")))?;
                for c in children {
                    let mut p = dir.to_vec();
                    p.push(c.clone());
                    if self.created.contains(&p) {
                        continue;
                    }
                    fsops::remove_all(d.as_fd(), &c, depth)
                        .map_err(|e| self.refuse(raw, format!("apply opaque whiteout: {e}")))?;
                    self.regular.remove(&p);
                }
                self.tree.invalidate();
            }
        }
        self.mark_created(dir);
        Ok(())
    }
}
