//! `gantry run`.

use crate::Global;

/// Arguments of `gantry run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {}

/// Runs `gantry run`.
pub fn run(_g: &Global, _a: &RunArgs) -> anyhow::Result<i32> {
    anyhow::bail!("run: not implemented yet")
}
