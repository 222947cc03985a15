//! Blob ingestion and retrieval: `blobs/<alg>/<hex>`, written through `ingest/` and verified.
//!
//! A [`BlobWriter`] appends to `ingest/<alg>-<hex>` (flock'd so two processes never write the
//! same partial file), so a pull interrupted at any point resumes from [`BlobWriter::offset`].
//! [`BlobWriter::commit`] checks size and digest, fsyncs, renames into `blobs/` and fsyncs the
//! directory: a blob path either does not exist or holds verified content.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{flock, FlockOperation};

use crate::digest::{Digest, Hasher};
use crate::error::{is_no_space, ImageError, Result};
use crate::store::lock::libc_o_nofollow;

/// What a registry client (or importer) writes blobs into.
///
/// Implemented by [`crate::Store`]; a network client only needs this trait.
pub trait BlobSink {
    /// Whether a verified blob with this digest is already stored.
    fn has_blob(&self, digest: &Digest) -> Result<bool>;
    /// Starts (or resumes) writing a blob of the given digest and size.
    ///
    /// Resume the download at [`BlobWriter::offset`]; if the blob is already stored the writer
    /// is complete ([`BlobWriter::is_present`]) and `commit` is a no-op.
    fn begin_blob(&self, digest: &Digest, size: u64) -> Result<BlobWriter>;
}

/// Metadata of a committed blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// The verified digest.
    pub digest: Digest,
    /// The verified size in bytes.
    pub size: u64,
    /// Where it is stored.
    pub path: PathBuf,
}

/// A partial blob being written; see [`BlobSink::begin_blob`].
pub struct BlobWriter {
    digest: Digest,
    size: u64,
    final_path: PathBuf,
    /// `None` when the blob was already present.
    ingest: Option<Ingest>,
}

struct Ingest {
    path: PathBuf,
    file: File,
    hasher: Hasher,
    written: u64,
}

pub(crate) fn blob_path(root: &Path, d: &Digest) -> PathBuf {
    root.join("blobs").join(d.algorithm().name()).join(d.hex())
}

pub(crate) fn ingest_path(root: &Path, d: &Digest) -> PathBuf {
    root.join("ingest")
        .join(format!("{}-{}", d.algorithm().name(), d.hex()))
}

impl BlobWriter {
    /// Opens (creating) and locks the ingest file. With `wait`, blocks while another writer
    /// holds it; otherwise returns [`ImageError::IngestBusy`]. Returns `None` when the blob
    /// turned up in the store meanwhile.
    fn lock_ingest(
        root: &Path,
        digest: &Digest,
        final_path: &Path,
        wait: bool,
    ) -> Result<Option<(PathBuf, File)>> {
        let path = ingest_path(root, digest);
        loop {
            if final_path.exists() {
                return Ok(None);
            }
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .custom_flags(libc_o_nofollow())
                .mode(0o600)
                .open(&path)
                .map_err(|e| ImageError::io("open", &path, e))?;
            let op = if wait {
                FlockOperation::LockExclusive
            } else {
                FlockOperation::NonBlockingLockExclusive
            };
            match flock(&file, op) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    return Err(ImageError::IngestBusy(digest.to_string()))
                }
                Err(e) => return Err(ImageError::errno("flock", &path, e)),
            }
            if final_path.exists() {
                return Ok(None);
            }
            // The previous holder may have committed (renamed) or gc removed the file between
            // our open and our lock: only the file still at the ingest path is ours to extend.
            let ours = rustix::fs::fstat(&file).map_err(|e| ImageError::errno("stat", &path, e))?;
            match rustix::fs::lstat(&path) {
                Ok(st) if st.st_ino == ours.st_ino && st.st_dev == ours.st_dev => {
                    return Ok(Some((path, file)))
                }
                Ok(_) | Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => return Err(ImageError::errno("stat", &path, e)),
            }
        }
    }

    pub(crate) fn begin(root: &Path, digest: &Digest, size: u64, wait: bool) -> Result<BlobWriter> {
        let final_path = blob_path(root, digest);
        let Some((path, mut file)) = Self::lock_ingest(root, digest, &final_path, wait)? else {
            return Ok(BlobWriter {
                digest: digest.clone(),
                size,
                final_path,
                ingest: None,
            });
        };
        // Re-hash what an earlier, interrupted writer left behind.
        let mut hasher = Hasher::new(digest.algorithm());
        let mut written = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| ImageError::io("read", &path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            written += n as u64;
        }
        let mut ingest = Ingest {
            path,
            file,
            hasher,
            written,
        };
        if written > size {
            ingest.reset()?;
        }
        ingest.reserve(size, digest)?;
        tracing::debug!(%digest, offset = ingest.written, "ingest started");
        Ok(BlobWriter {
            digest: digest.clone(),
            size,
            final_path,
            ingest: Some(ingest),
        })
    }

    /// Bytes already present: resume the download from here (e.g. an HTTP `Range` request).
    pub fn offset(&self) -> u64 {
        self.ingest.as_ref().map_or(self.size, |i| i.written)
    }

    /// True if the blob was already in the store when the writer was created.
    pub fn is_present(&self) -> bool {
        self.ingest.is_none()
    }

    /// The digest being written.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Discards the partial content (use when the server ignores a range request).
    pub fn reset(&mut self) -> Result<()> {
        match &mut self.ingest {
            Some(i) => i.reset(),
            None => Ok(()),
        }
    }

    /// Verifies size and digest, then atomically moves the blob into place.
    ///
    /// On a mismatch the partial file is deleted (it can never become valid) and the error says
    /// what differed.
    pub fn commit(mut self) -> Result<BlobInfo> {
        let info = BlobInfo {
            digest: self.digest.clone(),
            size: self.size,
            path: self.final_path.clone(),
        };
        let Some(ingest) = self.ingest.take() else {
            return Ok(info);
        };
        if ingest.written != self.size {
            let e = ImageError::SizeMismatch {
                digest: self.digest.to_string(),
                expected: self.size,
                actual: ingest.written,
            };
            if ingest.written > self.size {
                let _ = fs::remove_file(&ingest.path);
            }
            return Err(e);
        }
        let actual = ingest.hasher.clone().finish();
        if actual != self.digest {
            let _ = fs::remove_file(&ingest.path);
            return Err(ImageError::DigestMismatch {
                expected: self.digest.to_string(),
                actual: actual.to_string(),
            });
        }
        if let Err(e) = ingest.file.sync_all() {
            if is_no_space(&e) {
                let _ = fs::remove_file(&ingest.path);
            }
            return Err(ImageError::io("fsync", &ingest.path, e));
        }
        fs::rename(&ingest.path, &self.final_path)
            .map_err(|e| ImageError::io("rename", &self.final_path, e))?;
        if let Some(dir) = self.final_path.parent() {
            fsync_dir(dir)?;
        }
        tracing::debug!(digest = %self.digest, size = self.size, "blob committed");
        Ok(info)
    }
}

