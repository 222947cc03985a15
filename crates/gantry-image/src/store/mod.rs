//! The on-disk store: blobs, ingest, snapshots and the metadata database under one root.
//!
//! Layout under the root (default `/var/lib/gantry`):
//! `blobs/<alg>/<hex>`, `ingest/<alg>-<hex>` (partial downloads), `snapshots/sha256/<chain>/fs`,
//! `snapshots/tmp/` (unpacks in progress), `containers/<id>/{upper,work,rootfs}`,
//! `meta.redb` (metadata), `store.lock` (cross-process critical sections).

pub mod blobs;
pub mod db;
mod fsck;
mod gc;
mod images;
mod lock;
pub mod temp;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use blobs::{read_bounded, BlobInfo, BlobSink, BlobWriter};
pub use fsck::{FsckOptions, FsckReport, Problem};
pub use gc::GcReport;
pub use images::{ImageRecord, LayerRecord, ManifestRecord};
pub use lock::StoreLock;

use crate::digest::Digest;
use crate::error::{ImageError, Result};
use db::MetaDb;

/// The default store root.
pub const DEFAULT_ROOT: &str = "/var/lib/gantry";

/// Store tunables.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Unreferenced blobs and container directories without a record younger than this
    /// survive `gc` (a concurrent pull may be about to reference them). Default one hour.
    /// Partial unpacks and partial blobs need no grace: they are locked by their owner.
    pub gc_grace: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            gc_grace: Duration::from_secs(3600),
        }
    }
}

/// An open image store. Cheap operations open no extra files; several processes may use the
/// same root at once.
pub struct Store {
    root: PathBuf,
    db: MetaDb,
    opts: StoreOptions,
}

impl Store {
    /// Opens (creating if needed) the store at `root` with default options.
    pub fn open(root: impl AsRef<Path>) -> Result<Store> {
        Self::open_with(root, StoreOptions::default())
    }

    /// Opens (creating if needed) the store at `root`.
    pub fn open_with(root: impl AsRef<Path>, opts: StoreOptions) -> Result<Store> {
        let root = root.as_ref().to_path_buf();
        // Private: snapshots hold image setuid binaries and device nodes that other local
        // users must not reach.
        if !root.exists() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&root)
                .map_err(|e| ImageError::io("mkdir", &root, e))?;
        }
        for d in [
            "blobs/sha256",
            "blobs/sha512",
            "ingest",
            "snapshots/sha256",
            "snapshots/tmp",
            "containers",
        ] {
            let p = root.join(d);
            std::fs::create_dir_all(&p).map_err(|e| ImageError::io("mkdir", &p, e))?;
        }
        let db = MetaDb::open(&root.join("meta.redb"))?;
        Ok(Store { root, db, opts })
    }

    /// The store root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The metadata database.
    pub fn db(&self) -> &MetaDb {
        &self.db
    }

    /// Path of a stored blob (it may not exist).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        blobs::blob_path(&self.root, digest)
    }

    /// Opens a stored blob for reading.
    pub fn open_blob(&self, digest: &Digest) -> Result<std::fs::File> {
        blobs::open_blob(&self.root, digest)
    }

    /// Reads a small stored document (manifest, index, config) with the 4 MiB cap, re-verifying
    /// its digest.
    pub fn read_document(&self, digest: &Digest, what: &'static str) -> Result<Vec<u8>> {
        blobs::read_blob_bounded(&self.root, digest, crate::manifest::MAX_DOCUMENT_SIZE, what)
    }

    /// Stores in-memory content; with `expected`, it must hash to that digest.
    pub fn put_blob(&self, data: &[u8], expected: Option<&Digest>) -> Result<BlobInfo> {
        let actual = Digest::sha256_of(data);
        let digest = match expected {
            Some(d) if d.algorithm() != actual.algorithm() => d.clone(),
            Some(d) if d != &actual => {
                return Err(ImageError::DigestMismatch {
                    expected: d.to_string(),
                    actual: actual.to_string(),
                })
            }
            Some(d) => d.clone(),
            None => actual,
        };
        self.write_blob(&digest, data.len() as u64, data)
    }

    /// Copies a stream of known digest and size into the store (resuming nothing).
    pub fn write_blob(&self, digest: &Digest, size: u64, mut r: impl Read) -> Result<BlobInfo> {
        let mut w = self.begin_blob_blocking(digest, size)?;
        if w.is_present() {
            return w.commit();
        }
        w.reset()?;
        let copied = io::copy(&mut (&mut r).take(size), &mut w);
        if let Err(e) = copied {
            return Err(match e.into_inner() {
                Some(inner) => match inner.downcast::<ImageError>() {
                    Ok(ie) => *ie,
                    Err(other) => {
                        ImageError::io("copy", digest.to_string(), io::Error::other(other))
                    }
                },
                None => ImageError::io("copy", digest.to_string(), io::Error::other("copy failed")),
            });
        }
        // Anything beyond the declared size is an error, not silently ignored.
        let mut extra = [0u8; 1];
        if r.read(&mut extra)
            .map_err(|e| ImageError::io("read", digest.to_string(), e))?
            != 0
        {
            return Err(ImageError::SizeMismatch {
                digest: digest.to_string(),
                expected: size,
                actual: size + 1,
            });
        }
        w.flush()
            .map_err(|e| ImageError::io("flush", digest.to_string(), e))?;
        w.commit()
    }

    /// Like [`BlobSink::begin_blob`], but waits for another writer of the same blob instead of
    /// failing with [`ImageError::IngestBusy`] (then usually finds the blob present).
    pub fn begin_blob_blocking(&self, digest: &Digest, size: u64) -> Result<BlobWriter> {
        BlobWriter::begin(&self.root, digest, size, true)
    }

    /// Removes partial unpacks (`snapshots/tmp/`) and partial blobs (`ingest/`) that no live
    /// process owns (see [`temp`]); returns what was removed. Pulls call it once their own
    /// blobs are in, so an interrupted pull's leftovers go with the next one.
    pub fn sweep_temporary(&self) -> Result<Vec<PathBuf>> {
        let mut out = temp::sweep(&self.root.join("snapshots/tmp"))?;
        out.extend(temp::sweep(&self.root.join("ingest"))?);
        Ok(out)
    }

    pub(crate) fn options(&self) -> &StoreOptions {
        &self.opts
    }
}

impl BlobSink for Store {
    fn has_blob(&self, digest: &Digest) -> Result<bool> {
        Ok(self.blob_path(digest).is_file())
    }

    fn begin_blob(&self, digest: &Digest, size: u64) -> Result<BlobWriter> {
        BlobWriter::begin(&self.root, digest, size, false)
    }
}
