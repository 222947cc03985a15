//! `gantry fsck`: re-verify the image store (blob hashes, snapshot completion markers, records)
//! and, with `--repair`, remove what is damaged with the records that depend on it.

use anyhow::{Context, Result};
use gantry_image::FsckOptions;

use crate::lookup::open_store;
use crate::Global;

/// Arguments of `gantry fsck`.
#[derive(Debug, Clone, clap::Args)]
pub struct FsckArgs {
    /// Remove damaged blobs and snapshots, the records depending on them, and leftovers of
    /// interrupted pulls (images then need pulling again; snapshots unpack again on next use).
    #[arg(long)]
    pub repair: bool,
    /// Also re-derive every snapshot's diffID from its layer blob (decompresses every layer).
    #[arg(long)]
    pub full: bool,
}

/// Runs `gantry fsck`: one line per problem on stdout; exit 0 when clean (or repaired), 1 when
/// problems remain.
pub fn run(g: &Global, a: &FsckArgs) -> Result<i32> {
    let store = open_store(g)?;
    let report = store
        .fsck(FsckOptions {
            repair: a.repair,
            full: a.full,
        })
        .context("check the image store")?;
    for p in &report.problems {
        println!(
            "{}{}: {}",
            if a.repair { "repaired " } else { "" },
            p.subject,
            p.reason
        );
    }
    if !g.quiet {
        eprintln!(
            "fsck: {} blobs and {} snapshots checked, {} problem{}{}",
            report.blobs_checked,
            report.snapshots_checked,
            report.problems.len(),
            if report.problems.len() == 1 { "" } else { "s" },
            match (report.is_clean(), a.repair) {
                (true, _) => "",
                (false, true) => ", repaired",
                (false, false) => " (run `gantry fsck --repair` to remove them)",
            }
        );
    }
    Ok(if report.is_clean() || a.repair { 0 } else { 1 })
}
