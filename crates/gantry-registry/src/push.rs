//! `push`: upload an image's blobs and manifest(s) from a [`BlobSource`].
//!
//! Blobs the registry already has (HEAD) are skipped; with `mount_from` set, a missing blob is first
//! offered as a cross-repository mount from that repository of the same registry. Uploads stream from
//! the source, monolithically (one PUT) by default or as chunked PATCHes. For an index, each child
//! manifest (read from the source) is pushed with its blobs, by digest, before the index itself.

use std::io::Read;

use futures_util::{StreamExt, TryStreamExt};
use oci_client::RegistryOperation;
use reqwest::header::HeaderValue;

use crate::auth::AuthFiles;
use crate::config::RegistryConfig;
use crate::digest::Digest;
use crate::error::RegistryError;
use crate::manifest::{parse_manifest, Manifest};
use crate::progress::{Progress, ProgressMode};
use crate::reference::Reference;
use crate::retry::RetryPolicy;
use crate::session::{Session, Subject};
use crate::sink::{BlobSource, Descriptor, SinkError};

/// Size of the pieces read from the source and sent.
const UPLOAD_CHUNK: usize = 1024 * 1024;

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Destination; its tag (or digest) names the pushed manifest.
    pub reference: Reference,
    /// Insecure (plain HTTP) registries.
    pub config: RegistryConfig,
    /// Where credentials are looked up.
    pub auth: AuthFiles,
    /// Progress output on stderr.
    pub progress: ProgressMode,
    /// Blobs uploaded in parallel (at least 1).
    pub concurrency: usize,
    /// Retry policy for transient failures.
    pub retry: RetryPolicy,
    /// Upload each blob as chunked PATCH requests instead of one PUT.
    pub chunked: bool,
    /// Repository (same registry) to offer cross-repository mounts from.
    pub mount_from: Option<String>,
}

impl PushOptions {
    /// Defaults: monolithic uploads, 3 in parallel, auth files from the environment.
    pub fn new(reference: Reference) -> PushOptions {
        PushOptions {
            reference,
            config: RegistryConfig::default(),
            auth: AuthFiles::from_env(),
            progress: ProgressMode::Auto,
            concurrency: crate::pull::DEFAULT_CONCURRENCY,
            retry: RetryPolicy::default(),
            chunked: false,
            mount_from: None,
        }
    }
}

/// The result of a push.
#[derive(Debug, Clone)]
pub struct PushedImage {
    /// Digest of the top manifest pushed.
    pub digest: Digest,
    /// Blobs uploaded.
    pub uploaded: Vec<Digest>,
    /// Blobs the registry already had.
    pub existing: Vec<Digest>,
    /// Blobs mounted from `mount_from`.
    pub mounted: Vec<Digest>,
}

/// Pushes the manifest `manifest` (exact bytes; an image manifest or an index of the four accepted
/// media types) and everything it references to `opts.reference`. Blocking, like [`crate::pull()`]; the whole
/// push, retries included, is bounded by `opts.config.timeouts.total`.
pub fn push(
    opts: &PushOptions,
    manifest: &[u8],
    source: &dyn BlobSource,
) -> Result<PushedImage, RegistryError> {
    crate::block_on(opts.config.timeouts.bound_total(
        opts.reference.registry(),
        || format!("push {}", opts.reference),
        push_async(opts, manifest, source),
    ))?
}

#[derive(PartialEq)]
enum Outcome {
    Uploaded,
    Existing,
    Mounted,
}

