//! `spec`: write a default config.json (runc's template) into the bundle directory.

use std::path::Path;

use anyhow::{bail, Context};

/// Writes `config.json` in `--bundle` (default: the current directory); refuses to overwrite one.
pub fn run(s: &gantry_oci_cli::SpecCmd) -> anyhow::Result<()> {
    let dir = s.bundle.as_deref().unwrap_or(Path::new("."));
    let path = dir.join("config.json");
    if path.exists() {
        bail!("File {} exists. Remove it first", path.display());
    }
    let spec = gantry_spec::default_spec(s.rootless);
    let json = gantry_spec::to_runc_json(&spec).context("serialise the default spec")?;
    std::fs::write(&path, json).with_context(|| format!("write {}", path.display()))?;
    Ok(())
}
