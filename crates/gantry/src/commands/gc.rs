//! `gantry gc`: remove blobs, snapshots and records that no image or container references.

use std::time::Duration;

use anyhow::{Context, Result};
use gantry_image::{Store, StoreOptions};

use crate::Global;

/// Arguments of `gantry gc`.
#[derive(Debug, Clone, clap::Args)]
pub struct GcArgs {
    /// Keep unreferenced blobs younger than this (`0`, `30s`, `10m`, `1h`): a concurrent pull
    /// may be about to reference them. Partial downloads and unpacks of dead processes go at
    /// once whatever the grace (live pulls hold a lock on theirs).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub grace: Duration,
}

/// Parses `N`, `Ns`, `Nm`, `Nh` (seconds by default).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| Duration::from_secs(n.saturating_mul(mult)))
        .map_err(|_| format!("{s:?} is not a duration like 0, 30s, 10m or 1h"))
}

/// Runs `gantry gc`: prints each thing removed, then a summary on stderr.
pub fn run(g: &Global, a: &GcArgs) -> Result<i32> {
    let store = Store::open_with(&g.root, StoreOptions { gc_grace: a.grace })
        .with_context(|| format!("open the image store at {}", g.root.display()))?;
    let report = store.gc().context("garbage collection")?;
    for b in &report.blobs {
        println!("blob {b}");
    }
    for s in &report.snapshots {
        println!("snapshot {s}");
    }
    for m in &report.manifests {
        println!("manifest record {m}");
    }
    for t in &report.temporary {
        println!("temporary {}", t.display());
    }
    if !g.quiet {
        eprintln!("gc: {report}");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("x").is_err());
    }
}
