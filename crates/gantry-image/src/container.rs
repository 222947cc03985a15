//! Containers' use of images: writable upper/work dirs over the snapshots, overlayfs mount
//! options, and the flat-copy fallback when overlayfs is unavailable.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{ImageError, Result};
use crate::store::db::{Op, Table};
use crate::store::{Store, StoreLock};
use crate::unpack::{UnpackOptions, WhiteoutMode};

/// A container's use of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRecord {
    /// Container ID.
    pub id: String,
    /// Image name at creation time.
    pub image: String,
    /// Manifest in use (kept alive by `gc` while the container exists).
    pub manifest: Digest,
    /// Snapshot chain IDs in use, bottom first.
    pub chain_ids: Vec<Digest>,
    /// Whiteout mode of its snapshots (`flat` for a private flattened copy).
    pub whiteouts: WhiteoutMode,
}

/// The directories making up a container's root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRootfs {
    /// Read-only layers, TOP FIRST (overlayfs `lowerdir` order).
    pub lowerdirs: Vec<PathBuf>,
    /// Writable layer.
    pub upperdir: PathBuf,
    /// overlayfs work directory (same filesystem as `upperdir`).
    pub workdir: PathBuf,
    /// Where the engine mounts the overlay (or copies the flat fallback).
    pub rootfs: PathBuf,
    /// The snapshots use `user.overlay.*` xattrs: mount with `userxattr` (rootless).
    pub userxattr: bool,
}

impl ContainerRootfs {
    /// overlayfs mount data for this rootfs.
    pub fn overlay_options(&self) -> Result<String> {
        let mut o = overlay_options(&self.lowerdirs, Some(&self.upperdir), Some(&self.workdir))?;
        if self.userxattr {
            o.push_str(",userxattr");
        }
        Ok(o)
    }
}

/// Builds overlayfs mount data (`lowerdir=TOP:...:BOTTOM,upperdir=U,workdir=W`).
/// Without upper/work the mount is read-only. Paths containing `,`, `:` or `\` are refused
/// (overlayfs would split them).
pub fn overlay_options(
    lowerdirs: &[PathBuf],
    upper: Option<&Path>,
    work: Option<&Path>,
) -> Result<String> {
    if lowerdirs.is_empty() {
        return Err(ImageError::RunConfig {
            field: "overlay.lowerdir",
            reason: "at least one lower directory is needed".into(),
        });
    }
    let check = |p: &Path, field: &'static str| -> Result<String> {
        let s = p.to_str().ok_or_else(|| ImageError::RunConfig {
            field,
            reason: format!("{} is not UTF-8", p.display()),
        })?;
        if s.contains([',', ':', '\\']) || !p.is_absolute() {
            return Err(ImageError::RunConfig {
                field,
                reason: format!("{s:?} must be absolute and free of ',', ':' and '\\'"),
            });
        }
        Ok(s.to_owned())
    };
    let lowers: Result<Vec<String>> = lowerdirs
        .iter()
        .map(|p| check(p, "overlay.lowerdir"))
        .collect();
    let mut out = format!("lowerdir={}", lowers?.join(":"));
    match (upper, work) {
        (Some(u), Some(w)) => {
            out.push_str(&format!(
                ",upperdir={},workdir={}",
                check(u, "overlay.upperdir")?,
                check(w, "overlay.workdir")?
            ));
        }
        (None, None) => {}
        _ => {
            return Err(ImageError::RunConfig {
                field: "overlay.workdir",
                reason: "upperdir and workdir go together".into(),
            })
        }
    }
    Ok(out)
}

/// Container IDs become directory names: checked by the workspace's one rule ([`gantry_oci::container_id`],
/// runc's), as the runtime checks them.
pub fn validate_container_id(id: &str) -> Result<()> {
    gantry_oci::container_id::validate(id).map_err(|e| ImageError::RunConfig {
        field: "container id",
        reason: format!("{id:?}: {e}"),
    })
}
impl Store {
    /// Prepares snapshots for `image` and creates `containers/<id>/{upper,work,rootfs}`,
    /// recording that the container uses them.
    pub fn create_container(
        &self,
        id: &str,
        image: &str,
        opts: &UnpackOptions,
    ) -> Result<ContainerRootfs> {
        let mut o = opts.clone();
        if !o.whiteouts.is_overlay() {
            o.whiteouts = WhiteoutMode::overlay_for_this_user();
        }
        let img = self.image(image)?;
        let man = self.manifest(&img.manifest)?;
        let rec = ContainerRecord {
            id: id.to_owned(),
            image: image.to_owned(),
            manifest: img.manifest.clone(),
            chain_ids: man.layers.iter().map(|l| l.chain_id.clone()).collect(),
            whiteouts: o.whiteouts,
        };
        // Record first (atomically claiming the ID): from then on gc keeps the snapshots and
        // the directories, and a crash leaves a record `remove_container` can clean up.
        self.claim_container(&rec)?;
        let setup = (|| -> Result<ContainerRootfs> {
            self.prepare_snapshots(image, &o)?;
            let dir = self.root().join("containers").join(id);
            for sub in ["upper", "work", "rootfs"] {
                let p = dir.join(sub);
                std::fs::create_dir_all(&p).map_err(|e| ImageError::io("mkdir", &p, e))?;
            }
            self.container_rootfs(id)
        })();
        if setup.is_err() {
            let _ = self.remove_container(id);
        }
        setup
    }

