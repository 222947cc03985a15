//! Importing an OCI image layout directory (`oci-layout`, `index.json`, `blobs/`).

use std::fs::File;
use std::path::Path;

use oci_spec::image::{Descriptor, ImageIndex};

use crate::beneath::Beneath;
use crate::digest::Digest;
use crate::error::{ImageError, Result};
use crate::manifest::{
    is_index_type, parse_document, select_platform, Document, MAX_DOCUMENT_SIZE,
};
use crate::platform::Platform;
use crate::store::{read_bounded, ImageRecord, Store};

/// Annotation naming a manifest inside a layout.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd's annotation carrying the full image name.
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Platform chosen from indexes (default: the host's).
    pub platform: Platform,
    /// Only these ref names (default: every named manifest of `index.json`).
    pub refs: Option<Vec<String>>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            platform: Platform::host(),
            refs: None,
        }
    }
}

impl Store {
    /// Imports images from an OCI layout directory; returns the images recorded.
    pub fn import_oci_layout(&self, dir: &Path, opts: &ImportOptions) -> Result<Vec<ImageRecord>> {
        let src = Beneath::open(dir)?;
        let layout = read_bounded(src.file("oci-layout")?, 4096, "oci-layout", "oci-layout")?;
        let v: serde_json::Value =
            serde_json::from_slice(&layout).map_err(|e| ImageError::InvalidDocument {
                what: "oci-layout",
                digest: src.name().to_owned(),
                reason: e.to_string(),
            })?;
        if v.get("imageLayoutVersion").and_then(|x| x.as_str()) != Some("1.0.0") {
            return Err(ImageError::InvalidDocument {
                what: "oci-layout",
                digest: src.name().to_owned(),
                reason: "imageLayoutVersion must be \"1.0.0\"".into(),
            });
        }
        let index_bytes = read_bounded(
            src.file("index.json")?,
            MAX_DOCUMENT_SIZE,
            "index.json",
            "index.json",
        )?;
        let index: ImageIndex = match parse_document(&index_bytes, None, "index.json")? {
            Document::Index(i) => *i,
            Document::Manifest(_) => {
                return Err(ImageError::InvalidDocument {
                    what: "index.json",
                    digest: src.name().to_owned(),
                    reason: "is a manifest, not an index".into(),
                })
            }
        };
        let mut out = Vec::new();
        for d in index.manifests() {
            let ann = d.annotations().clone().unwrap_or_default();
            let Some(reference) = ann.get(REF_NAME) else {
                continue;
            };
            if let Some(only) = &opts.refs {
                if !only.iter().any(|r| r == reference) {
                    continue;
                }
            }
            let name = ann.get(CONTAINERD_NAME).unwrap_or(reference).clone();
            out.push(self.import_descriptor(
                |dg| src.file(&blob_rel(dg)),
                d,
                &name,
                &opts.platform,
            )?);
        }
        if let Some(only) = &opts.refs {
            for r in only {
                if !out.iter().any(|i| &i.name == r)
                    && !index
                        .manifests()
                        .iter()
                        .any(|d| d.annotations().as_ref().and_then(|a| a.get(REF_NAME)) == Some(r))
                {
                    return Err(ImageError::UnknownImage(r.clone()));
                }
            }
        }
        Ok(out)
    }

    /// Copies the blobs a descriptor needs from `open` (an index, its platform manifest, config
    /// and layers) into the store, verifying each, then records `name`.
    pub(crate) fn import_descriptor(
        &self,
        open: impl Fn(&Digest) -> Result<File>,
        d: &Descriptor,
        name: &str,
        platform: &Platform,
    ) -> Result<ImageRecord> {
        let top = crate::digest::from_oci(d.digest())?;
        self.write_blob(&top, d.size(), open(&top)?)?;
        let mut man_desc = d.clone();
        if is_index_type(d.media_type().as_ref()) {
            let bytes = self.read_document(&top, "index")?;
            let Document::Index(idx) =
                parse_document(&bytes, Some(d.media_type().as_ref()), &top.to_string())?
            else {
                return Err(ImageError::InvalidDocument {
                    what: "index",
                    digest: top.to_string(),
                    reason: "not an index".into(),
                });
            };
            man_desc = select_platform(&idx, platform, &top.to_string())?.clone();
            let md = crate::digest::from_oci(man_desc.digest())?;
            self.write_blob(&md, man_desc.size(), open(&md)?)?;
        }
        let md = crate::digest::from_oci(man_desc.digest())?;
        let bytes = self.read_document(&md, "manifest")?;
        let Document::Manifest(man) = parse_document(
            &bytes,
            Some(man_desc.media_type().as_ref()),
            &md.to_string(),
        )?
        else {
            return Err(ImageError::InvalidDocument {
                what: "manifest",
                digest: md.to_string(),
                reason: "not a manifest".into(),
            });
        };
        for b in std::iter::once(man.config()).chain(man.layers().iter()) {
            let bd = crate::digest::from_oci(b.digest())?;
            self.write_blob(&bd, b.size(), open(&bd)?)?;
        }
        self.register_image(name, &top, platform)
    }
}

/// Path of a blob relative to a layout root.
pub(crate) fn blob_rel(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().name(), d.hex())
}
