//! Image names → manifests → config + layers, recorded in the metadata database.

use oci_spec::image::ImageConfiguration;
use serde::{Deserialize, Serialize};

use super::db::{Op, Table};
use super::{Store, StoreLock};
use crate::config::{diff_ids, parse_image_config};
use crate::digest::Digest;
use crate::error::{ImageError, Result};
use crate::manifest::{parse_document, select_platform, Document};
use crate::platform::Platform;
use crate::snapshot::chain_ids;
use crate::BlobSink;

/// A named image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The name (`registry/repo:tag`, or a layout's ref name).
    pub name: String,
    /// What the name points at: a manifest, or an index.
    pub target: Digest,
    /// The target's media type.
    pub target_media_type: String,
    /// The platform manifest chosen (equals `target` for a plain manifest).
    pub manifest: Digest,
}

/// One layer of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// Blob digest (compressed).
    pub digest: Digest,
    /// Blob size.
    pub size: u64,
    /// Media type.
    pub media_type: String,
    /// Digest of the uncompressed tar.
    pub diff_id: Digest,
    /// Chain ID of the stack up to and including this layer.
    pub chain_id: Digest,
}

/// A single-platform manifest as the store understands it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRecord {
    /// The manifest's media type.
    pub media_type: String,
    /// Size of the manifest blob.
    pub size: u64,
    /// Config blob digest.
    pub config: Digest,
    /// Config media type.
    pub config_media_type: String,
    /// Config blob size.
    pub config_size: u64,
    /// Layers, bottom first.
    pub layers: Vec<LayerRecord>,
}

impl Store {
    /// Records `name` → `target` after checking that the target (and, for an index, the manifest
    /// chosen for `platform`), its config and all its layers are stored and consistent.
    pub fn register_image(
        &self,
        name: &str,
        target: &Digest,
        platform: &Platform,
    ) -> Result<ImageRecord> {
        let (image, rec) = self.plan_image(name, target, platform)?;
        let _lock = StoreLock::shared(self.root())?;
        self.record_image(&image, &rec)?;
        Ok(image)
    }

    /// Like [`Store::register_image`], but unpacks every layer into its snapshot first and
    /// records the name only once all are complete: an image whose layers cannot be unpacked
    /// is never listed (and a crash mid-unpack leaves no name behind).
    pub fn register_image_unpacked(
        &self,
        name: &str,
        target: &Digest,
        platform: &Platform,
        opts: &crate::UnpackOptions,
    ) -> Result<ImageRecord> {
        let (image, rec) = self.plan_image(name, target, platform)?;
        // Until the name is recorded nothing references the new snapshots, so a `gc` in
        // between may remove them: check under the lock that excludes gc, and unpack again
        // if that happened.
        for _ in 0..3 {
            self.prepare_layers(&rec.layers, opts)?;
            let _lock = StoreLock::shared(self.root())?;
            let mut complete = true;
            for l in &rec.layers {
                complete &= self.snapshot(&l.chain_id)?.is_some()
                    && self.snapshot_path(&l.chain_id).is_dir();
            }
            if complete {
                self.record_image(&image, &rec)?;
                return Ok(image);
            }
        }
        Err(ImageError::RunConfig {
            field: "snapshot",
            reason: format!(
                "the snapshots of {name} were removed by concurrent `gantry gc` runs three times; retry"
            ),
        })
    }

    /// Writes the manifest record and the name (the caller holds the store lock shared).
    fn record_image(&self, image: &ImageRecord, rec: &ManifestRecord) -> Result<()> {
        self.db.write(vec![
            Op::put(Table::Manifests, image.manifest.to_string(), rec),
            Op::put(Table::Images, image.name.as_str(), image),
        ])?;
        tracing::info!(name = image.name, manifest = %image.manifest, "image registered");
        Ok(())
    }

