//! Where pulled blobs go ([`BlobSink`]) and where pushed blobs come from ([`BlobSource`]), plus
//! [`DirSink`], a directory-backed reference implementation that the image store can mirror.
//!
//! Contract: [`BlobSink::open`] returns a [`PartialBlob`] positioned at the bytes already received (a
//! previous, interrupted pull); the puller appends the rest and calls [`PartialBlob::commit`], which
//! MUST verify size and digest of the whole blob and make it visible atomically, or leave nothing
//! visible. A blob is visible to [`BlobSink::has`] only after a successful commit.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::{Digest, Verifier};

/// The identity of a blob: its media type, digest and size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Descriptor {
    /// Media type, e.g. `application/vnd.oci.image.layer.v1.tar+gzip`.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Content digest.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
}

/// Why a sink operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// An I/O error on a path of the sink.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (e.g. "write partial blob").
        op: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The committed content hashes to another digest.
    #[error("blob content hashes to {actual}, expected {expected}")]
    DigestMismatch {
        /// Digest the descriptor promised.
        expected: Digest,
        /// Digest of the bytes received.
        actual: Digest,
    },
    /// The committed content has another size.
    #[error("blob {digest} has {actual} bytes, expected {expected}")]
    SizeMismatch {
        /// The blob.
        digest: Digest,
        /// Size the descriptor promised.
        expected: u64,
        /// Bytes received.
        actual: u64,
    },
    /// The blob is not in the source.
    #[error("blob {0} is not present")]
    Missing(Digest),
    /// The store refused the write; the text says why and where (e.g. no space left).
    #[error("{0}")]
    Store(String),
}

/// Destination of pulled blobs (implemented by the image store).
pub trait BlobSink: Send + Sync {
    /// True if the blob is already stored (committed and verified).
    fn has(&self, d: &Descriptor) -> bool;
    /// Opens the blob for writing, positioned after the bytes kept from an earlier interrupted attempt.
    fn open(&self, d: &Descriptor) -> Result<Box<dyn PartialBlob>, SinkError>;
}

/// A blob being written. Dropping it without commit keeps the bytes written so far for a later resume.
pub trait PartialBlob: Send {
    /// Bytes already present; the next [`write_all`](PartialBlob::write_all) appends at this offset.
    fn offset(&self) -> u64;
    /// Appends bytes.
    fn write_all(&mut self, b: &[u8]) -> Result<(), SinkError>;
    /// Throws away what was written (including an earlier attempt's bytes) and starts at offset 0.
    fn restart(&mut self) -> Result<(), SinkError>;
    /// Verifies size and digest of the whole content and makes it visible; on failure nothing is
    /// visible and the partial content is discarded.
    fn commit(self: Box<Self>) -> Result<(), SinkError>;
}

/// Source of blobs to push (implemented by the image store).
pub trait BlobSource: Send + Sync {
    /// Opens the blob for reading from its start.
    fn read(&self, d: &Descriptor) -> Result<Box<dyn Read + Send>, SinkError>;
}

/// A blob directory: committed blobs at `ROOT/blobs/<alg>/<hex>` (the OCI image layout's blob path),
/// partial downloads at `ROOT/ingest/<alg>-<hex>` (the same layout as gantry-image's store).
#[derive(Debug, Clone)]
pub struct DirSink {
    root: PathBuf,
}

impl DirSink {
    /// Uses (and creates) `root`.
    pub fn new(root: impl Into<PathBuf>) -> Result<DirSink, SinkError> {
        let root = root.into();
        for sub in ["blobs/sha256", "blobs/sha512", "ingest"] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(|source| SinkError::Io {
                op: "create directory",
                path: p,
                source,
            })?;
        }
        Ok(DirSink { root })
    }

    /// Path of a committed blob.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// Path of a partial download.
    pub fn partial_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("ingest")
            .join(format!("{}-{}", digest.algorithm().name(), digest.hex()))
    }

    /// Reads a committed blob whole.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, SinkError> {
        let p = self.blob_path(digest);
        fs::read(&p).map_err(|source| SinkError::Io {
            op: "read blob",
            path: p,
            source,
        })
    }
}

impl BlobSink for DirSink {
    fn has(&self, d: &Descriptor) -> bool {
        fs::metadata(self.blob_path(&d.digest)).is_ok_and(|m| m.is_file() && m.len() == d.size)
    }

