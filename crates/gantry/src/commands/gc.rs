//! `gantry gc`: remove blobs, snapshots and records that no image or container references; what killed pod
//! supervisors left (runtime state, cgroups), and exited pods older than the grace period.

use std::time::Duration;

use anyhow::{Context, Result};
use gantry_image::{Store, StoreOptions};

use crate::Global;

/// Arguments of `gantry gc`.
#[derive(Debug, Clone, clap::Args)]
pub struct GcArgs {
    /// Keep exited pods and unreferenced blobs younger than this (`0`, `30s`, `10m`, `1h`): a concurrent pull
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

/// How long ago an RFC 3339 time (as the engine writes it) was.
fn finished_age(t: &str) -> Option<Duration> {
    let then = super::ps::parse_rfc3339(t)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    Some(Duration::from_secs(now.saturating_sub(then).max(0) as u64))
}

/// Runs `gantry gc`: prints each thing removed, then a summary on stderr.
pub fn run(g: &Global, a: &GcArgs) -> Result<i32> {
    let store = Store::open_with(&g.root, StoreOptions { gc_grace: a.grace })
        .with_context(|| format!("open the image store at {}", g.root.display()))?;
    // Pods first: removing a pod's rootfs releases the snapshots it used.
    let pods = super::pod::record::Pods::open(&g.root)?;
    for rec in pods.list()? {
        if rec.supervisor_alive() {
            continue;
        }
        let expired = rec
            .finished
            .as_deref()
            .and_then(finished_age)
            .is_some_and(|age| age >= a.grace);
        let name = &rec.plan.name;
        // A pod whose supervisor was killed ends now: with --grace 0 it goes at once.
        let result = if expired || rec.plan.auto_remove || a.grace.is_zero() {
            super::pod::ops::clean_dead(g, &store, &pods, &rec, false).and_then(|mut removed| {
                super::pod::ops::remove(g, &store, &pods, &rec)?;
                removed.push(format!("pod {name}"));
                Ok(removed)
            })
        } else {
            super::pod::ops::clean_dead(g, &store, &pods, &rec, false)
        };
        match result {
            Ok(removed) => removed.iter().for_each(|r| println!("{r}")),
            Err(e) => eprintln!("gantry: gc of pod {name}: {e:#}"),
        }
    }
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