    /// Checks that `target` (and, for an index, the manifest for `platform`), its config and
    /// all its layers are stored and consistent; returns the records to write.
    fn plan_image(
        &self,
        name: &str,
        target: &Digest,
        platform: &Platform,
    ) -> Result<(ImageRecord, ManifestRecord)> {
        validate_name(name)?;
        let top = self.read_document(target, "manifest")?;
        let tname = target.to_string();
        let (target_media_type, manifest_digest, manifest_bytes) =
            match parse_document(&top, None, &tname)? {
                Document::Manifest(m) => (
                    media_type_or(
                        m.media_type().as_ref().map(|x| x.to_string()),
                        crate::manifest::media_types::OCI_MANIFEST,
                    ),
                    target.clone(),
                    top,
                ),
                Document::Index(idx) => {
                    let mt = media_type_or(
                        idx.media_type().as_ref().map(|x| x.to_string()),
                        crate::manifest::media_types::OCI_INDEX,
                    );
                    let d = select_platform(&idx, platform, &tname)?;
                    let md = crate::digest::from_oci(d.digest())?;
                    let bytes = self.read_document(&md, "manifest")?;
                    if bytes.len() as u64 != d.size() {
                        return Err(ImageError::SizeMismatch {
                            digest: md.to_string(),
                            expected: d.size(),
                            actual: bytes.len() as u64,
                        });
                    }
                    (mt, md, bytes)
                }
            };
        let mname = manifest_digest.to_string();
        let Document::Manifest(man) = parse_document(&manifest_bytes, None, &mname)? else {
            return Err(ImageError::InvalidDocument {
                what: "manifest",
                digest: mname,
                reason: "an index nested in an index is not supported".into(),
            });
        };
        let cfg_digest = crate::digest::from_oci(man.config().digest())?;
        let cfg_bytes = self.read_document(&cfg_digest, "image config")?;
        if cfg_bytes.len() as u64 != man.config().size() {
            return Err(ImageError::SizeMismatch {
                digest: cfg_digest.to_string(),
                expected: man.config().size(),
                actual: cfg_bytes.len() as u64,
            });
        }
        let cfg = parse_image_config(&cfg_bytes, &cfg_digest.to_string())?;
        let diffs = diff_ids(&cfg, &cfg_digest.to_string())?;
        if diffs.len() != man.layers().len() {
            return Err(ImageError::InvalidDocument {
                what: "image config",
                digest: cfg_digest.to_string(),
                reason: format!(
                    "{} rootfs.diff_ids for {} manifest layers",
                    diffs.len(),
                    man.layers().len()
                ),
            });
        }
        let chains = chain_ids(&diffs);
        let mut layers = Vec::new();
        for ((l, diff), chain) in man.layers().iter().zip(diffs).zip(chains) {
            let d = crate::digest::from_oci(l.digest())?;
            if !self.has_blob(&d)? {
                return Err(ImageError::MissingBlob(d.to_string()));
            }
            let on_disk = std::fs::metadata(self.blob_path(&d))
                .map_err(|e| ImageError::io("stat", self.blob_path(&d), e))?
                .len();
            if on_disk != l.size() {
                return Err(ImageError::SizeMismatch {
                    digest: d.to_string(),
                    expected: l.size(),
                    actual: on_disk,
                });
            }
            layers.push(LayerRecord {
                digest: d,
                size: l.size(),
                media_type: l.media_type().to_string(),
                diff_id: diff,
                chain_id: chain,
            });
        }
        let rec = ManifestRecord {
            media_type: media_type_or(
                man.media_type().as_ref().map(|x| x.to_string()),
                crate::manifest::media_types::OCI_MANIFEST,
            ),
            size: manifest_bytes.len() as u64,
            config: cfg_digest,
            config_media_type: man.config().media_type().to_string(),
            config_size: man.config().size(),
            layers,
        };
        let image = ImageRecord {
            name: name.to_owned(),
            target: target.clone(),
            target_media_type,
            manifest: manifest_digest.clone(),
        };
        Ok((image, rec))
    }

    /// Verifies and stores a manifest or index fetched from a registry (`bytes` already read
    /// with [`crate::manifest::read_document`]), returning it parsed so the caller can choose
    /// a platform ([`crate::manifest::select_platform`]) and fetch the blobs it names.
    /// `declared` is the HTTP `Content-Type` or descriptor media type, if any.
    pub fn put_manifest(
        &self,
        bytes: &[u8],
        expected: &Digest,
        declared: Option<&str>,
    ) -> Result<Document> {
        let mut h = crate::digest::Hasher::new(expected.algorithm());
        h.update(bytes);
        let actual = h.finish();
        if &actual != expected {
            return Err(ImageError::DigestMismatch {
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
        let doc = parse_document(bytes, declared, &expected.to_string())?;
        self.write_blob(expected, bytes.len() as u64, bytes)?;
        Ok(doc)
    }

    /// Looks an image up by name.
    pub fn image(&self, name: &str) -> Result<ImageRecord> {
        self.db
            .get(Table::Images, name)?
            .ok_or_else(|| ImageError::UnknownImage(name.to_owned()))
    }

    /// Every named image, sorted by name.
    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        Ok(self
            .db
            .list::<ImageRecord>(Table::Images)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// The manifest record of a manifest digest.
    pub fn manifest(&self, digest: &Digest) -> Result<ManifestRecord> {
        self.db
            .get(Table::Manifests, &digest.to_string())?
            .ok_or_else(|| ImageError::MissingBlob(digest.to_string()))
    }

    /// The parsed config of a named image.
    pub fn image_config(&self, name: &str) -> Result<ImageConfiguration> {
        let img = self.image(name)?;
        let man = self.manifest(&img.manifest)?;
        let bytes = self.read_document(&man.config, "image config")?;
        parse_image_config(&bytes, &man.config.to_string())
    }

    /// Gives the image named `source` the additional name `name` (repointing `name` if it
    /// already exists): same target and platform manifest, no content copied.
    pub fn tag_image(&self, source: &str, name: &str) -> Result<ImageRecord> {
        validate_name(name)?;
        // Held across the read so `gc` cannot drop the source's content in between.
        let _lock = StoreLock::shared(self.root())?;
        let image = ImageRecord {
            name: name.to_owned(),
            ..self.image(source)?
        };
        self.db.write(vec![Op::put(Table::Images, name, &image)])?;
        Ok(image)
    }

    /// Removes a name; content is reclaimed by [`Store::gc`] when nothing else uses it.
    pub fn remove_image(&self, name: &str) -> Result<()> {
        self.image(name)?;
        self.db
            .write(vec![Op::Delete(Table::Images, name.to_owned())])
    }
}

fn media_type_or(m: Option<String>, default: &str) -> String {
    m.unwrap_or_else(|| default.to_owned())
}

/// Image names are keys and appear in messages: printable, bounded, no control characters.
pub(crate) fn validate_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 512
        || name.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(ImageError::InvalidDocument {
            what: "image name",
            digest: name.chars().take(100).collect(),
            reason: "must be 1-512 printable characters without whitespace".into(),
        });
    }
    Ok(())
}
