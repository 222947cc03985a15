//! Sigstore attachments stored beside an image: the `sha256-<hex>.sig` tag that cosign 2 and skopeo (with
//! `use-sigstore-attachments: true`) write — an OCI image manifest whose layers are the signed payloads, each
//! carrying its signature in annotations. Reading resolves the reference to the digest of its top manifest and
//! fetches that tag's payload layers (small, size-bounded, digest-checked); writing appends one payload layer
//! to the tag, as skopeo does.

use std::collections::BTreeMap;
use std::io::Read;

use oci_client::RegistryOperation;
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::manifest::OCI_MANIFEST;
use crate::pull::PullOptions;
use crate::push::{PushOptions, PushedImage};
use crate::session::{Session, Subject};
use crate::sink::{BlobSource, Descriptor, SinkError};

/// Media type of a signed payload layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Artifact type of a Sigstore bundle attached as an OCI 1.1 referrer (cosign 3).
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Artifact type of a cosign 2 signature attached as an OCI 1.1 referrer (`--registry-referrers-mode=oci-1-1`):
/// a manifest like a `.sig` tag's, whose payload layers carry their signatures in annotations.
pub const COSIGN_SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// Largest bundle fetched.
pub const MAX_BUNDLE_SIZE: u64 = 1024 * 1024;
/// Largest payload layer fetched.
pub const MAX_PAYLOAD_SIZE: u64 = 64 * 1024;
/// Most payload layers read from one signature tag.
pub const MAX_SIGNATURES: usize = 64;

/// The tag holding the signatures of `digest` (`sha256-<hex>.sig`).
pub fn signature_tag(digest: &Digest) -> String {
    format!("{}-{}.sig", digest.algorithm().name(), digest.hex())
}

/// One payload layer of a signature tag.
#[derive(Debug, Clone)]
pub struct AttachedSignature {
    /// The layer's descriptor.
    pub descriptor: Descriptor,
    /// The layer's annotations (signature, certificate, bundle).
    pub annotations: BTreeMap<String, String>,
    /// The payload's exact bytes (digest verified).
    pub payload: Vec<u8>,
}

/// What [`fetch_signatures`] found.
#[derive(Debug, Clone)]
pub struct Signatures {
    /// Digest of the reference's top manifest (an index's, for a multi-platform image): what signatures sign.
    pub digest: Digest,
    /// The signature tag looked up.
    pub tag: String,
    /// Whether that tag exists.
    pub tag_found: bool,
    /// Its payload layers, in manifest order, then those of cosign signatures attached as OCI 1.1 referrers.
    pub signatures: Vec<AttachedSignature>,
    /// Sigstore bundles attached to the digest as OCI 1.1 referrers (referrers API, or the `sha256-<hex>`
    /// fallback tag), as exact JSON bytes.
    pub bundles: Vec<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    config: Descriptor,
    #[serde(default)]
    layers: Vec<RawLayer>,
}

#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct RawLayer {
    media_type: String,
    digest: Digest,
    size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

/// Resolves `opts.reference` to its top manifest digest and fetches the signatures stored under its
/// `.sig` tag. Blocking, like [`crate::pull()`]; `opts.platform` and `opts.concurrency` are not used.
pub fn fetch_signatures(opts: &PullOptions) -> Result<Signatures, RegistryError> {
    crate::block_on(opts.config.timeouts.bound_total(
        opts.reference.registry(),
        || format!("fetch the signatures of {}", opts.reference),
        fetch_async(opts),
    ))?
}

async fn fetch_async(opts: &PullOptions) -> Result<Signatures, RegistryError> {
    let mut s = Session::new(&opts.reference, &opts.config, opts.retry.clone(), false)?;
    s.authenticate(&opts.auth, RegistryOperation::Pull).await?;
    let top = s
        .fetch_manifest(&opts.reference.manifest_ref(), opts.reference.digest())
        .await?;
    signatures_for(&s, top.digest).await
}

/// The signatures stored for `digest` in the session's repository.
pub(crate) async fn signatures_for(
    s: &Session,
    digest: Digest,
) -> Result<Signatures, RegistryError> {
    let tag = signature_tag(&digest);
    // One referrers query serves both kinds (bundles and cosign's referrer signatures): filtered here, so a
    // registry without the API costs one fallback-tag read, not one per kind.
    let index = referrers(s, &digest).await?;
    let bundles = bundles_for(s, index.as_ref()).await?;
    let referred = referrer_signatures(s, index.as_ref()).await?;
    let (tag_found, mut signatures) = match s.fetch_manifest(&tag, None).await {
        Ok(sig) => (true, payload_layers(s, &tag, &sig.bytes).await?),
        Err(RegistryError::ManifestNotFound { .. }) => (false, vec![]),
        Err(e) => return Err(e),
    };
    signatures.extend(referred);
    Ok(Signatures {
        digest,
        tag,
        tag_found,
        signatures,
        bundles,
    })
}

