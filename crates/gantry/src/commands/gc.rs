//! `gantry gc`.

use crate::Global;

/// Arguments of `gantry gc`.
#[derive(Debug, Clone, clap::Args)]
pub struct GcArgs {}

/// Runs `gantry gc`.
pub fn run(_g: &Global, _a: &GcArgs) -> anyhow::Result<i32> {
    anyhow::bail!("gc: not implemented yet")
}
