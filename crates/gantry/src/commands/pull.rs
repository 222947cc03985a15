//! `gantry pull`: fetch an image from a registry into the store, register it under its
//! normalised name and (by default) unpack its layers into shared snapshots.

use std::time::Instant;

use anyhow::{Context, Result};
use gantry_image::{Platform as ImagePlatform, UnpackOptions};
use gantry_registry::{Platform, ProgressMode, PullOptions, RegistryConfig};

use crate::lookup::{normalize, open_store};
use crate::store_sink::{image_digest, StoreSink};
use crate::Global;

/// Arguments of `gantry pull`.
#[derive(Debug, Clone, clap::Args)]
pub struct PullArgs {
    /// Image reference (`busybox`, `registry:5000/repo:tag`, `repo@sha256:...`).
    pub reference: String,
    /// Platform to choose from a multi-platform image: `os/arch[/variant]` (default: this host's).
    #[arg(long)]
    pub platform: Option<String>,
    /// Only fetch; unpack the layers later (on first run).
    #[arg(long)]
    pub no_unpack: bool,
    /// Blobs downloaded in parallel.
    #[arg(long, default_value_t = gantry_registry::pull::DEFAULT_CONCURRENCY)]
    pub jobs: usize,
}

/// Runs `gantry pull`.
pub fn run(g: &Global, a: &PullArgs) -> Result<i32> {
    let store = open_store(g)?;
    let reference = normalize(&a.reference)?;
    let platform = a
        .platform
        .as_deref()
        .map(Platform::parse)
        .transpose()
        .context("--platform must be os/arch[/variant], e.g. linux/arm64")?;
    let mut opts = PullOptions::new(reference.clone());
    opts.platform = platform.clone();
    opts.config = RegistryConfig::load_default()?;
    opts.progress = if g.quiet {
        ProgressMode::Quiet
    } else {
        ProgressMode::Auto
    };
    opts.concurrency = a.jobs.max(1);
    let started = Instant::now();
    let pulled = gantry_registry::pull(&opts, &StoreSink::new(&store))
        .with_context(|| format!("pull {reference}"))?;
    let name = reference.to_string();

    // The pull wrote the manifest blob verified; parse it the store's way before recording.
    let manifest_digest = image_digest(&pulled.manifest.digest)?;
    store
        .put_manifest(
            &pulled.manifest_bytes,
            &manifest_digest,
            Some(&pulled.manifest.media_type),
        )
        .with_context(|| format!("store the manifest of {name}"))?;
    // Register with exactly the platform the registry client chose from the index.
    let chosen = pulled
        .platform
        .as_ref()
        .or(platform.as_ref())
        .map(|p| p.to_string())
        .and_then(|p| ImagePlatform::parse(&p))
        .unwrap_or_else(ImagePlatform::host);
    let top = image_digest(&pulled.digest)?;
    store
        .register_image(&name, &top, &chosen)
        .with_context(|| format!("record image {name}"))?;
    let fetched_at = started.elapsed();
    if !a.no_unpack {
        store
            .prepare_snapshots(&name, &UnpackOptions::default())
            .with_context(|| {
                format!("unpack the layers of {name} (the image stays pulled; `gantry gc` removes partial unpacks)")
            })?;
    }
    if !g.quiet {
        eprintln!(
            "{name}: {} blobs fetched ({} bytes), {} already present; {:.2?} download{}",
            pulled.fetched.len(),
            pulled.bytes_downloaded,
            pulled.skipped.len(),
            fetched_at,
            if a.no_unpack {
                String::new()
            } else {
                format!(", {:.2?} total with unpack", started.elapsed())
            }
        );
    }
    println!("{}", pulled.digest);
    Ok(0)
}
