//! `gantry images`: list the named images of the store.

use anyhow::Result;
use gantry_image::{ImageRecord, Store};
use serde_json::json;

use crate::lookup::{open_store, short_id, split_name};
use crate::Global;

/// Output format of `gantry images`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// A JSON array.
    Json,
}

/// Arguments of `gantry images`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImagesArgs {
    /// Output format (`-q`, the global quiet flag, prints only image IDs).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// What is shown for one image.
struct Row {
    img: ImageRecord,
    id: String,
    size: u64,
    created: String,
    platform: String,
}

fn row(store: &Store, img: ImageRecord) -> Row {
    let man = store.manifest(&img.manifest).ok();
    let size = man.as_ref().map_or(0, |m| {
        m.size + m.config_size + m.layers.iter().map(|l| l.size).sum::<u64>()
    });
    let id = man.map_or_else(|| img.manifest.to_string(), |m| m.config.to_string());
    let (created, platform) = match store.image_config(&img.name) {
        Ok(c) => (
            c.created().clone().unwrap_or_default(),
            format!("{}/{}", c.os(), c.architecture()),
        ),
        Err(_) => (String::new(), String::new()),
    };
    Row {
        img,
        id,
        size,
        created,
        platform,
    }
}

/// Human size with one decimal (`5.2 MB`).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Runs `gantry images`.
pub fn run(g: &Global, a: &ImagesArgs) -> Result<i32> {
    let store = open_store(g)?;
    let rows: Vec<Row> = store
        .images()?
        .into_iter()
        .map(|i| row(&store, i))
        .collect();
    if g.quiet {
        let mut seen = std::collections::HashSet::new();
        for r in &rows {
            if seen.insert(r.id.clone()) {
                println!("{}", r.id.split_once(':').map_or(r.id.as_str(), |x| x.1));
            }
        }
        return Ok(0);
    }
    match a.format {
        Format::Json => {
            let list: Vec<_> = rows
                .iter()
                .map(|r| {
                    let (repo, tag) = split_name(&r.img.name);
                    json!({
                        "name": r.img.name, "repository": repo, "tag": tag,
                        "id": r.id, "digest": r.img.target.to_string(),
                        "manifest": r.img.manifest.to_string(),
                        "mediaType": r.img.target_media_type,
                        "platform": r.platform, "created": r.created, "size": r.size,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        Format::Table => {
            let table: Vec<[String; 5]> = rows
                .iter()
                .map(|r| {
                    let (repo, tag) = split_name(&r.img.name);
                    let id = gantry_image::Digest::parse(&r.id)
                        .map(|d| short_id(&d).to_owned())
                        .unwrap_or_else(|_| r.id.clone());
                    [
                        repo.to_owned(),
                        tag.to_owned(),
                        id,
                        r.created.get(..19).unwrap_or(&r.created).replace('T', " "),
                        human_size(r.size),
                    ]
                })
                .collect();
            crate::table::print(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], &table);
        }
    }
    Ok(0)
}
