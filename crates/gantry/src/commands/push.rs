//! `gantry push`: upload an image from the store to a registry.

use anyhow::{Context, Result};
use gantry_registry::{ProgressMode, PushOptions, RegistryConfig};

use crate::lookup::{find_image, normalize, open_store};
use crate::store_sink::StoreSink;
use crate::Global;

/// Arguments of `gantry push`.
#[derive(Debug, Clone, clap::Args)]
pub struct PushArgs {
    /// The image to push (name, short name or digest prefix).
    pub image: String,
    /// Destination reference (default: the image's name).
    pub destination: Option<String>,
}

/// Runs `gantry push`: pushes the image's platform manifest (the one the store holds every
/// blob of), its config and layers; prints the pushed manifest digest.
pub fn run(g: &Global, a: &PushArgs) -> Result<i32> {
    let store = open_store(g)?;
    let img = find_image(&store, &a.image)?;
    let dest = normalize(a.destination.as_deref().unwrap_or(&img.name))?;
    let manifest = store
        .read_document(&img.manifest, "manifest")
        .with_context(|| format!("read the manifest of {}", img.name))?;
    let mut opts = PushOptions::new(dest.clone());
    opts.config = RegistryConfig::load_default()?;
    opts.progress = if g.quiet {
        ProgressMode::Quiet
    } else {
        ProgressMode::Auto
    };
    let pushed = gantry_registry::push(&opts, &manifest, &StoreSink::new(&store))
        .with_context(|| format!("push {} to {dest}", img.name))?;
    if !g.quiet {
        eprintln!(
            "{dest}: {} blobs uploaded, {} already there, {} mounted",
            pushed.uploaded.len(),
            pushed.existing.len(),
            pushed.mounted.len()
        );
    }
    println!("{}", pushed.digest);
    Ok(0)
}
