//! `gantry import`: images from an OCI image layout directory.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::commands::load::{import_options, normalise_names};
use crate::lookup::open_store;
use crate::Global;

/// Arguments of `gantry import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Layout directory, optionally `DIR:REF` to import only the manifest whose
    /// `org.opencontainers.image.ref.name` is REF (default: every named manifest).
    pub layout: String,
    /// Platform chosen from multi-platform images: `os/arch[/variant]` (default: this host's).
    #[arg(long)]
    pub platform: Option<String>,
}

/// Splits `DIR[:REF]`, preferring an existing directory named with a colon.
fn split(layout: &str) -> (PathBuf, Option<String>) {
    if Path::new(layout).is_dir() {
        return (layout.into(), None);
    }
    match layout.rsplit_once(':') {
        Some((dir, r)) if !r.contains('/') && !r.is_empty() => (dir.into(), Some(r.to_owned())),
        _ => (layout.into(), None),
    }
}

/// Runs `gantry import`.
pub fn run(g: &Global, a: &ImportArgs) -> Result<i32> {
    let (dir, only) = split(&a.layout);
    if !dir.join("oci-layout").is_file() {
        bail!(
            "{} is not an OCI image layout (no oci-layout file); give the directory holding oci-layout, index.json and blobs/",
            dir.display()
        );
    }
    let store = open_store(g)?;
    let mut opts = import_options(a.platform.as_deref())?;
    opts.refs = only.map(|r| vec![r]);
    let recs = store
        .import_oci_layout(&dir, &opts)
        .with_context(|| format!("import the OCI layout {}", dir.display()))?;
    if recs.is_empty() {
        bail!(
            "{} has no named manifest (org.opencontainers.image.ref.name); nothing imported",
            dir.display()
        );
    }
    for name in normalise_names(&store, recs)? {
        println!("Imported image: {name}");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_dir_and_ref() {
        assert_eq!(
            split("/nonexistent/oci:busybox"),
            ("/nonexistent/oci".into(), Some("busybox".into()))
        );
        assert_eq!(split("/nonexistent/oci"), ("/nonexistent/oci".into(), None));
        assert_eq!(split("/tmp"), ("/tmp".into(), None));
    }
}
