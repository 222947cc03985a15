//! The image store as the registry client's blob sink: pulled blobs land in
//! `gantry_image::Store`'s ingest area, resume from what an interrupted pull left there, and are
//! verified (size and digest) before they become visible under `blobs/`.

use std::io::Write;

use gantry_image::{BlobWriter, ImageError, Store};
use gantry_registry::{BlobSink, BlobSource, Descriptor, PartialBlob, SinkError};

/// Adapts a [`Store`] to [`gantry_registry::BlobSink`] (pull) and [`BlobSource`] (push).
pub struct StoreSink<'a> {
    store: &'a Store,
}

impl<'a> StoreSink<'a> {
    /// Wraps `store`.
    pub fn new(store: &'a Store) -> StoreSink<'a> {
        StoreSink { store }
    }
}

fn to_sink(d: &gantry_registry::Digest, e: ImageError) -> SinkError {
    match e {
        ImageError::DigestMismatch { ref actual, .. } => {
            match gantry_registry::Digest::parse(actual) {
                Ok(actual) => SinkError::DigestMismatch {
                    expected: d.clone(),
                    actual,
                },
                Err(_) => other(d, e.to_string()),
            }
        }
        ImageError::SizeMismatch {
            expected, actual, ..
        } => SinkError::SizeMismatch {
            digest: d.clone(),
            expected,
            actual,
        },
        ImageError::MissingBlob(_) => SinkError::Missing(d.clone()),
        e => other(d, e.to_string()),
    }
}

fn other(_d: &gantry_registry::Digest, msg: String) -> SinkError {
    // The registry error around it names the blob already.
    SinkError::Store(msg)
}

impl BlobSink for StoreSink<'_> {
    fn has(&self, d: &Descriptor) -> bool {
        // A blob under `blobs/` was verified on commit; the size check guards against a
        // descriptor that lies about it (the pull then fails with a clear size mismatch).
        std::fs::metadata(self.store.blob_path(&d.digest))
            .is_ok_and(|m| m.is_file() && m.len() == d.size)
    }

    fn open(&self, d: &Descriptor) -> Result<Box<dyn PartialBlob>, SinkError> {
        // Waits while another gantry process writes the same blob, then usually finds it stored.
        let writer = self
            .store
            .begin_blob_blocking(&d.digest, d.size)
            .map_err(|e| to_sink(&d.digest, e))?;
        Ok(Box::new(StorePartial {
            writer,
            digest: d.digest.clone(),
        }))
    }
}

impl BlobSource for StoreSink<'_> {
    fn read(&self, d: &Descriptor) -> Result<Box<dyn std::io::Read + Send>, SinkError> {
        let f = self
            .store
            .open_blob(&d.digest)
            .map_err(|e| to_sink(&d.digest, e))?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
    }
}

/// One blob being written into the store's ingest area.
struct StorePartial {
    writer: BlobWriter,
    digest: gantry_registry::Digest,
}

impl PartialBlob for StorePartial {
    fn offset(&self) -> u64 {
        self.writer.offset()
    }

    fn write_all(&mut self, b: &[u8]) -> Result<(), SinkError> {
        if self.writer.is_present() {
            // Another process stored this (verified) blob while we waited for its ingest
            // lock: what we would write is the same content, so it is dropped.
            return Ok(());
        }
        self.writer.write_all(b).map_err(|e| {
            if !e.get_ref().is_some_and(|i| i.is::<ImageError>()) {
                // A plain OS error (ENOSPC among them) keeps its own text.
                let path = self.writer.digest().to_string();
                return to_sink(&self.digest, ImageError::io("write blob", path, e));
            }
            match e.into_inner().map(|i| i.downcast::<ImageError>()) {
                Some(Ok(ie)) => to_sink(&self.digest, *ie),
                _ => other(&self.digest, "write failed".into()),
            }
        })
    }

    fn restart(&mut self) -> Result<(), SinkError> {
        self.writer.reset().map_err(|e| to_sink(&self.digest, e))
    }

    fn commit(self: Box<Self>) -> Result<(), SinkError> {
        let digest = self.digest;
        self.writer
            .commit()
            .map(|_| ())
            .map_err(|e| to_sink(&digest, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(data: &[u8]) -> Descriptor {
        Descriptor {
            media_type: "application/octet-stream".into(),
            digest: gantry_registry::Digest::sha256_of(data),
            size: data.len() as u64,
        }
    }

    #[test]
    fn resumes_verifies_and_skips_present_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let sink = StoreSink::new(&store);
        let data = b"layer bytes ".repeat(1000);
        let d = desc(&data);
        assert!(!sink.has(&d));
        let mut p = sink.open(&d).unwrap();
        p.write_all(&data[..4000]).unwrap();
        drop(p); // an interrupted pull
        let mut p = sink.open(&d).unwrap();
        assert_eq!(p.offset(), 4000);
        p.write_all(&data[4000..]).unwrap();
        p.commit().unwrap();
        assert!(sink.has(&d));
        // Present blobs: nothing to fetch, and a writer that restarts and writes anyway
        // (how manifests are stored) succeeds without touching the stored content.
        let mut p = sink.open(&d).unwrap();
        assert_eq!(p.offset(), d.size);
        p.restart().unwrap();
        p.write_all(&data).unwrap();
        p.commit().unwrap();
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut BlobSource::read(&sink, &d).unwrap(), &mut back).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn bad_content_is_refused_and_restart_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let sink = StoreSink::new(&store);
        let d = desc(b"good content");
        let mut p = sink.open(&d).unwrap();
        p.write_all(b"evil content").unwrap();
        assert!(matches!(p.commit(), Err(SinkError::DigestMismatch { .. })));
        assert!(!sink.has(&d));
        let mut p = sink.open(&d).unwrap();
        p.write_all(b"junk").unwrap();
        p.restart().unwrap();
        assert_eq!(p.offset(), 0);
        p.write_all(b"good content").unwrap();
        p.commit().unwrap();
        assert!(sink.has(&d));
        let mut p = sink.open(&desc(b"short")).unwrap();
        assert!(matches!(
            p.write_all(b"too long!"),
            Err(SinkError::SizeMismatch { .. })
        ));
    }
}
