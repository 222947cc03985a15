//! `gantry rm`.

use crate::Global;

/// Arguments of `gantry rm`.
#[derive(Debug, Clone, clap::Args)]
pub struct RmArgs {}

/// Runs `gantry rm`.
pub fn run(_g: &Global, _a: &RmArgs) -> anyhow::Result<i32> {
    anyhow::bail!("rm: not implemented yet")
}
