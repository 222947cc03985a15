//! `gantry tag`.

use crate::Global;

/// Arguments of `gantry tag`.
#[derive(Debug, Clone, clap::Args)]
pub struct TagArgs {}

/// Runs `gantry tag`.
pub fn run(_g: &Global, _a: &TagArgs) -> anyhow::Result<i32> {
    anyhow::bail!("tag: not implemented yet")
}