async fn push_async(
    opts: &PushOptions,
    manifest: &[u8],
    source: &dyn BlobSource,
) -> Result<PushedImage, RegistryError> {
    let mut s = Session::new(
        &opts.reference,
        &opts.config,
        opts.retry.clone(),
        opts.chunked,
    )?;
    s.authenticate(&opts.auth, RegistryOperation::Push).await?;
    let progress = Progress::new(opts.progress);
    let top_ref = opts.reference.manifest_ref();
    let invalid = |reference: &str, reason: String| RegistryError::ManifestInvalid {
        registry: s.registry().to_string(),
        repository: s.repository().to_string(),
        reference: reference.to_string(),
        reason,
    };
    let top = parse_manifest(manifest, None).map_err(|r| invalid(&top_ref, r))?;
    let mut result = PushedImage {
        digest: Digest::sha256_of(manifest),
        uploaded: vec![],
        existing: vec![],
        mounted: vec![],
    };
    if let Some(d) = opts.reference.digest() {
        let actual = Digest::compute(d.algorithm(), manifest);
        if &actual != d {
            return Err(RegistryError::DigestMismatch {
                registry: s.registry().to_string(),
                repository: s.repository().to_string(),
                expected: d.clone(),
                actual,
            });
        }
        result.digest = d.clone();
    }
    let top_type = match &top {
        Manifest::Image(m) => m.media_type.clone(),
        Manifest::Index(i) => i.media_type.clone(),
    };
    let children: Vec<(Descriptor, Vec<u8>)> = match &top {
        Manifest::Image(_) => vec![],
        Manifest::Index(i) => {
            let mut v = Vec::new();
            for e in &i.manifests {
                let bytes = read_all(&s, source, &e.descriptor)?;
                v.push((e.descriptor.clone(), bytes));
            }
            v
        }
    };
    let mut images = Vec::new();
    match &top {
        Manifest::Image(m) => images.push(m.clone()),
        Manifest::Index(_) => {
            for (d, bytes) in &children {
                match parse_manifest(bytes, Some(&d.media_type))
                    .map_err(|r| invalid(&d.digest.to_string(), r))?
                {
                    Manifest::Image(m) => images.push(m),
                    Manifest::Index(_) => {
                        return Err(invalid(
                            &d.digest.to_string(),
                            "nested indexes are not supported".into(),
                        ))
                    }
                }
            }
        }
    }
    let mut blobs: Vec<Descriptor> = Vec::new();
    for m in &images {
        for d in std::iter::once(&m.config).chain(m.layers.iter()) {
            if !blobs.iter().any(|b| b.digest == d.digest) {
                blobs.push(d.clone());
            }
        }
    }
    let outcomes: Vec<(Digest, Outcome)> = futures_util::stream::iter(blobs.iter())
        .map(|d| push_blob(&s, opts, source, d, &progress))
        .buffer_unordered(opts.concurrency.max(1))
        .try_collect()
        .await?;
    for (d, o) in outcomes {
        match o {
            Outcome::Uploaded => result.uploaded.push(d),
            Outcome::Existing => result.existing.push(d),
            Outcome::Mounted => result.mounted.push(d),
        }
    }
    for (d, bytes) in &children {
        put_manifest(&s, &d.digest.to_string(), bytes, &d.media_type).await?;
    }
    put_manifest(&s, &top_ref, manifest, &top_type).await?;
    progress.message(&format!("{}: pushed {}", opts.reference, result.digest));
    Ok(result)
}

fn source_error(s: &Session, d: &Descriptor, source: SinkError) -> RegistryError {
    RegistryError::Sink {
        registry: s.registry().to_string(),
        repository: s.repository().to_string(),
        digest: d.digest.clone(),
        cause: Box::new(source),
    }
}

fn read_all(
    s: &Session,
    source: &dyn BlobSource,
    d: &Descriptor,
) -> Result<Vec<u8>, RegistryError> {
    let mut r = source.read(d).map_err(|e| source_error(s, d, e))?;
    let mut buf = Vec::new();
    r.by_ref()
        .take(crate::manifest::MAX_MANIFEST_SIZE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| {
            source_error(
                s,
                d,
                SinkError::Io {
                    op: "read manifest",
                    path: d.digest.to_string().into(),
                    source: e,
                },
            )
        })?;
    let actual = Digest::compute(d.digest.algorithm(), &buf);
    if actual != d.digest {
        return Err(RegistryError::Sink {
            registry: s.registry().to_string(),
            repository: s.repository().to_string(),
            digest: d.digest.clone(),
            cause: Box::new(SinkError::DigestMismatch {
                expected: d.digest.clone(),
                actual,
            }),
        });
    }
    Ok(buf)
}

