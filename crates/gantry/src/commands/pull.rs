//! `gantry pull`.

use crate::Global;

/// Arguments of `gantry pull`.
#[derive(Debug, Clone, clap::Args)]
pub struct PullArgs {}

/// Runs `gantry pull`.
pub fn run(_g: &Global, _a: &PullArgs) -> anyhow::Result<i32> {
    anyhow::bail!("pull: not implemented yet")
}