/// The simple-signing payload layers of the signature manifest `bytes` (fetched as `reference`), each fetched
/// size-bounded and digest-checked.
async fn payload_layers(
    s: &Session,
    reference: &str,
    bytes: &[u8],
) -> Result<Vec<AttachedSignature>, RegistryError> {
    let raw: RawManifest =
        serde_json::from_slice(bytes).map_err(|e| invalid(s, reference, e.to_string()))?;
    let mut signatures = Vec::new();
    for layer in raw
        .layers
        .into_iter()
        .filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE)
        .take(MAX_SIGNATURES)
    {
        if layer.size > MAX_PAYLOAD_SIZE {
            return Err(invalid(
                s,
                reference,
                format!(
                    "payload layer {} is {} bytes, at most {MAX_PAYLOAD_SIZE} accepted",
                    layer.digest, layer.size
                ),
            ));
        }
        let payload = fetch_small_blob(s, &layer.digest, layer.size).await?;
        signatures.push(AttachedSignature {
            descriptor: Descriptor {
                media_type: layer.media_type,
                digest: layer.digest,
                size: layer.size,
            },
            annotations: layer.annotations,
            payload,
        });
    }
    Ok(signatures)
}

/// The payload layers of the cosign signatures in the referrers `index` (OCI 1.1 referrers of the image).
async fn referrer_signatures(
    s: &Session,
    index: Option<&oci_client::manifest::OciImageIndex>,
) -> Result<Vec<AttachedSignature>, RegistryError> {
    let mut out = Vec::new();
    for (reference, bytes) in referrer_manifests(s, index, COSIGN_SIGNATURE_ARTIFACT_TYPE).await? {
        out.extend(payload_layers(s, &reference, &bytes).await?);
        if out.len() >= MAX_SIGNATURES {
            break;
        }
    }
    Ok(out)
}

/// The manifests (digest, exact bytes) of the referrers of `artifact_type` in `index`, at most
/// [`MAX_SIGNATURES`].
async fn referrer_manifests(
    s: &Session,
    index: Option<&oci_client::manifest::OciImageIndex>,
    artifact_type: &str,
) -> Result<Vec<(String, Vec<u8>)>, RegistryError> {
    let Some(index) = index else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    for entry in index
        .manifests
        .iter()
        .filter(|m| m.artifact_type.as_deref() == Some(artifact_type))
        .take(MAX_SIGNATURES)
    {
        let Ok(d) = Digest::parse(&entry.digest) else {
            continue;
        };
        let m = s.fetch_manifest(&entry.digest, Some(&d)).await?;
        out.push((entry.digest.clone(), m.bytes));
    }
    Ok(out)
}

/// The Sigstore bundles in the referrers `index`; each referrer manifest's bundle layer is fetched size-bounded
/// and digest-checked.
async fn bundles_for(
    s: &Session,
    index: Option<&oci_client::manifest::OciImageIndex>,
) -> Result<Vec<Vec<u8>>, RegistryError> {
    let mut out = Vec::new();
    for (reference, bytes) in referrer_manifests(s, index, BUNDLE_ARTIFACT_TYPE).await? {
        let raw: RawManifest =
            serde_json::from_slice(&bytes).map_err(|e| invalid(s, &reference, e.to_string()))?;
        for layer in raw
            .layers
            .iter()
            .filter(|l| l.media_type == BUNDLE_ARTIFACT_TYPE)
        {
            if layer.size > MAX_BUNDLE_SIZE {
                return Err(invalid(
                    s,
                    &reference,
                    format!(
                        "bundle layer is {} bytes, at most {MAX_BUNDLE_SIZE} accepted",
                        layer.size
                    ),
                ));
            }
            out.push(fetch_small_blob(s, &layer.digest, layer.size).await?);
        }
    }
    Ok(out)
}

/// The index of all of `digest`'s referrers (referrers API, or the `sha256-<hex>` fallback tag when the registry
/// lacks it); `None` when there is none. Not filtered by artifact type on the registry: the callers filter.
async fn referrers(
    s: &Session,
    digest: &Digest,
) -> Result<Option<oci_client::manifest::OciImageIndex>, RegistryError> {
    let subject_ref = s.oci_ref.clone_with_digest(digest.to_string());
    match s.oci.pull_referrers(&subject_ref, None).await {
        Ok(i) => Ok(Some(i)),
        Err(e) => match s.map_oci(
            e,
            &format!("referrers of {digest}"),
            &Subject::Manifest(format!("{}-{}", digest.algorithm().name(), digest.hex())),
        ) {
            RegistryError::ManifestNotFound { .. } | RegistryError::Http { status: 404, .. } => {
                Ok(None)
            }
            other => Err(other),
        },
    }
}

fn invalid(s: &Session, reference: &str, reason: String) -> RegistryError {
    RegistryError::ManifestInvalid {
        registry: s.registry().to_string(),
        repository: s.repository().to_string(),
        reference: reference.to_string(),
        reason,
    }
}

