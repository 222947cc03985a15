//! Opening the store and finding images in it by the names users type.

use anyhow::{bail, Context, Result};
use gantry_image::{ImageError, ImageRecord, Store};
use gantry_registry::Reference;

use crate::Global;

/// Opens the image store under `--root`.
pub fn open_store(g: &Global) -> Result<Store> {
    Store::open(&g.root).with_context(|| {
        format!(
            "open the image store at {} (run as root, or pass --root DIR for a private store)",
            g.root.display()
        )
    })
}

/// The store name for a registry reference the user typed (`busybox` →
/// `docker.io/library/busybox:latest`).
pub fn normalize(input: &str) -> Result<Reference> {
    // The parse error's text already includes its cause: no context chain, no repetition.
    Reference::parse(input)
        .map_err(|e| anyhow::anyhow!("{e} (expected [REGISTRY/]REPOSITORY[:TAG][@DIGEST])"))
}

/// The store name for an image named inside an archive or layout: a name with a registry or
/// path is normalised like a reference; a bare name (`busybox`) is local, `localhost/busybox:latest`,
/// so it never poses as an image from Docker Hub.
pub fn local_name(raw: &str) -> String {
    let candidate = if raw.contains('/') {
        raw.to_owned()
    } else {
        format!("localhost/{raw}")
    };
    Reference::parse(&candidate)
        .map(|r| r.to_string())
        .unwrap_or_else(|_| raw.to_owned())
}

/// Finds an image by exact name, normalised reference, `localhost/` short name, or a digest
/// (full or a prefix of at least 4 hex digits) of its target, manifest or config.
pub fn find_image(store: &Store, input: &str) -> Result<ImageRecord> {
    let mut candidates = vec![input.to_owned()];
    if let Ok(r) = Reference::parse(input) {
        candidates.push(r.to_string());
    }
    candidates.push(local_name(input));
    for c in &candidates {
        match store.image(c) {
            Ok(img) => return Ok(img),
            Err(ImageError::UnknownImage(_)) => {}
            Err(e) => return Err(e).with_context(|| format!("look up image {c}")),
        }
    }
    if let Some(img) = by_short_name(store, input)? {
        return Ok(img);
    }
    let hex = input.strip_prefix("sha256:").unwrap_or(input);
    if hex.len() >= 4 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        let mut found: Vec<ImageRecord> = Vec::new();
        for img in store.images()? {
            let config = store.manifest(&img.manifest).ok().map(|m| m.config);
            let hit = [Some(&img.target), Some(&img.manifest), config.as_ref()]
                .into_iter()
                .flatten()
                .any(|d| d.hex().starts_with(hex));
            if hit {
                found.push(img);
            }
        }
        let mut distinct: Vec<&gantry_image::Digest> = found.iter().map(|i| &i.manifest).collect();
        distinct.sort_by_key(|d| d.to_string());
        distinct.dedup();
        match distinct.len() {
            0 => {}
            1 => return Ok(found.remove(0)),
            _ => bail!(
                "{input:?} matches several images ({}); give more digits or a name",
                found
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    bail!(
        "image {input:?} is not in the store at {} (see `gantry images`; fetch it with `gantry pull {input}`)",
        store.root().display()
    )
}

/// A short name (`layers`, `layers:docker`) matching exactly one image's last repository
/// component and tag (default `latest`), like podman's short-name lookup in local storage.
fn by_short_name(store: &Store, input: &str) -> Result<Option<ImageRecord>> {
    if input.contains('/') || input.contains('@') {
        return Ok(None);
    }
    let (want_repo, want_tag) = input.split_once(':').unwrap_or((input, "latest"));
    let mut found: Vec<ImageRecord> = store
        .images()?
        .into_iter()
        .filter(|i| {
            let (repo, tag) = split_name(&i.name);
            tag == want_tag && repo.rsplit('/').next() == Some(want_repo)
        })
        .collect();
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found.remove(0))),
        _ => bail!(
            "short name {input:?} matches several images ({}); give the full name",
            found
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Short ID of a digest as shown in tables (12 hex digits).
pub fn short_id(d: &gantry_image::Digest) -> &str {
    &d.hex()[..12.min(d.hex().len())]
}

/// Splits `registry/repo:tag` (or `repo@digest`) into repository and tag.
pub fn split_name(name: &str) -> (&str, &str) {
    if let Some((repo, _)) = name.split_once('@') {
        return (repo, "<none>");
    }
    match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => (&name[..i], &name[i + 1..]),
        _ => (name, "<none>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(local_name("busybox"), "localhost/busybox:latest");
        assert_eq!(
            local_name("localhost/testbed/busybox:latest"),
            "localhost/testbed/busybox:latest"
        );
        assert_eq!(local_name("quay.io/a/b"), "quay.io/a/b:latest");
        assert_eq!(
            split_name("127.0.0.1:5000/testbed/x:docker"),
            ("127.0.0.1:5000/testbed/x", "docker")
        );
        assert_eq!(
            split_name("127.0.0.1:5000/testbed/x"),
            ("127.0.0.1:5000/testbed/x", "<none>")
        );
        assert_eq!(split_name("a/b@sha256:00"), ("a/b", "<none>"));
    }
}
