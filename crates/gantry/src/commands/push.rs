//! `gantry push`.

use crate::Global;

/// Arguments of `gantry push`.
#[derive(Debug, Clone, clap::Args)]
pub struct PushArgs {}

/// Runs `gantry push`.
pub fn run(_g: &Global, _a: &PushArgs) -> anyhow::Result<i32> {
    anyhow::bail!("push: not implemented yet")
}
