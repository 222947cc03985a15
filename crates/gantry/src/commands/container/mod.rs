//! What `gantry run`, `ps` and `rm` share: engine records, image resolution (and the built-in `hello` image),
//! the container's rootfs and its runtime spec.

pub mod hello;
pub mod record;
pub mod rootfs;
pub mod spec;
pub mod terminal;

use std::path::{Path, PathBuf};

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

/// Finds `name` in the store as typed, as a normalised reference (`busybox` → `docker.io/library/busybox:latest`)
/// or under `localhost/`; imports the built-in `hello` image on first use. Returns the store's name.
pub fn resolve_image(store: &Store, name: &str) -> anyhow::Result<String> {
    let mut candidates = vec![name.to_owned()];
    if let Ok(r) = gantry_registry::reference::Reference::parse(name) {
        candidates.push(r.to_string());
    }
    if !name.contains('/') {
        let tagged = if name.contains(':') || name.contains('@') {
            name.to_owned()
        } else {
            format!("{name}:latest")
        };
        candidates.push(format!("localhost/{tagged}"));
    }
    for c in &candidates {
        match store.image(c) {
            Ok(_) => return Ok(c.clone()),
            Err(gantry_image::ImageError::UnknownImage(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if hello::is_hello(name) {
        hello::import(store)?;
        return Ok(hello::NAME.to_owned());
    }
    anyhow::bail!(
        "image {name:?} not found in the store at {}; run `gantry pull {name}` (or `gantry load` / `gantry import`) first",
        store.root().display()
    )
}
