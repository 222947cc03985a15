//! `gantry save`: images to one archive that both OCI tools and `docker load` read.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::lookup::{find_image, open_store};
use crate::Global;

/// Arguments of `gantry save`.
#[derive(Debug, Clone, clap::Args)]
pub struct SaveArgs {
    /// Archive to write (default: standard output).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Images (name, short name or digest prefix).
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// Runs `gantry save`.
pub fn run(g: &Global, a: &SaveArgs) -> Result<i32> {
    let store = open_store(g)?;
    let mut names = Vec::new();
    for i in &a.images {
        names.push(find_image(&store, i)?.name);
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    match &a.output {
        Some(path) => {
            // Written beside the target and renamed: a failed save never leaves half an archive.
            let tmp = path.with_extension(format!("partial-{}", std::process::id()));
            let result = (|| -> Result<()> {
                let f = std::fs::File::create(&tmp)
                    .with_context(|| format!("create {}", tmp.display()))?;
                let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
                store.save(&refs, &mut w)?;
                let f = w.into_inner().map_err(|e| e.into_error())?;
                f.sync_all()?;
                std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result.with_context(|| format!("save {} to {}", names.join(", "), path.display()))?;
        }
        None => {
            if std::io::stdout().is_terminal() {
                bail!("refusing to write an archive to a terminal: pass -o FILE or redirect standard output");
            }
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            store.save(&refs, &mut out)?;
            out.flush()?;
        }
    }
    Ok(0)
}
