//! `pull`: resolve a reference to one platform's image and fetch every blob into a [`BlobSink`].
//!
//! Order: authenticate → manifest (index → pick platform → image manifest) → config and layers in
//! parallel (bounded). Every manifest is verified against its digest by its exact bytes and committed
//! to the sink too, so the sink ends up holding the complete image. Blobs are hashed while streaming
//! and their size enforced; an interrupted blob resumes from the sink's partial offset with an HTTP
//! `Range` request (the whole blob is fetched again if the registry ignores the range), and the sink's
//! commit re-verifies size and digest of the whole content.

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{StreamExt, TryStreamExt};
use oci_client::client::BlobResponse;
use oci_client::RegistryOperation;

use crate::auth::AuthFiles;
use crate::config::RegistryConfig;
use crate::digest::{Digest, Verifier};
use crate::error::RegistryError;
use crate::manifest::{parse_manifest, ImageManifest, Manifest};
use crate::platform::Platform;
use crate::progress::{Progress, ProgressMode};
use crate::reference::Reference;
use crate::retry::RetryPolicy;
use crate::session::{Session, Subject};
use crate::sink::{BlobSink, Descriptor, SinkError};

/// Default number of blobs fetched at once.
pub const DEFAULT_CONCURRENCY: usize = 3;

/// What to pull and how.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The image.
    pub reference: Reference,
    /// Platform to pick from an index; `None` means the host's.
    pub platform: Option<Platform>,
    /// Insecure (plain HTTP) registries.
    pub config: RegistryConfig,
    /// Where credentials are looked up.
    pub auth: AuthFiles,
    /// Progress output on stderr.
    pub progress: ProgressMode,
    /// Blobs fetched in parallel (at least 1).
    pub concurrency: usize,
    /// Retry policy for transient failures.
    pub retry: RetryPolicy,
}

impl PullOptions {
    /// Defaults: host platform, no extra insecure registries, auth files from the environment,
    /// automatic progress, [`DEFAULT_CONCURRENCY`], default retries.
    pub fn new(reference: Reference) -> PullOptions {
        PullOptions {
            reference,
            platform: None,
            config: RegistryConfig::default(),
            auth: AuthFiles::from_env(),
            progress: ProgressMode::Auto,
            concurrency: DEFAULT_CONCURRENCY,
            retry: RetryPolicy::default(),
        }
    }
}

/// The result of a pull.
#[derive(Debug, Clone)]
pub struct PulledImage {
    /// The reference pulled, as given.
    pub reference: Reference,
    /// Digest the reference resolved to (the index's, if it named an index).
    pub digest: Digest,
    /// The index the manifest was picked from, if any.
    pub index: Option<Descriptor>,
    /// The platform of the picked index entry, if any.
    pub platform: Option<Platform>,
    /// Descriptor of the image manifest.
    pub manifest: Descriptor,
    /// The image manifest's exact bytes.
    pub manifest_bytes: Vec<u8>,
    /// The parsed image manifest (config + layers).
    pub image: ImageManifest,
    /// Blobs the sink already had.
    pub skipped: Vec<Digest>,
    /// Blobs fetched from the registry.
    pub fetched: Vec<Digest>,
    /// Blob bytes received over the network (after resume offsets).
    pub bytes_downloaded: u64,
}

/// Pulls `opts.reference` into `sink`. Blocking: runs on a private single-threaded tokio runtime that
/// is dropped (with its blocking-pool threads joined) before this returns.
///
/// The whole pull, retries included, is bounded by `opts.config.timeouts.total`.
pub fn pull(opts: &PullOptions, sink: &dyn BlobSink) -> Result<PulledImage, RegistryError> {
    match crate::block_on(opts.config.timeouts.bound_total(
        opts.reference.registry(),
        || format!("pull {}", opts.reference),
        pull_async(opts, sink, None),
    ))?? {
        Ok(p) => Ok(p),
        // Without a check nothing can be refused.
        Err(refused) => Err(RegistryError::Protocol {
            registry: opts.reference.registry().to_string(),
            url: String::new(),
            reason: refused.to_string(),
        }),
    }
}

/// Why a [`pull_verified`] check refused an image (the checker's own error).
pub type Refused = Box<dyn std::error::Error + Send + Sync>;

