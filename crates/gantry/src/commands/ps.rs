//! `gantry ps`.

use crate::Global;

/// Arguments of `gantry ps`.
#[derive(Debug, Clone, clap::Args)]
pub struct PsArgs {}

/// Runs `gantry ps`.
pub fn run(_g: &Global, _a: &PsArgs) -> anyhow::Result<i32> {
    anyhow::bail!("ps: not implemented yet")
}
