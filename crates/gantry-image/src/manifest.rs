//! Parsing of untrusted manifests and indexes (OCI and Docker schema 2), with bounded reads.

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde::Deserialize;

use crate::digest::from_oci;
use crate::error::{ImageError, Result};
use crate::platform::Platform;

/// Largest manifest, index or config accepted (containerd CVE-2023-25153).
pub const MAX_DOCUMENT_SIZE: u64 = 4 << 20;

/// Media types this crate knows.
pub mod media_types {
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// Docker schema 2 manifest.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list.
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Docker image config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// OCI uncompressed layer.
    pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
    /// OCI gzip layer.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// OCI zstd layer.
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// Docker gzip layer.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// Docker uncompressed layer (as in `docker save`).
    pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
    /// Docker foreign (non-distributable) gzip layer.
    pub const DOCKER_FOREIGN_GZIP: &str =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}

use media_types as mt;

/// A parsed manifest-level document.
#[derive(Debug, Clone)]
pub enum Document {
    /// A single-platform image manifest (OCI or Docker schema 2).
    Manifest(Box<ImageManifest>),
    /// A multi-platform index (OCI index or Docker manifest list).
    Index(Box<ImageIndex>),
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<u32>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    layers: Option<serde_json::Value>,
}

fn invalid(what: &'static str, name: &str, reason: impl Into<String>) -> ImageError {
    ImageError::InvalidDocument {
        what,
        digest: name.to_owned(),
        reason: reason.into(),
    }
}

/// Reads a manifest, index or config from an untrusted stream (e.g. an HTTP body), refusing
/// more than [`MAX_DOCUMENT_SIZE`] bytes without buffering them.
pub fn read_document(r: impl std::io::Read, name: &str) -> Result<Vec<u8>> {
    crate::store::read_bounded(r, MAX_DOCUMENT_SIZE, "manifest", name)
}

/// Whether a media type names a manifest (OCI or Docker).
pub fn is_manifest_type(m: &str) -> bool {
    m == mt::OCI_MANIFEST || m == mt::DOCKER_MANIFEST
}

/// Whether a media type names an index (OCI or Docker list).
pub fn is_index_type(m: &str) -> bool {
    m == mt::OCI_INDEX || m == mt::DOCKER_LIST
}

/// Whether a media type names a layer this crate can unpack.
pub fn is_layer_type(m: &str) -> bool {
    m.starts_with("application/vnd.oci.image.layer.")
        || m.starts_with("application/vnd.docker.image.rootfs.")
}

/// Parses a manifest or index. `declared` is the media type from the descriptor or HTTP
/// header, if any; `name` (digest or file name) is used in errors.
pub fn parse_document(bytes: &[u8], declared: Option<&str>, name: &str) -> Result<Document> {
    if bytes.len() as u64 > MAX_DOCUMENT_SIZE {
        return Err(ImageError::TooLarge {
            what: "manifest",
            digest: name.to_owned(),
            limit: MAX_DOCUMENT_SIZE,
        });
    }
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| invalid("manifest", name, e.to_string()))?;
    if probe.schema_version != Some(2) {
        return Err(invalid(
            "manifest",
            name,
            format!(
                "schemaVersion is {:?}; only 2 is supported (Docker schema 1 is obsolete)",
                probe.schema_version
            ),
        ));
    }
    if let (Some(d), Some(inner)) = (declared, probe.media_type.as_deref()) {
        if d != inner {
            return Err(invalid(
                "manifest",
                name,
                format!("mediaType {inner:?} differs from the descriptor's {d:?}"),
            ));
        }
    }
    let kind = probe.media_type.as_deref().or(declared);
    let is_index = match kind {
        Some(m) if is_index_type(m) => true,
        Some(m) if is_manifest_type(m) => false,
        Some(m) => {
            return Err(ImageError::MediaType {
                media_type: m.to_owned(),
                digest: name.to_owned(),
                expected: "an OCI/Docker manifest or index",
            })
        }
        None => match (probe.manifests.is_some(), probe.layers.is_some()) {
            (true, false) => true,
            (false, true) => false,
            _ => return Err(invalid("manifest", name, "neither a manifest nor an index")),
        },
    };
    if is_index {
        let idx: ImageIndex =
            serde_json::from_slice(bytes).map_err(|e| invalid("index", name, e.to_string()))?;
        for (i, m) in idx.manifests().iter().enumerate() {
            from_oci(m.digest())
                .map_err(|e| invalid("index", name, format!("manifests[{i}].digest: {e}")))?;
        }
        Ok(Document::Index(Box::new(idx)))
    } else {
        let man: ImageManifest =
            serde_json::from_slice(bytes).map_err(|e| invalid("manifest", name, e.to_string()))?;
        check_manifest(&man, name)?;
        Ok(Document::Manifest(Box::new(man)))
    }
}

