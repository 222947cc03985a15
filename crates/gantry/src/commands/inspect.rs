//! `gantry inspect`: an image's names, digests, manifest and configuration as JSON.

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::lookup::{find_image, open_store};
use crate::Global;

/// Arguments of `gantry inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// Images (name, short name or digest prefix).
    #[arg(required = true)]
    pub images: Vec<String>,
}

fn document(
    store: &gantry_image::Store,
    d: &gantry_image::Digest,
    what: &'static str,
) -> Result<Value> {
    let bytes = store.read_document(d, what).with_context(|| {
        format!("read the {what} {d} (the store is damaged: pull the image again)")
    })?;
    serde_json::from_slice(&bytes).with_context(|| format!("parse the {what} {d}"))
}

/// Runs `gantry inspect`: prints a JSON array, one object per image.
pub fn run(g: &Global, a: &InspectArgs) -> Result<i32> {
    let store = open_store(g)?;
    let mut out = Vec::new();
    for input in &a.images {
        let img = find_image(&store, input)?;
        let rec = store
            .manifest(&img.manifest)
            .with_context(|| format!("manifest record of {}", img.name))?;
        let names: Vec<String> = store
            .images()?
            .into_iter()
            .filter(|i| i.manifest == img.manifest)
            .map(|i| i.name)
            .collect();
        let index = (img.target != img.manifest)
            .then(|| document(&store, &img.target, "index"))
            .transpose()?;
        let config = document(&store, &rec.config, "image config")?;
        out.push(json!({
            "name": img.name,
            "names": names,
            "id": rec.config.to_string(),
            "digest": img.target.to_string(),
            "mediaType": img.target_media_type,
            "manifestDigest": img.manifest.to_string(),
            "os": config.get("os"),
            "architecture": config.get("architecture"),
            "variant": config.get("variant"),
            "layers": rec.layers.iter().map(|l| json!({
                "digest": l.digest.to_string(), "size": l.size, "mediaType": l.media_type,
                "diffID": l.diff_id.to_string(), "chainID": l.chain_id.to_string(),
                "unpacked": store.snapshot(&l.chain_id).ok().flatten().is_some(),
            })).collect::<Vec<_>>(),
            "index": index,
            "manifest": document(&store, &img.manifest, "manifest")?,
            "config": config,
        }));
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(0)
}
