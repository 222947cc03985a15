//! `gantry tag`: give an image another name.

use anyhow::{bail, Context, Result};

use crate::lookup::{find_image, normalize, open_store};
use crate::Global;

/// Arguments of `gantry tag`.
#[derive(Debug, Clone, clap::Args)]
pub struct TagArgs {
    /// The image to name (name, short name or digest prefix).
    pub source: String,
    /// The new names (`[REGISTRY/]REPOSITORY[:TAG]`, normalised like `gantry pull`).
    #[arg(required = true)]
    pub targets: Vec<String>,
}

/// Runs `gantry tag`.
pub fn run(g: &Global, a: &TagArgs) -> Result<i32> {
    let store = open_store(g)?;
    let img = find_image(&store, &a.source)?;
    for t in &a.targets {
        let r = normalize(t)?;
        if r.digest().is_some() {
            bail!("{t:?}: a new name cannot pin a digest; give a tag instead (REPOSITORY:TAG)");
        }
        let name = r.to_string();
        store
            .tag_image(&img.name, &name)
            .with_context(|| format!("tag {} as {name}", img.name))?;
        if !g.quiet {
            eprintln!("tagged {} as {name}", img.name);
        }
    }
    Ok(0)
}
