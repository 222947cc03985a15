//! Snapshots: one unpacked directory per layer, keyed by chain ID and shared by every image
//! using that layer stack; the flat (whiteouts applied) alternative.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{ImageError, Result};
use crate::store::db::{Op, Table};
use crate::store::temp::OwnedTempDir;
use crate::store::{Store, StoreLock};
use crate::unpack::{LayerInfo, UnpackOptions, UnpackStats, WhiteoutMode};

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
/// Name of the file beside a snapshot's `fs/` holding its diffID once the unpack completed.
pub const COMPLETE_MARKER: &str = "diffid";

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
        self.prepare_layers(&man.layers, opts)
    }

    /// Unpacks every layer of a stack (bottom first) not yet unpacked; returns snapshot dirs.
    pub(crate) fn prepare_layers(
        &self,
        layers: &[crate::store::LayerRecord],
        opts: &UnpackOptions,
    ) -> Result<Vec<PathBuf>> {
        let mut dirs = Vec::new();
        let mut parent: Option<Digest> = None;
        for l in layers {
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
        // Locked for as long as this process lives: a sweep (`gc`, the next pull) removes it
        // at once if this process dies, and never while it works.
        let owned = OwnedTempDir::create(&self.root().join("snapshots/tmp"), "unpack")?;
        let tmp = owned.path().to_path_buf();
        let fs_dir = tmp.join("fs");
        std::fs::create_dir_all(&fs_dir).map_err(|e| ImageError::io("mkdir", &fs_dir, e))?;
        let result = (|| -> Result<UnpackStats> {
            let blob = self.open_blob(&l.digest)?;
            let info = LayerInfo {
                digest: l.digest.clone(),
                media_type: l.media_type.clone(),
                diff_id: Some(l.diff_id.clone()),
            };
            // In a confined child when this process is single-threaded (the engine).
            crate::unpack::isolated::unpack_layer_confined(blob, &info, &fs_dir, opts)
        })();
        // The completion marker `fsck` checks: written only after the whole layer unpacked and
        // its diffID verified, and renamed into place together with `fs/`.
        let result = result.and_then(|stats| {
            let marker = tmp.join(COMPLETE_MARKER);
            std::fs::write(&marker, l.diff_id.to_string())
                .map_err(|e| ImageError::io("write", &marker, e))?;
            Ok(stats)
        });
        let stats = match result {
            Ok(s) => s,
            Err(e) => {
                let _ = crate::unpack::remove_tree(&tmp);
                if e.is_no_space() {
                    // Name the store's snapshot area, not the temporary directory just removed.
                    return Err(ImageError::NoSpace {
                        path: self.root().join("snapshots"),
                        needed: None,
                    });
                }
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
    /// rootfs without overlayfs. `opts.whiteouts` is ignored (always flat). Each layer unpacks in the confined
    /// child (see [`crate::unpack::isolated`]) under the same conditions as a snapshot's.
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
            // Confined like a snapshot unpack (chrooted into `dest`) when this process is single-threaded.
            let s = crate::unpack::isolated::unpack_layer_confined(blob, &info, dest, &o)?;
            total.entries += s.entries;
            total.bytes += s.bytes;
            total.warnings.extend(s.warnings);
            total.diff_id = s.diff_id;
        }
        Ok(total)
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
        for (id, c) in self
            .db()
            .list::<crate::container::ContainerRecord>(Table::Containers)?
        {
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
    fn chain_ids_follow_the_spec() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let c = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(c[0], a);
        assert_eq!(c[1], Digest::sha256_of(format!("{a} {b}").as_bytes()));
    }
}
