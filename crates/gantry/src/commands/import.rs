//! `gantry import`.

use crate::Global;

/// Arguments of `gantry import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {}

/// Runs `gantry import`.
pub fn run(_g: &Global, _a: &ImportArgs) -> anyhow::Result<i32> {
    anyhow::bail!("import: not implemented yet")
}