/// The check [`pull_verified`] runs on the signatures of the resolved digest.
pub type SignatureCheck<'a> =
    dyn Fn(&crate::attachments::Signatures) -> Result<(), Refused> + Sync + 'a;

/// Like [`pull()`], but once the reference is resolved to its top manifest digest the signatures stored for that
/// digest (its `.sig` tag) are fetched in the same session and handed to `check`, before any other manifest is
/// stored or any blob fetched. If `check` refuses, nothing is written to `sink` and its error is returned as
/// the inner `Err`; the outer `Err` is a registry failure.
pub fn pull_verified(
    opts: &PullOptions,
    sink: &dyn BlobSink,
    check: &SignatureCheck<'_>,
) -> Result<Result<PulledImage, Refused>, RegistryError> {
    crate::block_on(opts.config.timeouts.bound_total(
        opts.reference.registry(),
        || format!("pull {}", opts.reference),
        pull_async(opts, sink, Some(check)),
    ))?
}

async fn pull_async(
    opts: &PullOptions,
    sink: &dyn BlobSink,
    check: Option<&SignatureCheck<'_>>,
) -> Result<Result<PulledImage, Refused>, RegistryError> {
    let mut s = Session::new(&opts.reference, &opts.config, opts.retry.clone(), false)?;
    s.authenticate(&opts.auth, RegistryOperation::Pull).await?;
    let progress = Progress::new(opts.progress);
    let want = opts.platform.clone().unwrap_or_else(Platform::host);
    let r = resolve(&s, &opts.reference, &want).await?;
    progress.message(&format!("{}: resolved to {}", opts.reference, r.digest));
    if let Some(check) = check {
        let sigs = crate::attachments::signatures_for(&s, r.digest.clone()).await?;
        if let Err(refused) = check(&sigs) {
            return Ok(Err(refused));
        }
    }

    // Manifests are small and already verified: store them directly.
    if let Some((idx, bytes)) = &r.index {
        store_bytes(&s, sink, idx, bytes)?;
    }
    store_bytes(&s, sink, &r.manifest, &r.manifest_bytes)?;

    let mut blobs: Vec<Descriptor> = Vec::with_capacity(r.image.layers.len() + 1);
    for d in std::iter::once(&r.image.config).chain(r.image.layers.iter()) {
        if !blobs.iter().any(|b| b.digest == d.digest) {
            blobs.push(d.clone());
        }
    }
    let downloaded = AtomicU64::new(0);
    let outcomes: Vec<(Digest, bool)> = futures_util::stream::iter(blobs.iter())
        .map(|d| fetch_blob(&s, sink, d, &progress, &downloaded))
        .buffer_unordered(opts.concurrency.max(1))
        .try_collect()
        .await?;
    let (fetched, skipped): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(|(_, f)| *f);
    Ok(Ok(PulledImage {
        reference: opts.reference.clone(),
        digest: r.digest,
        index: r.index.map(|(d, _)| d),
        platform: r.platform,
        manifest: r.manifest,
        manifest_bytes: r.manifest_bytes,
        image: r.image,
        fetched: fetched.into_iter().map(|(d, _)| d).collect(),
        skipped: skipped.into_iter().map(|(d, _)| d).collect(),
        bytes_downloaded: downloaded.load(Ordering::Relaxed),
    }))
}

/// What a reference resolved to.
struct Resolved {
    digest: Digest,
    index: Option<(Descriptor, Vec<u8>)>,
    platform: Option<Platform>,
    manifest: Descriptor,
    manifest_bytes: Vec<u8>,
    image: ImageManifest,
}

