//! `gantry inspect`.

use crate::Global;

/// Arguments of `gantry inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {}

/// Runs `gantry inspect`.
pub fn run(_g: &Global, _a: &InspectArgs) -> anyhow::Result<i32> {
    anyhow::bail!("inspect: not implemented yet")
}
