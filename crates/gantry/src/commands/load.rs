//! `gantry load`: images from an OCI archive or a `docker save` tarball (plain or gzipped).

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use gantry_image::layout::ImportOptions;
use gantry_image::{ImageRecord, Platform, Store};

use crate::lookup::{local_name, open_store};
use crate::Global;

/// Arguments of `gantry load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Archive to read (default: standard input).
    #[arg(long, short = 'i')]
    pub input: Option<PathBuf>,
    /// Platform chosen from multi-platform images: `os/arch[/variant]` (default: this host's).
    #[arg(long)]
    pub platform: Option<String>,
}

/// Import options for `--platform`.
pub fn import_options(platform: Option<&str>) -> Result<ImportOptions> {
    let mut o = ImportOptions::default();
    if let Some(p) = platform {
        o.platform = Platform::parse(p).with_context(|| {
            format!("--platform {p:?} must be os/arch[/variant], e.g. linux/arm64")
        })?;
    }
    Ok(o)
}

/// Renames images recorded under a raw archive/layout name to their normalised store name.
pub fn normalise_names(store: &Store, recs: Vec<ImageRecord>) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for r in recs {
        let want = local_name(&r.name);
        if want != r.name {
            store.tag_image(&r.name, &want)?;
            store.remove_image(&r.name)?;
        }
        names.push(want);
    }
    Ok(names)
}

/// Runs `gantry load`.
pub fn run(g: &Global, a: &LoadArgs) -> Result<i32> {
    let store = open_store(g)?;
    let opts = import_options(a.platform.as_deref())?;
    let (input, what): (Box<dyn Read>, String) = match &a.input {
        Some(p) => (
            Box::new(
                std::fs::File::open(p)
                    .with_context(|| format!("open the archive {}", p.display()))?,
            ),
            p.display().to_string(),
        ),
        None => {
            if std::io::stdin().is_terminal() {
                bail!("no archive given: pass -i FILE or pipe one into standard input");
            }
            (Box::new(std::io::stdin().lock()), "standard input".into())
        }
    };
    let recs = store
        .load(std::io::BufReader::with_capacity(1 << 20, input), &opts)
        .with_context(|| format!("load images from {what}"))?;
    if recs.is_empty() {
        bail!("{what} names no image (no org.opencontainers.image.ref.name annotation or RepoTags); nothing loaded");
    }
    for name in normalise_names(&store, recs)? {
        println!("Loaded image: {name}");
    }
    Ok(0)
}
