//! `gantry images`.

use crate::Global;

/// Arguments of `gantry images`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImagesArgs {}

/// Runs `gantry images`.
pub fn run(_g: &Global, _a: &ImagesArgs) -> anyhow::Result<i32> {
    anyhow::bail!("images: not implemented yet")
}
