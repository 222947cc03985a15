//! The four manifest formats a pull accepts, parsed into one shape.

use serde::Deserialize;

use crate::digest::Digest;
use crate::platform::Platform;
use crate::sink::Descriptor;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list, schema 2.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The media types sent in `Accept` when fetching manifests.
pub const ACCEPTED_MANIFEST_TYPES: [&str; 4] = [
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
];
/// Largest manifest accepted (the limit containerd and the distribution registry use).
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// A single-platform image manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    /// Its media type (OCI or Docker).
    pub media_type: String,
    /// The image configuration blob.
    pub config: Descriptor,
    /// Layers, base first.
    pub layers: Vec<Descriptor>,
}

/// One entry of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The manifest it points to.
    pub descriptor: Descriptor,
    /// Its platform, if stated.
    pub platform: Option<Platform>,
}

/// A multi-platform index (OCI index or Docker manifest list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageIndex {
    /// Its media type (OCI or Docker).
    pub media_type: String,
    /// The entries.
    pub manifests: Vec<IndexEntry>,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// A single image.
    Image(ImageManifest),
    /// An index over several.
    Index(ImageIndex),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<i64>,
    media_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    media_type: String,
    digest: Digest,
    size: u64,
    platform: Option<Platform>,
}

/// Parses manifest bytes; `content_type` is the response's `Content-Type`. The kind comes from the
/// body's `mediaType` (which must agree with `content_type` when both are set), else from the header,
/// else from the shape (OCI allows omitting `mediaType`).
pub fn parse_manifest(bytes: &[u8], content_type: Option<&str>) -> Result<Manifest, String> {
    let raw: Raw =
        serde_json::from_slice(bytes).map_err(|e| format!("not a valid manifest: {e}"))?;
    if raw.schema_version != Some(2) {
        return Err(format!(
            "schemaVersion is {:?}, only 2 is supported (Docker schema 1 is obsolete)",
            raw.schema_version
        ));
    }
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| ACCEPTED_MANIFEST_TYPES.contains(c));
    let media_type = match (&raw.media_type, header) {
        (Some(body), Some(h)) if body != h => {
            return Err(format!(
                "mediaType {body:?} differs from Content-Type {h:?}"
            ))
        }
        (Some(body), _) => body.clone(),
        (None, Some(h)) => h.to_string(),
        (None, None) if raw.manifests.is_some() => OCI_INDEX.to_string(),
        (None, None) => OCI_MANIFEST.to_string(),
    };
    match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            if raw.manifests.is_some() {
                return Err(format!("{media_type} must not have \"manifests\""));
            }
            let config = raw.config.ok_or("image manifest has no \"config\"")?;
            Ok(Manifest::Image(ImageManifest {
                media_type,
                config,
                layers: raw.layers.unwrap_or_default(),
            }))
        }
        OCI_INDEX | DOCKER_MANIFEST_LIST => {
            if raw.config.is_some() || raw.layers.is_some() {
                return Err(format!(
                    "{media_type} must not have \"config\" or \"layers\""
                ));
            }
            let manifests = raw
                .manifests
                .ok_or("index has no \"manifests\"")?
                .into_iter()
                .map(|e| IndexEntry {
                    descriptor: Descriptor {
                        media_type: e.media_type,
                        digest: e.digest,
                        size: e.size,
                    },
                    platform: e.platform,
                })
                .collect();
            Ok(Manifest::Index(ImageIndex {
                media_type,
                manifests,
            }))
        }
        other => Err(format!("unsupported manifest media type {other:?}")),
    }
}

impl ImageIndex {
    /// The first entry that is an image manifest for `want`.
    pub fn select(&self, want: &Platform) -> Option<&IndexEntry> {
        self.manifests.iter().find(|e| {
            matches!(
                e.descriptor.media_type.as_str(),
                OCI_MANIFEST | DOCKER_MANIFEST
            ) && e.platform.as_ref().is_some_and(|p| want.matches(p))
        })
    }

