//! `gantry rmi`.

use crate::Global;

/// Arguments of `gantry rmi`.
#[derive(Debug, Clone, clap::Args)]
pub struct RmiArgs {}

/// Runs `gantry rmi`.
pub fn run(_g: &Global, _a: &RmiArgs) -> anyhow::Result<i32> {
    anyhow::bail!("rmi: not implemented yet")
}