/// Fetches the reference's manifest and, for an index, the entry for `want`.
async fn resolve(
    s: &Session,
    reference: &Reference,
    want: &Platform,
) -> Result<Resolved, RegistryError> {
    let top_ref = reference.manifest_ref();
    let top = s.fetch_manifest(&top_ref, reference.digest()).await?;
    let invalid = |r: &str, reason: String| RegistryError::ManifestInvalid {
        registry: s.registry().to_string(),
        repository: s.repository().to_string(),
        reference: r.to_string(),
        reason,
    };
    let top_desc = |media_type: &str| Descriptor {
        media_type: media_type.to_string(),
        digest: top.digest.clone(),
        size: top.bytes.len() as u64,
    };
    let idx = match parse_manifest(&top.bytes, top.content_type.as_deref())
        .map_err(|r| invalid(&top_ref, r))?
    {
        Manifest::Image(image) => {
            return Ok(Resolved {
                digest: top.digest.clone(),
                index: None,
                platform: None,
                manifest: top_desc(&image.media_type),
                manifest_bytes: top.bytes,
                image,
            })
        }
        Manifest::Index(idx) => idx,
    };
    let entry = idx
        .select(want)
        .ok_or_else(|| RegistryError::NoMatchingPlatform {
            registry: s.registry().to_string(),
            repository: s.repository().to_string(),
            reference: top_ref.clone(),
            wanted: want.to_string(),
            available: idx.platforms().join(", "),
        })?;
    let child_ref = entry.descriptor.digest.to_string();
    let child = s
        .fetch_manifest(&child_ref, Some(&entry.descriptor.digest))
        .await?;
    if child.bytes.len() as u64 != entry.descriptor.size {
        let reason = format!(
            "{} bytes, the index says {}",
            child.bytes.len(),
            entry.descriptor.size
        );
        return Err(invalid(&child_ref, reason));
    }
    let Manifest::Image(image) = parse_manifest(&child.bytes, child.content_type.as_deref())
        .map_err(|r| invalid(&child_ref, r))?
    else {
        return Err(invalid(
            &child_ref,
            "an index entry points to another index".into(),
        ));
    };
    Ok(Resolved {
        digest: top.digest.clone(),
        index: Some((top_desc(&idx.media_type), top.bytes.clone())),
        platform: entry.platform.clone(),
        manifest: entry.descriptor.clone(),
        manifest_bytes: child.bytes,
        image,
    })
}

fn sink_error(s: &Session, d: &Descriptor, e: SinkError) -> RegistryError {
    match e {
        SinkError::DigestMismatch { expected, actual } => RegistryError::DigestMismatch {
            registry: s.registry().to_string(),
            repository: s.repository().to_string(),
            expected,
            actual,
        },
        SinkError::SizeMismatch {
            digest,
            expected,
            actual,
        } => RegistryError::SizeMismatch {
            registry: s.registry().to_string(),
            repository: s.repository().to_string(),
            digest,
            expected,
            actual,
        },
        source => RegistryError::Sink {
            registry: s.registry().to_string(),
            repository: s.repository().to_string(),
            digest: d.digest.clone(),
            cause: Box::new(source),
        },
    }
}

/// Commits verified in-memory content (a manifest) unless the sink has it.
fn store_bytes(
    s: &Session,
    sink: &dyn BlobSink,
    d: &Descriptor,
    bytes: &[u8],
) -> Result<(), RegistryError> {
    if sink.has(d) {
        return Ok(());
    }
    let mut part = sink.open(d).map_err(|e| sink_error(s, d, e))?;
    part.restart().map_err(|e| sink_error(s, d, e))?;
    part.write_all(bytes).map_err(|e| sink_error(s, d, e))?;
    part.commit().map_err(|e| sink_error(s, d, e))
}

/// Fetches one blob into the sink unless present; returns (digest, fetched?).
async fn fetch_blob(
    s: &Session,
    sink: &dyn BlobSink,
    d: &Descriptor,
    progress: &Progress,
    downloaded: &AtomicU64,
) -> Result<(Digest, bool), RegistryError> {
    if sink.has(d) {
        return Ok((d.digest.clone(), false));
    }
    let name = short(&d.digest);
    let bar = progress.blob(&name, d.size);
    let mut restarted_after_bad_resume = false;
    let last_resumed = std::cell::Cell::new(false);
    loop {
        let result = s
            .retry
            .clone()
            .run(&format!("fetch blob {}", d.digest), |_| {
                fetch_attempt(s, sink, d, &bar, downloaded, &last_resumed)
            })
            .await;
        match result {
            Ok(resumed) => {
                bar.finish(if resumed { "done (resumed)" } else { "done" });
                return Ok((d.digest.clone(), true));
            }
            // A resumed blob whose whole content fails verification may have had a bad prefix on disk:
            // the commit discarded it, so one fresh download is worth a try.
            Err(RegistryError::DigestMismatch { .. })
                if !restarted_after_bad_resume && last_resumed.get() =>
            {
                restarted_after_bad_resume = true;
            }
            Err(e) => {
                bar.finish("failed");
                return Err(e);
            }
        }
    }
}