/// Fetches a blob of known small `size` into memory and checks its size and digest.
async fn fetch_small_blob(
    s: &Session,
    digest: &Digest,
    size: u64,
) -> Result<Vec<u8>, RegistryError> {
    let url = s.blob_url(digest);
    let layer = oci_client::manifest::OciDescriptor {
        media_type: SIMPLE_SIGNING_MEDIA_TYPE.to_string(),
        digest: digest.to_string(),
        size: i64::try_from(size).unwrap_or(i64::MAX),
        ..Default::default()
    };
    let out: Vec<u8> = s
        .retry
        .clone()
        .run(&format!("fetch blob {digest}"), |_| {
            let layer = &layer;
            let url = &url;
            async move {
                let mut out = Vec::with_capacity(size as usize);
                s.oci
                    .pull_blob(&s.oci_ref, layer, &mut out)
                    .await
                    .map_err(|e| s.map_oci(e, url, &Subject::Blob(digest.clone())))?;
                Ok(out)
            }
        })
        .await?;
    if out.len() as u64 != size {
        return Err(RegistryError::SizeMismatch {
            registry: s.registry().to_string(),
            repository: s.repository().to_string(),
            digest: digest.clone(),
            expected: size,
            actual: out.len() as u64,
        });
    }
    let actual = Digest::compute(digest.algorithm(), &out);
    if &actual != digest {
        return Err(RegistryError::DigestMismatch {
            registry: s.registry().to_string(),
            repository: s.repository().to_string(),
            expected: digest.clone(),
            actual,
        });
    }
    Ok(out)
}

/// Adds a signature (payload plus annotations) to the `.sig` tag of `signed` in `opts.reference`'s
/// repository, keeping the signatures already there; a signature already present is not added twice.
/// Returns the digest of the signature manifest. Blocking.
pub fn push_signature(
    opts: &PushOptions,
    signed: &Digest,
    payload: &[u8],
    annotations: BTreeMap<String, String>,
) -> Result<PushedImage, RegistryError> {
    let tag = signature_tag(signed);
    let mut fetch_opts = PullOptions::new(opts.reference.clone());
    fetch_opts.config = opts.config.clone();
    fetch_opts.auth = opts.auth.clone();
    fetch_opts.retry = opts.retry.clone();
    let existing = crate::block_on(opts.config.timeouts.bound_total(
        opts.reference.registry(),
        || format!("read the signature tag {tag} of {}", opts.reference),
        existing_layers(&fetch_opts, &tag),
    ))??;
    let layer = RawLayer {
        media_type: SIMPLE_SIGNING_MEDIA_TYPE.to_string(),
        digest: Digest::sha256_of(payload),
        size: payload.len() as u64,
        annotations,
    };
    let mut layers = existing;
    if !layers
        .iter()
        .any(|l| l.digest == layer.digest && l.annotations == layer.annotations)
    {
        layers.push(layer);
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "",
        "os": "",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.digest.to_string()).collect::<Vec<_>>()},
    }))
    .unwrap_or_default();
    let config_desc = Descriptor {
        media_type: "application/vnd.oci.image.config.v1+json".into(),
        digest: Digest::sha256_of(&config),
        size: config.len() as u64,
    };
    let manifest = serde_json::to_vec(&RawManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        config: config_desc.clone(),
        layers,
    })
    .unwrap_or_default();
    let source = MemSource {
        blobs: vec![
            (config_desc.digest, config),
            (Digest::sha256_of(payload), payload.to_vec()),
        ],
    };
    let mut push_opts = opts.clone();
    push_opts.reference = sig_reference(&opts.reference, &tag)?;
    crate::push(&push_opts, &manifest, &source)
}

/// `opts.reference`'s repository at `tag`.
fn sig_reference(r: &crate::Reference, tag: &str) -> Result<crate::Reference, RegistryError> {
    crate::Reference::parse(&format!("{}:{tag}", r.name())).map_err(|e| RegistryError::Protocol {
        registry: r.registry().to_string(),
        url: String::new(),
        reason: format!("signature tag reference: {e}"),
    })
}

async fn existing_layers(opts: &PullOptions, tag: &str) -> Result<Vec<RawLayer>, RegistryError> {
    let mut s = Session::new(&opts.reference, &opts.config, opts.retry.clone(), false)?;
    s.authenticate(&opts.auth, RegistryOperation::Pull).await?;
    match s.fetch_manifest(tag, None).await {
        Ok(m) => {
            let raw: RawManifest =
                serde_json::from_slice(&m.bytes).map_err(|e| invalid(&s, tag, e.to_string()))?;
            Ok(raw.layers)
        }
        Err(RegistryError::ManifestNotFound { .. }) => Ok(vec![]),
        Err(e) => Err(e),
    }
}

/// Blobs held in memory, for pushing a signature.
struct MemSource {
    blobs: Vec<(Digest, Vec<u8>)>,
}

impl BlobSource for MemSource {
    fn read(&self, d: &Descriptor) -> Result<Box<dyn Read + Send>, SinkError> {
        self.blobs
            .iter()
            .find(|(g, _)| *g == d.digest)
            .map(|(_, b)| Box::new(std::io::Cursor::new(b.clone())) as Box<dyn Read + Send>)
            .ok_or_else(|| SinkError::Missing(d.digest.clone()))
    }
}
