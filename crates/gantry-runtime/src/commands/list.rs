//! `list`.

use std::io::Write;

use gantry_container::StateRoot;
use gantry_oci_cli::Format;

/// Prints the containers under the state root (`-q`: ids only; `--format json`).
pub fn run(root: &StateRoot, l: &gantry_oci_cli::List) -> anyhow::Result<()> {
    let entries = gantry_container::verbs::list::list(root)?;
    let mut out = std::io::stdout().lock();
    if l.quiet {
        for e in &entries {
            writeln!(out, "{}", e.id)?;
        }
        return Ok(());
    }
    if matches!(l.format, Format::Json) {
        writeln!(out, "{}", serde_json::to_string(&entries)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<12} {:<8} {:<10} {:<40} {:<30} OWNER",
        "ID", "PID", "STATUS", "BUNDLE", "CREATED"
    )?;
    for e in &entries {
        writeln!(
            out,
            "{:<12} {:<8} {:<10} {:<40} {:<30} {}",
            e.id, e.pid, e.status, e.bundle, e.created, e.owner
        )?;
    }
    Ok(())
}