/// One try: open the partial blob, request the rest, stream it in, commit. Returns whether it resumed.
async fn fetch_attempt(
    s: &Session,
    sink: &dyn BlobSink,
    d: &Descriptor,
    bar: &crate::progress::BlobProgress,
    downloaded: &AtomicU64,
    resumed: &std::cell::Cell<bool>,
) -> Result<bool, RegistryError> {
    let url = s.blob_url(&d.digest);
    let subject = Subject::Blob(d.digest.clone());
    let mut part = sink.open(d).map_err(|e| sink_error(s, d, e))?;
    let mut offset = part.offset();
    let layer = oci_client::manifest::OciDescriptor {
        media_type: d.media_type.clone(),
        digest: d.digest.to_string(),
        size: i64::try_from(d.size).unwrap_or(i64::MAX),
        ..Default::default()
    };
    let oci_ref = &s.oci_ref;
    if offset > 0 && offset == d.size {
        // Everything arrived before an interruption, only the commit is missing.
        resumed.set(true);
        bar.start(offset);
        part.commit().map_err(|e| sink_error(s, d, e))?;
        return Ok(true);
    }
    let partial = if offset > 0 {
        match s
            .oci
            .pull_blob_stream_partial(oci_ref, &layer, offset, None)
            .await
        {
            Ok(BlobResponse::Partial(st)) => Some(st),
            Ok(BlobResponse::Full(st)) => {
                tracing::info!("{url}: registry ignored Range, fetching the whole blob");
                part.restart().map_err(|e| sink_error(s, d, e))?;
                offset = 0;
                Some(st)
            }
            Err(e) => match s.map_oci(e, &url, &subject) {
                // 416: the registry refuses the range (e.g. the partial is longer than its blob).
                RegistryError::Http { status: 416, .. } => {
                    tracing::info!("{url}: range not satisfiable, fetching the whole blob");
                    part.restart().map_err(|e| sink_error(s, d, e))?;
                    offset = 0;
                    None
                }
                other => return Err(other),
            },
        }
    } else {
        None
    };
    let mut stream = match partial {
        Some(st) => st,
        None => s
            .oci
            .pull_blob_stream(oci_ref, &layer)
            .await
            .map_err(|e| s.map_oci(e, &url, &subject))?,
    };
    resumed.set(offset > 0);
    bar.start(offset);
    // Hash while streaming when we see every byte; a resumed blob is verified whole by the commit.
    let mut verifier = (offset == 0).then(|| Verifier::new(d.digest.algorithm()));
    let mut written = offset;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let oci_digest_error = e
                    .get_ref()
                    .is_some_and(|i| i.is::<oci_client::errors::DigestError>());
                if oci_digest_error {
                    // oci-client's own check at end of stream; ours below names the actual digest.
                    break;
                }
                return Err(s.stream_error(&url, &e));
            }
        };
        if written + chunk.len() as u64 > d.size {
            part.restart().map_err(|e| sink_error(s, d, e))?;
            return Err(RegistryError::SizeMismatch {
                registry: s.registry().to_string(),
                repository: s.repository().to_string(),
                digest: d.digest.clone(),
                expected: d.size,
                actual: written + chunk.len() as u64,
            });
        }
        part.write_all(&chunk).map_err(|e| sink_error(s, d, e))?;
        if let Some(v) = verifier.as_mut() {
            v.update(&chunk);
        }
        written += chunk.len() as u64;
        downloaded.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        bar.inc(chunk.len() as u64);
    }
    if written < d.size {
        // Cut off early: keep the bytes for a resumed retry.
        return Err(RegistryError::Network {
            phase: crate::error::Phase::Read,
            registry: s.registry().to_string(),
            url,
            message: format!("connection closed after {written} of {} bytes", d.size),
        });
    }
    if let Some(v) = verifier {
        if let Err(e) = s.check_digest(&d.digest, v) {
            part.restart().map_err(|e| sink_error(s, d, e))?;
            return Err(e);
        }
    }
    part.commit().map_err(|e| sink_error(s, d, e))?;
    Ok(offset > 0)
}

/// `sha256:0123456789ab` — enough to tell blobs apart in progress output.
fn short(d: &Digest) -> String {
    format!("{}:{}", d.algorithm().name(), &d.hex()[..12])
}
