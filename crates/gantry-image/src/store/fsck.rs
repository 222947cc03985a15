//! `fsck`: re-verify the store and, on request, remove what is damaged together with the
//! records that depend on it.
//!
//! Checked: every blob re-hashed against its name; every manifest record's blobs present and
//! good; every image's target and manifest; every snapshot's directory and completion marker
//! (the diffID written after a verified unpack; `full` also re-derives the diffID from the
//! layer blob); snapshot directories without a record; temporary entries no process owns.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::Path;

use super::db::{Op, Table};
use super::{ImageRecord, ManifestRecord, Store, StoreLock};
use crate::container::ContainerRecord;
use crate::digest::{Digest, Hasher};
use crate::error::{ImageError, Result};
use crate::snapshot::{SnapshotRecord, COMPLETE_MARKER};

/// What `fsck` does.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsckOptions {
    /// Remove what is damaged and the records depending on it.
    pub repair: bool,
    /// Also re-derive each snapshot's diffID from its layer blob (decompresses every layer).
    pub full: bool,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is damaged (`blob sha256:…`, `snapshot sha256:…`, `image NAME`, a path).
    pub subject: String,
    /// What is wrong with it.
    pub reason: String,
}

/// What `fsck` found (and, with `repair`, removed).
#[derive(Debug, Clone, Default)]
pub struct FsckReport {
    /// Blobs re-hashed.
    pub blobs_checked: usize,
    /// Snapshots checked.
    pub snapshots_checked: usize,
    /// Problems, in the order found.
    pub problems: Vec<Problem>,
    /// Whether they were repaired.
    pub repaired: bool,
}

impl FsckReport {
    /// True when nothing was wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, subject: impl Into<String>, reason: impl Into<String>) {
        let p = Problem {
            subject: subject.into(),
            reason: reason.into(),
        };
        tracing::warn!(subject = p.subject, "fsck: {}", p.reason);
        self.problems.push(p);
    }
}

