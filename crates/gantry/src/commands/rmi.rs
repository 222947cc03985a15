//! `gantry rmi`: remove image names; content goes with the next `gantry gc`.

use anyhow::{bail, Result};
use gantry_image::container::ContainerRecord;
use gantry_image::store::db::Table;
use gantry_image::Store;

use crate::lookup::{find_image, open_store};
use crate::Global;

/// Arguments of `gantry rmi`.
#[derive(Debug, Clone, clap::Args)]
pub struct RmiArgs {
    /// Images (name, short name or digest prefix).
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Remove the name even while containers use the image (their layers stay until they are
    /// removed; `gantry gc` keeps what containers use).
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// Containers created from the manifest `manifest`.
fn users(store: &Store, manifest: &gantry_image::Digest) -> Result<Vec<String>> {
    Ok(store
        .db()
        .list::<ContainerRecord>(Table::Containers)?
        .into_iter()
        .filter(|(_, c)| &c.manifest == manifest)
        .map(|(id, _)| id)
        .collect())
}

fn remove_one(store: &Store, input: &str, force: bool) -> Result<String> {
    let img = find_image(store, input)?;
    let other_names = store
        .images()?
        .into_iter()
        .filter(|i| i.manifest == img.manifest && i.name != img.name)
        .count();
    if other_names == 0 && !force {
        let used = users(store, &img.manifest)?;
        if !used.is_empty() {
            bail!(
                "image {} is used by container(s) {}: remove them first (`gantry rm`), or pass --force to drop the name anyway",
                img.name,
                used.join(", ")
            );
        }
    }
    store.remove_image(&img.name)?;
    Ok(img.name)
}

/// Runs `gantry rmi`: removes every image it can, then fails if any could not be removed.
pub fn run(g: &Global, a: &RmiArgs) -> Result<i32> {
    let store = open_store(g)?;
    let mut failed = Vec::new();
    for input in &a.images {
        match remove_one(&store, input, a.force) {
            Ok(name) => println!("Untagged: {name}"),
            Err(e) => {
                eprintln!("gantry rmi: {e:#}");
                failed.push(input.as_str());
            }
        }
    }
    if !failed.is_empty() {
        bail!("could not remove {}", failed.join(", "));
    }
    if !g.quiet {
        eprintln!("run `gantry gc` to reclaim the space of content no image or container uses");
    }
    Ok(0)
}