    fn open(&self, d: &Descriptor) -> Result<Box<dyn PartialBlob>, SinkError> {
        let path = self.partial_path(&d.digest);
        let io_err = |op, source| SinkError::Io {
            op,
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(|e| io_err("open partial blob", e))?;
        let mut offset = file
            .metadata()
            .map_err(|e| io_err("stat partial blob", e))?
            .len();
        if offset > d.size {
            file.set_len(0)
                .map_err(|e| io_err("truncate partial blob", e))?;
            offset = 0;
        }
        Ok(Box::new(DirPartial {
            file,
            path,
            final_path: self.blob_path(&d.digest),
            desc: d.clone(),
            offset,
        }))
    }
}

impl BlobSource for DirSink {
    fn read(&self, d: &Descriptor) -> Result<Box<dyn Read + Send>, SinkError> {
        let p = self.blob_path(&d.digest);
        match File::open(&p) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(SinkError::Missing(d.digest.clone()))
            }
            Err(source) => Err(SinkError::Io {
                op: "open blob",
                path: p,
                source,
            }),
        }
    }
}

struct DirPartial {
    file: File,
    path: PathBuf,
    final_path: PathBuf,
    desc: Descriptor,
    offset: u64,
}

impl DirPartial {
    fn io(&self, op: &'static str, source: io::Error) -> SinkError {
        SinkError::Io {
            op,
            path: self.path.clone(),
            source,
        }
    }
}

impl PartialBlob for DirPartial {
    fn offset(&self) -> u64 {
        self.offset
    }

    fn write_all(&mut self, b: &[u8]) -> Result<(), SinkError> {
        self.file
            .write_all(b)
            .map_err(|e| self.io("write partial blob", e))?;
        self.offset += b.len() as u64;
        Ok(())
    }

    fn restart(&mut self) -> Result<(), SinkError> {
        self.file
            .set_len(0)
            .map_err(|e| self.io("truncate partial blob", e))?;
        self.offset = 0;
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<(), SinkError> {
        let result = verify_file(&self.path, &self.desc).and_then(|()| {
            self.file
                .sync_all()
                .map_err(|e| self.io("sync partial blob", e))?;
            fs::rename(&self.path, &self.final_path).map_err(|e| self.io("rename partial blob", e))
        });
        if result.is_err() {
            // Bad content must not be resumed from: drop it. Best effort; the error returned is the
            // verification failure.
            let _ = fs::remove_file(&self.path);
        }
        result
    }
}

/// Hashes the file at `path` and compares it with `desc`.
fn verify_file(path: &Path, desc: &Descriptor) -> Result<(), SinkError> {
    let io_err = |source| SinkError::Io {
        op: "read partial blob",
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(io_err)?;
    let mut v = Verifier::new(desc.digest.algorithm());
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        v.update(&buf[..n]);
    }
    if v.len() != desc.size {
        return Err(SinkError::SizeMismatch {
            digest: desc.digest.clone(),
            expected: desc.size,
            actual: v.len(),
        });
    }
    let actual = v.finish();
    if actual != desc.digest {
        return Err(SinkError::DigestMismatch {
            expected: desc.digest.clone(),
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(data: &[u8]) -> Descriptor {
        Descriptor {
            media_type: "application/octet-stream".into(),
            digest: Digest::sha256_of(data),
            size: data.len() as u64,
        }
    }

    #[test]
    fn write_commit_and_resume() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirSink::new(dir.path()).unwrap();
        let data = b"hello, blob world".repeat(100);
        let d = desc(&data);
        assert!(!sink.has(&d));
        let mut p = sink.open(&d).unwrap();
        assert_eq!(p.offset(), 0);
        p.write_all(&data[..500]).unwrap();
        drop(p);
        let mut p = sink.open(&d).unwrap();
        assert_eq!(p.offset(), 500);
        p.write_all(&data[500..]).unwrap();
        p.commit().unwrap();
        assert!(sink.has(&d));
        assert_eq!(sink.read_blob(&d.digest).unwrap(), data);
        assert!(!sink.partial_path(&d.digest).exists());
    }

    #[test]
    fn bad_content_is_not_committed() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirSink::new(dir.path()).unwrap();
        let d = desc(b"good");
        let mut p = sink.open(&d).unwrap();
        p.write_all(b"evil").unwrap();
        assert!(matches!(p.commit(), Err(SinkError::DigestMismatch { .. })));
        assert!(!sink.has(&d));
        assert!(!sink.partial_path(&d.digest).exists());

        let mut p = sink.open(&d).unwrap();
        p.write_all(b"goo").unwrap();
        assert!(matches!(p.commit(), Err(SinkError::SizeMismatch { .. })));
        assert!(!sink.has(&d));
    }

    #[test]
    fn oversized_partial_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirSink::new(dir.path()).unwrap();
        let d = desc(b"abc");
        fs::write(sink.partial_path(&d.digest), b"abcdef").unwrap();
        let mut p = sink.open(&d).unwrap();
        assert_eq!(p.offset(), 0);
        p.write_all(b"abc").unwrap();
        p.commit().unwrap();
        assert!(sink.has(&d));
        let mut r = BlobSource::read(&sink, &d).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "abc");
    }
}