impl Store {
    /// Checks the store; with `opts.repair`, removes damaged content and what depends on it
    /// (images then need pulling again; snapshots are unpacked again on next use). Holds the
    /// store lock exclusively, like `gc`.
    pub fn fsck(&self, opts: FsckOptions) -> Result<FsckReport> {
        let _lock = StoreLock::exclusive(self.root())?;
        let mut r = FsckReport {
            repaired: opts.repair,
            ..FsckReport::default()
        };
        let mut ops = Vec::new();
        self.fsck_temporary(&mut r, opts)?;
        let bad_blobs = self.fsck_blobs(&mut r, opts)?;
        let blob_ok = |d: &Digest| !bad_blobs.contains(d) && self.blob_path(d).is_file();

        // Manifest records whose content is gone or damaged.
        let mut bad_manifests = HashSet::new();
        for (key, m) in self.db().list::<ManifestRecord>(Table::Manifests)? {
            let missing: Vec<String> = Digest::parse(&key)
                .into_iter()
                .chain([m.config.clone()])
                .chain(m.layers.iter().map(|l| l.digest.clone()))
                .filter(|d| !blob_ok(d))
                .map(|d| d.to_string())
                .collect();
            if !missing.is_empty() {
                r.problem(
                    format!("manifest {key}"),
                    format!("blobs missing or damaged: {}", missing.join(", ")),
                );
                ops.push(Op::Delete(Table::Manifests, key.clone()));
                bad_manifests.insert(key);
            }
        }
        // Images pointing at damaged or missing manifests.
        for img in self
            .db()
            .list::<ImageRecord>(Table::Images)?
            .into_iter()
            .map(|(_, i)| i)
        {
            let reason = if !blob_ok(&img.target) {
                Some(format!("target {} missing or damaged", img.target))
            } else if bad_manifests.contains(&img.manifest.to_string()) {
                Some(format!("manifest {} damaged", img.manifest))
            } else if self
                .db()
                .get::<ManifestRecord>(Table::Manifests, &img.manifest.to_string())?
                .is_none()
            {
                Some(format!("manifest record {} missing", img.manifest))
            } else {
                None
            };
            if let Some(reason) = reason {
                r.problem(
                    format!("image {}", img.name),
                    format!("{reason}; pull it again"),
                );
                ops.push(Op::Delete(Table::Images, img.name.clone()));
            }
        }
        let bad_snapshots = self.fsck_snapshots(&mut r, opts, &mut ops)?;
        for (id, c) in self.db().list::<ContainerRecord>(Table::Containers)? {
            for chain in c.chain_ids.iter().filter(|c| bad_snapshots.contains(*c)) {
                r.problem(
                    format!("container {id}"),
                    format!("uses damaged snapshot {chain}; remove the container (gantry rm)"),
                );
            }
        }
        if opts.repair {
            self.db().write(ops)?;
            for d in &bad_blobs {
                let p = self.blob_path(d);
                if let Err(e) = fs::remove_file(&p) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        return Err(ImageError::io("remove", &p, e));
                    }
                }
            }
        }
        Ok(r)
    }

    fn fsck_temporary(&self, r: &mut FsckReport, opts: FsckOptions) -> Result<()> {
        for sub in ["snapshots/tmp", "ingest"] {
            let dir = self.root().join(sub);
            if opts.repair {
                for p in super::temp::sweep(&dir)? {
                    r.problem(p.display().to_string(), "left by an interrupted pull");
                }
            } else {
                for p in super::temp::unowned(&dir)? {
                    r.problem(p.display().to_string(), "left by an interrupted pull");
                }
            }
        }
        Ok(())
    }

    /// Re-hashes every blob; returns the damaged ones (badly named files included).
    fn fsck_blobs(&self, r: &mut FsckReport, opts: FsckOptions) -> Result<HashSet<Digest>> {
        let mut bad = HashSet::new();
        for alg in ["sha256", "sha512"] {
            let dir = self.root().join("blobs").join(alg);
            for name in super::gc::read_names(&dir)? {
                let path = dir.join(&name);
                let Ok(d) = Digest::parse(&format!("{alg}:{name}")) else {
                    r.problem(path.display().to_string(), "not a blob name");
                    if opts.repair {
                        let _ = fs::remove_file(&path);
                    }
                    continue;
                };
                r.blobs_checked += 1;
                match hash_file(&path, &d) {
                    Ok(actual) if actual == d => {}
                    Ok(actual) => {
                        r.problem(format!("blob {d}"), format!("content hashes to {actual}"));
                        bad.insert(d);
                    }
                    Err(e) => {
                        r.problem(format!("blob {d}"), format!("unreadable: {e}"));
                        bad.insert(d);
                    }
                }
            }
        }
        Ok(bad)
    }

    /// Checks snapshot records against their directories and markers; returns bad chains.
    fn fsck_snapshots(
        &self,
        r: &mut FsckReport,
        opts: FsckOptions,
        ops: &mut Vec<Op>,
    ) -> Result<HashSet<Digest>> {
        let mut bad = HashSet::new();
        let mut recorded = HashSet::new();
        for (key, s) in self.db().list::<SnapshotRecord>(Table::Snapshots)? {
            r.snapshots_checked += 1;
            recorded.insert(s.chain_id.hex().to_owned());
            let dir = self.snapshot_path(&s.chain_id);
            let base = dir.parent().unwrap_or(&dir).to_path_buf();
            let marker = fs::read_to_string(base.join(COMPLETE_MARKER)).ok();
            let reason = if !dir.is_dir() {
                Some("directory missing".to_owned())
            } else if marker.as_deref() != Some(s.diff_id.to_string().as_str()) {
                Some(format!(
                    "completion marker {} does not name diffID {}",
                    marker.map_or("missing".into(), |m| format!("{m:?}")),
                    s.diff_id
                ))
            } else if opts.full {
                self.rederive_diff_id(&s).err()
            } else {
                None
            };
            if let Some(reason) = reason {
                r.problem(
                    format!("snapshot {key}"),
                    format!("{reason}; it is unpacked again on next use"),
                );
                ops.push(Op::Delete(Table::Snapshots, key));
                bad.insert(s.chain_id.clone());
                if opts.repair && base.exists() {
                    crate::unpack::remove_tree(&base)?;
                }
            }
        }
        let snap_root = self.root().join("snapshots/sha256");
        for name in super::gc::read_names(&snap_root)? {
            if !recorded.contains(&name) {
                let p = snap_root.join(&name);
                // A crash between the rename into place and the record: the next unpack of
                // this layer stack (or --repair) replaces it.
                r.problem(
                    p.display().to_string(),
                    "snapshot directory without a record, left by an interrupted pull",
                );
                if opts.repair {
                    crate::unpack::remove_tree(&p)?;
                }
            }
        }
        Ok(bad)
    }

    /// Decompresses the snapshot's layer blob and compares the result's digest to the diffID.
    fn rederive_diff_id(&self, s: &SnapshotRecord) -> std::result::Result<(), String> {
        let blob = self.open_blob(&s.layer).map_err(|e| e.to_string())?;
        let man_type = self
            .db()
            .list::<ManifestRecord>(Table::Manifests)
            .map_err(|e| e.to_string())?
            .into_iter()
            .flat_map(|(_, m)| m.layers)
            .find(|l| l.digest == s.layer)
            .map(|l| l.media_type)
            .unwrap_or_default();
        let actual = crate::unpack::layer_diff_id(blob, &s.layer, &man_type)
            .map_err(|e| format!("layer blob unreadable: {e}"))?;
        if actual != s.diff_id {
            return Err(format!("layer {} decompresses to {actual}", s.layer));
        }
        Ok(())
    }
}

fn hash_file(path: &Path, d: &Digest) -> std::io::Result<Digest> {
    let mut f = fs::File::open(path)?;
    let mut h = Hasher::new(d.algorithm());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finish());
        }
        h.update(&buf[..n]);
    }
}