fn check_manifest(man: &ImageManifest, name: &str) -> Result<()> {
    let cfg = man.config();
    from_oci(cfg.digest()).map_err(|e| invalid("manifest", name, format!("config.digest: {e}")))?;
    let cm = cfg.media_type().to_string();
    if cm != mt::OCI_CONFIG && cm != mt::DOCKER_CONFIG {
        return Err(ImageError::MediaType {
            media_type: cm,
            digest: name.to_owned(),
            expected: "an image config (OCI or Docker); artifacts are not runnable images",
        });
    }
    for (i, l) in man.layers().iter().enumerate() {
        from_oci(l.digest())
            .map_err(|e| invalid("manifest", name, format!("layers[{i}].digest: {e}")))?;
        let lm = l.media_type().to_string();
        if !is_layer_type(&lm) {
            return Err(ImageError::MediaType {
                media_type: lm,
                digest: l.digest().to_string(),
                expected: "a tar layer (+gzip/+zstd)",
            });
        }
    }
    Ok(())
}

/// Chooses the best manifest of an index for `want`.
pub fn select_platform<'a>(
    index: &'a ImageIndex,
    want: &Platform,
    name: &str,
) -> Result<&'a Descriptor> {
    let mut best: Option<(u8, &Descriptor)> = None;
    let mut available = Vec::new();
    for d in index.manifests() {
        let m = d.media_type().to_string();
        if !is_manifest_type(&m) {
            continue;
        }
        let Some(p) = d.platform() else {
            // No platform: only usable when it is the sole manifest.
            if index.manifests().len() == 1 {
                return Ok(d);
            }
            continue;
        };
        let (os, arch) = (p.os().to_string(), p.architecture().to_string());
        available.push(format!("{os}/{arch}"));
        if let Some(s) = want.score(&os, &arch, p.variant().as_deref()) {
            if best.is_none_or(|(b, _)| s > b) {
                best = Some((s, d));
            }
        }
    }
    best.map(|(_, d)| d).ok_or_else(|| ImageError::NoPlatform {
        digest: name.to_owned(),
        platform: want.to_string(),
        available: available.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_schema1_and_junk() {
        assert!(parse_document(br#"{"schemaVersion":1}"#, None, "x").is_err());
        assert!(parse_document(b"\xff", None, "x").is_err());
        assert!(parse_document(br#"{"schemaVersion":2}"#, None, "x").is_err());
    }

    #[test]
    fn docker_schema2_manifest_and_list() {
        let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
          "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":2},
          "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":1}]}"#;
        assert!(matches!(
            parse_document(m, Some(media_types::DOCKER_MANIFEST), "m").unwrap(),
            Document::Manifest(_)
        ));
        // The declared type must agree with the document's own mediaType.
        assert!(parse_document(m, Some(media_types::OCI_MANIFEST), "m").is_err());
        let l = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
          {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v7"}},
          {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}"#;
        let Document::Index(idx) = parse_document(l, None, "l").unwrap() else {
            panic!("not an index")
        };
        let d = select_platform(&idx, &Platform::parse("linux/arm64").unwrap(), "l").unwrap();
        assert!(d.digest().to_string().ends_with("aaaa"));
        assert!(select_platform(&idx, &Platform::parse("linux/arm/v6").unwrap(), "l").is_err());
        // An artifact (non-image config) is refused with the media type named.
        let a = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":2},"layers":[]}"#;
        assert!(parse_document(a, None, "a")
            .unwrap_err()
            .to_string()
            .contains("helm"));
    }

    #[test]
    fn refuses_bad_layer_digest() {
        let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
          "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":2},
          "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:../../etc","size":1}]}"#;
        let e = parse_document(m, None, "m").unwrap_err().to_string();
        assert!(
            e.contains("layers[0].digest") || e.contains("invalid"),
            "{e}"
        );
    }
}
