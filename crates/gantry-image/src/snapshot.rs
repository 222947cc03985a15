//! Snapshots (one unpacked directory per layer, keyed by chain ID and shared by every image
//! using that layer stack), container rootfs directories and overlay mount options.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{ImageError, Result};
use crate::store::db::{Op, Table};
use crate::store::{Store, StoreLock};
use crate::unpack::{unpack_layer, LayerInfo, UnpackOptions, UnpackStats, WhiteoutMode};

/// Chain IDs of a layer stack: `chain[0] = diff[0]`, `chain[n] = sha256(chain[n-1] + " " + diff[n])`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => Digest::sha256_of(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// A recorded, complete snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// Chain ID (the key).
    pub chain_id: Digest,
    /// Chain ID of the layer below, if any.
    pub parent: Option<Digest>,
    /// The layer's diffID.
    pub diff_id: Digest,
    /// The layer blob it was unpacked from.
    pub layer: Digest,
    /// How whiteouts are represented in it.
    pub whiteouts: WhiteoutMode,
    /// Entries unpacked.
    pub entries: u64,
    /// File bytes written.
    pub bytes: u64,
}

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

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name unique across processes and threads for temporary directories.
pub(crate) fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{t}-{n}", std::process::id())
}

/// Container IDs become directory names: `[A-Za-z0-9][A-Za-z0-9_.-]{0,127}`.
pub fn validate_container_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ImageError::RunConfig {
            field: "container id",
            reason: format!("{id:?} must match [A-Za-z0-9][A-Za-z0-9_.-]{{0,127}}"),
        })
    }
}

impl Store {
    /// Directory holding the unpacked files of a snapshot.
    pub fn snapshot_path(&self, chain: &Digest) -> PathBuf {
        self.root()
            .join("snapshots")
            .join(chain.algorithm().name())
            .join(chain.hex())
            .join("fs")
    }

    /// The record of a snapshot, if complete.
    pub fn snapshot(&self, chain: &Digest) -> Result<Option<SnapshotRecord>> {
        self.db().get(Table::Snapshots, &chain.to_string())
    }

    /// Unpacks every layer of `image` not yet unpacked; returns snapshot dirs, BOTTOM first.
    pub fn prepare_snapshots(&self, image: &str, opts: &UnpackOptions) -> Result<Vec<PathBuf>> {
        let img = self.image(image)?;
        let man = self.manifest(&img.manifest)?;
        let mut dirs = Vec::new();
        let mut parent: Option<Digest> = None;
        for l in &man.layers {
            let path = self.snapshot_path(&l.chain_id);
            match self.snapshot(&l.chain_id)? {
                Some(r) if r.whiteouts != opts.whiteouts => {
                    return Err(ImageError::RunConfig {
                        field: "snapshot",
                        reason: format!(
                            "layer stack {} is already unpacked with {:?} whiteouts; use the same WhiteoutMode or remove the images using it and run gc",
                            l.chain_id,
                            r.whiteouts
                        ),
                    })
                }
                Some(_) if path.is_dir() => {}
                _ => self.unpack_snapshot(l, parent.clone(), opts)?,
            }
            dirs.push(path);
            parent = Some(l.chain_id.clone());
        }
        Ok(dirs)
    }

    fn unpack_snapshot(
        &self,
        l: &crate::store::LayerRecord,
        parent: Option<Digest>,
        opts: &UnpackOptions,
    ) -> Result<()> {
        let tmp = self
            .root()
            .join("snapshots/tmp")
            .join(unique_name("unpack"));
        let fs_dir = tmp.join("fs");
        std::fs::create_dir_all(&fs_dir).map_err(|e| ImageError::io("mkdir", &fs_dir, e))?;
        let result = (|| -> Result<UnpackStats> {
            let blob = self.open_blob(&l.digest)?;
            let info = LayerInfo {
                digest: l.digest.clone(),
                media_type: l.media_type.clone(),
                diff_id: Some(l.diff_id.clone()),
            };
            unpack_layer(std::io::BufReader::new(blob), &info, &fs_dir, opts)
        })();
        let stats = match result {
            Ok(s) => s,
            Err(e) => {
                let _ = crate::unpack::remove_tree(&tmp);
                return Err(e);
            }
        };
        // Exclusive: the exists/record check and rename+record must not interleave with another
        // committer of the same chain (or gc).
        let _lock = StoreLock::exclusive(self.root())?;
        let final_dir = self
            .root()
            .join("snapshots")
            .join(l.chain_id.algorithm().name())
            .join(l.chain_id.hex());
        if final_dir.exists() {
            if self.snapshot(&l.chain_id)?.is_some() {
                // Another process unpacked the same stack meanwhile: use theirs.
                drop(_lock);
                return crate::unpack::remove_tree(&tmp);
            }
            // A leftover of a crash between rename and record: nobody can be using it.
            crate::unpack::remove_tree(&final_dir)?;
        }
        std::fs::rename(&tmp, &final_dir).map_err(|e| ImageError::io("rename", &final_dir, e))?;
        let rec = SnapshotRecord {
            chain_id: l.chain_id.clone(),
            parent,
            diff_id: l.diff_id.clone(),
            layer: l.digest.clone(),
            whiteouts: opts.whiteouts,
            entries: stats.entries,
            bytes: stats.bytes,
        };
        self.db().write(vec![Op::put(
            Table::Snapshots,
            l.chain_id.to_string(),
            &rec,
        )])?;
        tracing::info!(chain = %l.chain_id, layer = %l.digest, entries = stats.entries, "snapshot unpacked");
        Ok(())
    }

    /// Applies every layer of `image` in order onto `dest` (whiteouts applied): the merged
    /// rootfs without overlayfs. `opts.whiteouts` is ignored (always flat).
    pub fn flatten(&self, image: &str, dest: &Path, opts: &UnpackOptions) -> Result<UnpackStats> {
        let img = self.image(image)?;
        let man = self.manifest(&img.manifest)?;
        let mut o = opts.clone();
        o.whiteouts = WhiteoutMode::Flat;
        let mut total = UnpackStats::default();
        for l in &man.layers {
            let blob = self.open_blob(&l.digest)?;
            let info = LayerInfo {
                digest: l.digest.clone(),
                media_type: l.media_type.clone(),
                diff_id: Some(l.diff_id.clone()),
            };
            let s = unpack_layer(std::io::BufReader::new(blob), &info, dest, &o)?;
            total.entries += s.entries;
            total.bytes += s.bytes;
            total.warnings.extend(s.warnings);
            total.diff_id = s.diff_id;
        }
        Ok(total)
    }

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
            lowerdirs: rec
                .chain_ids
                .iter()
                .rev()
                .map(|c| self.snapshot_path(c))
                .collect(),
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

    /// Users of a snapshot: image names and container IDs whose stack includes it.
    pub fn snapshot_users(&self, chain: &Digest) -> Result<Vec<String>> {
        let mut users = Vec::new();
        for img in self.images()? {
            if let Ok(m) = self.manifest(&img.manifest) {
                if m.layers.iter().any(|l| &l.chain_id == chain) {
                    users.push(format!("image:{}", img.name));
                }
            }
        }
        for (id, c) in self.db().list::<ContainerRecord>(Table::Containers)? {
            if c.chain_ids.contains(chain) {
                users.push(format!("container:{id}"));
            }
        }
        Ok(users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_and_options() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let c = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(c[0], a);
        assert_eq!(c[1], Digest::sha256_of(format!("{a} {b}").as_bytes()));
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