    /// The platforms listed, for error messages.
    pub fn platforms(&self) -> Vec<String> {
        self.manifests
            .iter()
            .filter_map(|e| e.platform.as_ref().map(|p| p.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn image_manifest_both_flavours() {
        for mt in [OCI_MANIFEST, DOCKER_MANIFEST] {
            let body = format!(
                r#"{{"schemaVersion":2,"mediaType":"{mt}","config":{{"mediaType":"c","digest":"{D}","size":2}},
                "layers":[{{"mediaType":"l","digest":"{D}","size":3}}]}}"#
            );
            let Manifest::Image(m) = parse_manifest(body.as_bytes(), Some(mt)).unwrap() else {
                panic!("not an image")
            };
            assert_eq!(m.media_type, mt);
            assert_eq!(m.layers.len(), 1);
            assert_eq!(m.layers[0].size, 3);
        }
    }

    #[test]
    fn index_and_selection() {
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[
              {{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":1,"platform":{{"os":"linux","architecture":"amd64"}}}},
              {{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":2,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#
        );
        let Manifest::Index(i) = parse_manifest(body.as_bytes(), Some(OCI_INDEX)).unwrap() else {
            panic!("not an index")
        };
        let arm = i.select(&Platform::parse("linux/arm64").unwrap()).unwrap();
        assert_eq!(arm.descriptor.size, 2);
        assert!(i.select(&Platform::parse("linux/s390x").unwrap()).is_none());
        assert_eq!(i.platforms(), vec!["linux/amd64", "linux/arm64/v8"]);
    }

    #[test]
    fn refuses_bad_manifests() {
        let cases = [
            r#"{"schemaVersion":1}"#.to_string(),
            "[]".to_string(),
            format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}"}}"#),
            r#"{"schemaVersion":2,"mediaType":"text/plain","manifests":[]}"#.to_string(),
            r#"{"schemaVersion":2,"config":{"mediaType":"c","digest":"sha256:00","size":1}}"#
                .to_string(),
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"c","digest":"{D}","size":-1}}}}"#
            ),
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[],"layers":[]}}"#
            ),
        ];
        for c in &cases {
            assert!(parse_manifest(c.as_bytes(), None).is_err(), "{c}");
        }
        let body = format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[]}}"#);
        assert!(parse_manifest(body.as_bytes(), Some(DOCKER_MANIFEST_LIST)).is_err());
        assert!(parse_manifest(body.as_bytes(), Some("application/json")).is_ok());
    }

    /// Fuzz-style: deterministic mutations of valid manifests never panic, and whatever parses keeps
    /// its invariants (validated digests, known media types).
    #[test]
    fn fuzz_mutated_manifests() {
        let seeds = [
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"c","digest":"{D}","size":2}},"layers":[{{"mediaType":"l","digest":"{D}","size":3}}]}}"#
            ),
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_LIST}","manifests":[{{"mediaType":"{DOCKER_MANIFEST}","digest":"{D}","size":1,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#
            ),
        ];
        let alphabet: &[u8] = b"{}[]\":,0123456789-ae.\\ \xff";
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let seed = &seeds[(next() % seeds.len() as u64) as usize];
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..(next() % 3 + 1) {
                let pos = (next() % bytes.len() as u64) as usize;
                let c = alphabet[(next() % alphabet.len() as u64) as usize];
                match next() % 3 {
                    0 => bytes[pos] = c,
                    1 => {
                        bytes.remove(pos);
                    }
                    _ => bytes.insert(pos, c),
                }
            }
            match parse_manifest(&bytes, None) {
                Ok(Manifest::Image(m)) => {
                    assert!(ACCEPTED_MANIFEST_TYPES.contains(&m.media_type.as_str()));
                    assert_eq!(m.config.digest.hex().len(), 64);
                }
                Ok(Manifest::Index(i)) => {
                    assert!(ACCEPTED_MANIFEST_TYPES.contains(&i.media_type.as_str()));
                    assert!(i
                        .manifests
                        .iter()
                        .all(|e| e.descriptor.digest.hex().len() == 64));
                }
                Err(_) => {}
            }
        }
    }
}