/// Set once a blob write of this process ran out of space: partial blobs whose writers are then
/// dropped unfinished (parallel downloads the failure cut short) are removed, not kept for
/// resuming, so a full disk is left with no partial blob.
static OUT_OF_SPACE: AtomicBool = AtomicBool::new(false);

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if let Some(i) = &self.ingest {
            if OUT_OF_SPACE.load(Ordering::Relaxed) {
                let _ = fs::remove_file(&i.path);
            }
        }
    }
}

impl Ingest {
    /// Allocates the rest of the blob up front, so a full filesystem fails here, before any
    /// download, with the exact size still needed. On failure the partial file is removed: a
    /// full disk must not also hold half a blob.
    fn reserve(&mut self, size: u64, digest: &Digest) -> Result<()> {
        let need = size.saturating_sub(self.written);
        if need == 0 {
            return Ok(());
        }
        match rustix::fs::fallocate(
            &self.file,
            rustix::fs::FallocateFlags::KEEP_SIZE,
            self.written,
            need,
        ) {
            Ok(()) => Ok(()),
            Err(e) if is_no_space(&e.into()) => {
                OUT_OF_SPACE.store(true, Ordering::Relaxed);
                let _ = fs::remove_file(&self.path);
                tracing::warn!(%digest, need, "no space for blob; partial removed");
                Err(ImageError::NoSpace {
                    path: self.path.clone(),
                    needed: Some(need),
                })
            }
            // Filesystems without fallocate: a full disk then shows at write time instead.
            Err(_) => Ok(()),
        }
    }

    fn reset(&mut self) -> Result<()> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(SeekFrom::Start(0)).map(|_| ()))
            .map_err(|e| ImageError::io("truncate", &self.path, e))?;
        self.hasher = Hasher::new(self.hasher.algorithm());
        self.written = 0;
        Ok(())
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let size = self.size;
        let digest = &self.digest;
        let Some(i) = &mut self.ingest else {
            return Err(io::Error::other(format!(
                "blob {digest} is already stored; nothing to write"
            )));
        };
        if i.written + buf.len() as u64 > size {
            return Err(io::Error::other(ImageError::SizeMismatch {
                digest: digest.to_string(),
                expected: size,
                actual: i.written + buf.len() as u64,
            }));
        }
        let n = match i.file.write(buf) {
            Ok(n) => n,
            Err(e) if is_no_space(&e) => {
                OUT_OF_SPACE.store(true, Ordering::Relaxed);
                let _ = fs::remove_file(&i.path);
                return Err(io::Error::other(ImageError::NoSpace {
                    path: i.path.clone(),
                    needed: Some(size - i.written),
                }));
            }
            Err(e) => return Err(e),
        };
        i.hasher.update(&buf[..n]);
        i.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.ingest {
            Some(i) => i.file.flush(),
            None => Ok(()),
        }
    }
}

/// fsyncs a directory so a rename into it is durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ImageError::io("fsync", dir, e))
}

/// Opens a stored blob for reading (never following a symlink at the last component).
pub(crate) fn open_blob(root: &Path, d: &Digest) -> Result<File> {
    let path = blob_path(root, d);
    OpenOptions::new()
        .read(true)
        .custom_flags(libc_o_nofollow())
        .open(&path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ImageError::MissingBlob(d.to_string()),
            _ => ImageError::io("open", &path, e),
        })
}

/// Reads a whole stored blob, refusing more than `limit` bytes, and re-verifies its digest.
pub(crate) fn read_blob_bounded(
    root: &Path,
    d: &Digest,
    limit: u64,
    what: &'static str,
) -> Result<Vec<u8>> {
    let f = open_blob(root, d)?;
    let data = read_bounded(f, limit, what, &d.to_string())?;
    let actual = crate::digest::Hasher::new(d.algorithm());
    let mut h = actual;
    h.update(&data);
    let actual = h.finish();
    if &actual != d {
        return Err(ImageError::DigestMismatch {
            expected: d.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(data)
}

/// Reads at most `limit` bytes from `r`; more is an error naming `what` and `name`.
pub fn read_bounded(r: impl Read, limit: u64, what: &'static str, name: &str) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    r.take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| ImageError::io("read", name, e))?;
    if data.len() as u64 > limit {
        return Err(ImageError::TooLarge {
            what,
            digest: name.to_owned(),
            limit,
        });
    }
    Ok(data)
}
