//! `events`: `--stats` once, or a stream of stats and OOM events (one JSON object per line).

use std::io::Write;

use gantry_container::verbs::events;
use gantry_container::StateRoot;

/// Prints the container's events.
pub fn run(root: &StateRoot, e: &gantry_oci_cli::Events) -> anyhow::Result<()> {
    if e.stats {
        let stats = events::stats_event(root, &e.id)?;
        return Ok(crate::out::println(&stats.to_string())?);
    }
    let stdout = std::io::stdout();
    let mut emit = |v: &serde_json::Value| -> std::io::Result<()> {
        let mut out = stdout.lock();
        writeln!(out, "{v}")?;
        out.flush()
    };
    Ok(events::watch(root, &e.id, e.interval, &mut emit)?)
}
