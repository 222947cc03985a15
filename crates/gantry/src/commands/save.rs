//! `gantry save`.

use crate::Global;

/// Arguments of `gantry save`.
#[derive(Debug, Clone, clap::Args)]
pub struct SaveArgs {}

/// Runs `gantry save`.
pub fn run(_g: &Global, _a: &SaveArgs) -> anyhow::Result<i32> {
    anyhow::bail!("save: not implemented yet")
}