async fn put_manifest(
    s: &Session,
    reference: &str,
    bytes: &[u8],
    media_type: &str,
) -> Result<(), RegistryError> {
    let target = match Digest::parse(reference) {
        Ok(d) => oci_client::Reference::with_digest(
            s.registry().to_string(),
            s.repository().to_string(),
            d.to_string(),
        ),
        Err(_) => oci_client::Reference::with_tag(
            s.registry().to_string(),
            s.repository().to_string(),
            reference.to_string(),
        ),
    };
    let ct = HeaderValue::from_str(media_type).map_err(|_| RegistryError::ManifestInvalid {
        registry: s.registry().to_string(),
        repository: s.repository().to_string(),
        reference: reference.to_string(),
        reason: format!("media type {media_type:?} is not a valid header value"),
    })?;
    let url = format!("manifest {reference}");
    let subject = Subject::Manifest(reference.to_string());
    s.retry
        .clone()
        .run("push manifest", |_| {
            let body = bytes::Bytes::copy_from_slice(bytes);
            let (target, ct, url, subject) = (&target, ct.clone(), &url, &subject);
            async move {
                s.oci
                    .push_manifest_raw(target, body, ct)
                    .await
                    .map(|_| ())
                    .map_err(|e| s.map_oci(e, url, subject))
            }
        })
        .await
}

async fn push_blob(
    s: &Session,
    opts: &PushOptions,
    source: &dyn BlobSource,
    d: &Descriptor,
    progress: &Progress,
) -> Result<(Digest, Outcome), RegistryError> {
    let url = s.blob_url(&d.digest);
    let subject = Subject::Blob(d.digest.clone());
    let digest = d.digest.to_string();
    let exists = s
        .retry
        .clone()
        .run("check blob", |_| async {
            s.oci
                .blob_exists(&s.oci_ref, &digest)
                .await
                .map_err(|e| s.map_oci(e, &url, &subject))
        })
        .await?;
    if exists {
        return Ok((d.digest.clone(), Outcome::Existing));
    }
    if let Some(from) = &opts.mount_from {
        let src = oci_client::Reference::with_tag(
            s.registry().to_string(),
            from.clone(),
            "latest".into(),
        );
        if s.oci.mount_blob(&s.oci_ref, &src, &digest).await.is_ok() {
            return Ok((d.digest.clone(), Outcome::Mounted));
        }
    }
    let name = format!("{}:{}", d.digest.algorithm().name(), &d.digest.hex()[..12]);
    let bar = progress.blob(&name, d.size);
    s.retry
        .clone()
        .run("upload blob", |_| async {
            let reader = source.read(d).map_err(|e| source_error(s, d, e))?;
            bar.restart();
            bar.start(0);
            let counter = bar.clone();
            let stream = reader_stream(reader).inspect_ok(move |c| counter.inc(c.len() as u64));
            s.oci
                .push_blob_stream(&s.oci_ref, stream, &digest, Some(d.size))
                .await
                .map_err(|e| s.map_oci(e, &url, &subject))
        })
        .await?;
    bar.finish("pushed");
    Ok((d.digest.clone(), Outcome::Uploaded))
}

/// Turns a blocking reader into a stream of chunks (reads happen on the runtime's only thread; the
/// source is local disk).
fn reader_stream(
    reader: Box<dyn Read + Send>,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, oci_client::errors::OciDistributionError>>
       + Send
       + 'static {
    futures_util::stream::try_unfold(reader, |mut r| async move {
        let mut buf = vec![0u8; UPLOAD_CHUNK];
        let mut filled = 0;
        while filled < buf.len() {
            let n = r.read(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok(None);
        }
        buf.truncate(filled);
        Ok(Some((bytes::Bytes::from(buf), r)))
    })
}
