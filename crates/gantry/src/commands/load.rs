//! `gantry load`.

use crate::Global;

/// Arguments of `gantry load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {}

/// Runs `gantry load`.
pub fn run(_g: &Global, _a: &LoadArgs) -> anyhow::Result<i32> {
    anyhow::bail!("load: not implemented yet")
}
