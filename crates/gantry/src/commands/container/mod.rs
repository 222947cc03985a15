//! What `gantry run`, `ps` and `rm` share: engine records, image resolution (and the built-in `hello` image),
//! the container's rootfs and its runtime spec.

pub mod confine;
pub mod hello;
pub mod network;
pub mod record;
pub mod rootfs;
pub mod seccomp;
pub mod spec;
pub mod stdio;
pub mod terminal;

use std::path::{Path, PathBuf};

use anyhow::Context;
use gantry_image::Store;

/// Runtime state of engine containers: the `gantry-container` state root under `--state-root`.
pub fn runtime_root(state_root: &Path) -> gantry_container::StateRoot {
    gantry_container::StateRoot::new(state_root)
}

/// The bundle directory of a container: the store's container dir (`upper`, `work`, `rootfs`, and the
/// `config.json` the engine writes), removed with the container.
pub fn bundle_dir(rootfs: &Path) -> PathBuf {
    rootfs.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// When `gantry run` pulls the image (`--pull`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PullPolicy {
    /// Only when the store does not have it.
    Missing,
    /// Never: a missing image is an error.
    Never,
    /// Always, so the name follows the registry.
    Always,
}

/// Finds `name` in the store (as typed, normalised, under `localhost/`, or by digest prefix: see
/// [`crate::lookup::find_image`]); imports the built-in `hello` image on first use; pulls a missing image from
/// its registry when `policy` allows. Returns the store's name. Pulling finishes (and its threads are gone)
/// before this returns, so the caller may clone afterwards.
pub fn resolve_image(
    store: &Store,
    name: &str,
    policy: PullPolicy,
    quiet: bool,
    trust: &crate::signature_check::TrustOptions,
) -> anyhow::Result<String> {
    let found = if policy == PullPolicy::Always {
        None
    } else {
        match crate::lookup::find_image(store, name) {
            Ok(img) => Some(img.name),
            Err(e) if policy == PullPolicy::Never && !hello::is_hello(name) => return Err(e),
            Err(_) => None,
        }
    };
    if let Some(n) = found {
        return Ok(n);
    }
    if hello::is_hello(name) {
        hello::import(store)?;
        return Ok(hello::NAME.to_owned());
    }
    let pulled = super::pull::pull_image(
        store,
        name,
        None,
        true,
        gantry_registry::pull::DEFAULT_CONCURRENCY,
        quiet,
        trust,
    )
    .with_context(|| {
        format!("image {name:?} is not in the store and pulling it failed (use `gantry load` or `gantry import` for local images)")
    })?;
    Ok(pulled.name)
}
