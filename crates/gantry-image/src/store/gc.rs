//! Garbage collection: remove what no image or container references.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::db::{Op, Table};
use super::{ManifestRecord, Store, StoreLock};
use crate::container::ContainerRecord;
use crate::digest::Digest;
use crate::error::{ImageError, Result};
use crate::snapshot::SnapshotRecord;

/// What `gc` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs deleted.
    pub blobs: Vec<Digest>,
    /// Snapshots deleted (chain IDs).
    pub snapshots: Vec<Digest>,
    /// Manifest records dropped.
    pub manifests: Vec<Digest>,
    /// Partial downloads and temporary unpacks deleted.
    pub temporary: Vec<PathBuf>,
    /// Bytes of blob content freed.
    pub bytes_freed: u64,
}

impl std::fmt::Display for GcReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "removed {} blobs ({} bytes), {} snapshots, {} manifest records, {} temporary files",
            self.blobs.len(),
            self.bytes_freed,
            self.snapshots.len(),
            self.manifests.len(),
            self.temporary.len()
        )
    }
}

fn older_than(path: &Path, grace: std::time::Duration) -> bool {
    let Ok(m) = fs::symlink_metadata(path).and_then(|m| m.modified()) else {
        return true;
    };
    SystemTime::now()
        .duration_since(m)
        .map(|age| age >= grace)
        .unwrap_or(false)
}

impl Store {
    /// Removes unreferenced blobs, snapshots, manifest records and stale temporary files.
    /// Holds the store lock exclusively (blocks writers' short critical sections, not downloads).
    pub fn gc(&self) -> Result<GcReport> {
        let _lock = StoreLock::exclusive(self.root())?;
        let grace = self.options().gc_grace;
        let mut report = GcReport::default();
        let images = self.images()?;
        let containers = self.db().list::<ContainerRecord>(Table::Containers)?;
        let manifests = self.db().list::<ManifestRecord>(Table::Manifests)?;
        let mut live_manifests: HashSet<String> =
            images.iter().map(|i| i.manifest.to_string()).collect();
        live_manifests.extend(containers.iter().map(|(_, c)| c.manifest.to_string()));
        let mut blobs: HashSet<Digest> = images
            .iter()
            .flat_map(|i| [i.target.clone(), i.manifest.clone()])
            .collect();
        let mut chains: HashSet<Digest> = HashSet::new();
        let mut ops = Vec::new();
        for (key, m) in &manifests {
            if !live_manifests.contains(key) {
                if let Ok(d) = Digest::parse(key) {
                    report.manifests.push(d);
                }
                ops.push(Op::Delete(Table::Manifests, key.clone()));
                continue;
            }
            if let Ok(d) = Digest::parse(key) {
                blobs.insert(d);
            }
            blobs.insert(m.config.clone());
            for l in &m.layers {
                blobs.insert(l.digest.clone());
                chains.insert(l.chain_id.clone());
            }
        }
        for (_, c) in &containers {
            chains.extend(c.chain_ids.iter().cloned());
        }
        // Snapshots: records and directories.
        for (key, _) in self.db().list::<SnapshotRecord>(Table::Snapshots)? {
            let Ok(d) = Digest::parse(&key) else { continue };
            if !chains.contains(&d) {
                ops.push(Op::Delete(Table::Snapshots, key));
            }
        }
        self.db().write(ops)?;
        let snap_root = self.root().join("snapshots/sha256");
        for name in read_names(&snap_root)? {
            let Ok(d) = Digest::parse(&format!("sha256:{name}")) else {
                tracing::warn!(entry = %snap_root.join(&name).display(), "unexpected entry in the snapshot directory left alone");
                continue;
            };
            if !chains.contains(&d) {
                crate::unpack::remove_tree(&snap_root.join(&name))?;
                report.snapshots.push(d);
            }
        }
        // Partial unpacks whose process is gone (owners hold a lock on them).
        report
            .temporary
            .extend(super::temp::sweep(&self.root().join("snapshots/tmp"))?);
        // Container directories without a record (a crash between mkdir and record).
        let cdir = self.root().join("containers");
        let known: HashSet<&str> = containers.iter().map(|(id, _)| id.as_str()).collect();
        for name in read_names(&cdir)? {
            let p = cdir.join(&name);
            if !known.contains(name.as_str()) && older_than(&p, grace) {
                crate::unpack::remove_tree(&p)?;
                report.temporary.push(p);
            }
        }
        // Blobs.
        for alg in ["sha256", "sha512"] {
            let dir = self.root().join("blobs").join(alg);
            for name in read_names(&dir)? {
                let p = dir.join(&name);
                let keep = match Digest::parse(&format!("{alg}:{name}")) {
                    Ok(d) => blobs.contains(&d),
                    Err(_) => false,
                };
                if keep || !older_than(&p, grace) {
                    continue;
                }
                let size = fs::symlink_metadata(&p).map(|m| m.len()).unwrap_or(0);
                fs::remove_file(&p).map_err(|e| ImageError::io("remove", &p, e))?;
                report.bytes_freed += size;
                if let Ok(d) = Digest::parse(&format!("{alg}:{name}")) {
                    report.blobs.push(d);
                }
            }
        }
        // Partial downloads nobody is writing right now.
        report
            .temporary
            .extend(super::temp::sweep(&self.root().join("ingest"))?);
        tracing::info!(
            blobs = report.blobs.len(),
            snapshots = report.snapshots.len(),
            bytes = report.bytes_freed,
            "gc done"
        );
        Ok(report)
    }
}

/// The names of the entries of `dir`, sorted (none when `dir` does not exist).
pub(super) fn read_names(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for ent in entries(dir)? {
        out.push(ent?.file_name().to_string_lossy().into_owned());
    }
    out.sort();
    Ok(out)
}

/// The entries of `dir`, read lazily (none when `dir` does not exist); read errors name `dir`.
pub(super) fn entries(dir: &Path) -> Result<impl Iterator<Item = Result<fs::DirEntry>> + '_> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => Some(rd),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(ImageError::io("readdir", dir, e)),
    };
    Ok(rd
        .into_iter()
        .flatten()
        .map(move |ent| ent.map_err(|e| ImageError::io("readdir", dir, e))))
}