    fn claim_container(&self, rec: &ContainerRecord) -> Result<()> {
        validate_container_id(&rec.id)?;
        let _lock = StoreLock::shared(self.root())?;
        if !self.db().insert_new(Table::Containers, &rec.id, rec)? {
            return Err(ImageError::RunConfig {
                field: "container id",
                reason: format!("{:?} already exists", rec.id),
            });
        }
        Ok(())
    }

    /// Fallback when overlayfs is unavailable (e.g. rootless without it): records the
    /// container and applies every layer of `image` onto `containers/<id>/rootfs` (a private
    /// flat copy; `lowerdirs` is empty and nothing needs mounting).
    pub fn create_container_flat(
        &self,
        id: &str,
        image: &str,
        opts: &UnpackOptions,
    ) -> Result<ContainerRootfs> {
        let img = self.image(image)?;
        // No snapshots are used: the manifest record alone keeps the blobs for a later `save`.
        let rec = ContainerRecord {
            id: id.to_owned(),
            image: image.to_owned(),
            manifest: img.manifest.clone(),
            chain_ids: Vec::new(),
            whiteouts: WhiteoutMode::Flat,
        };
        self.claim_container(&rec)?;
        let dir = self.root().join("containers").join(id);
        let rootfs = dir.join("rootfs");
        let setup = std::fs::create_dir_all(&rootfs)
            .map_err(|e| ImageError::io("mkdir", &rootfs, e))
            .and_then(|()| self.flatten(image, &rootfs, opts));
        if let Err(e) = setup {
            let _ = self.remove_container(id);
            return Err(e);
        }
        Ok(ContainerRootfs {
            lowerdirs: Vec::new(),
            upperdir: dir.join("upper"),
            workdir: dir.join("work"),
            rootfs,
            userxattr: false,
        })
    }

    /// The rootfs directories of an existing container.
    pub fn container_rootfs(&self, id: &str) -> Result<ContainerRootfs> {
        validate_container_id(id)?;
        let rec: ContainerRecord =
            self.db()
                .get(Table::Containers, id)?
                .ok_or_else(|| ImageError::RunConfig {
                    field: "container id",
                    reason: format!("no container {id:?} in the store"),
                })?;
        let dir = self.root().join("containers").join(id);
        Ok(ContainerRootfs {
            lowerdirs: visible_lowers(
                rec.chain_ids.iter().rev().map(|c| self.snapshot_path(c)),
                rec.whiteouts,
            ),
            upperdir: dir.join("upper"),
            workdir: dir.join("work"),
            rootfs: dir.join("rootfs"),
            userxattr: rec.whiteouts == WhiteoutMode::OverlayUserXattr,
        })
    }

    /// Forgets a container and deletes its upper/work dirs (the rootfs must be unmounted).
    pub fn remove_container(&self, id: &str) -> Result<()> {
        validate_container_id(id)?;
        let dir = self.root().join("containers").join(id);
        if dir.exists() {
            crate::unpack::remove_tree(&dir)?;
        }
        self.db()
            .write(vec![Op::Delete(Table::Containers, id.to_owned())])
    }
}

/// The overlay `lowerdir` list (top first) cut below the first layer whose root directory is
/// opaque: overlayfs honours the opaque mark on directories it looks up, never on a layer's
/// root, so a `.wh..wh..opq` at a layer's root must hide the layers below by leaving them out.
fn visible_lowers(top_first: impl Iterator<Item = PathBuf>, mode: WhiteoutMode) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in top_first {
        let opaque = mode.opaque_xattr().is_some_and(|name| {
            let mut v = [0u8; 4];
            matches!(rustix::fs::lgetxattr(&dir, name, &mut v), Ok(1) if v[0] == b'y')
        });
        out.push(dir);
        if opaque {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_ids() {
        let o = overlay_options(
            &[PathBuf::from("/t"), PathBuf::from("/b")],
            Some(Path::new("/u")),
            Some(Path::new("/w")),
        )
        .unwrap();
        assert_eq!(o, "lowerdir=/t:/b,upperdir=/u,workdir=/w");
        assert!(overlay_options(&[PathBuf::from("/a:b")], None, None).is_err());
        assert!(validate_container_id("../x").is_err());
    }
}
