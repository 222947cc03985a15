//! `load` and `save` of image archives: OCI archives (a tarred OCI layout, as skopeo's
//! `oci-archive:` and `podman save --format oci-archive` write) and `docker save` tarballs
//! (`manifest.json`, legacy `<id>/layer.tar` or Docker 25+ `blobs/` form). Optionally gzipped.
//!
//! `save` writes both `index.json` and `manifest.json` over one `blobs/` tree, so the output
//! loads with OCI tools and with `docker load` / `podman load`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};

use serde::{Deserialize, Serialize};

use crate::digest::{Digest, Hasher};
use crate::error::{ImageError, Result};
use crate::layout::{blob_rel, ImportOptions, CONTAINERD_NAME, REF_NAME};
use crate::manifest::{media_types as mt, parse_document, Document, MAX_DOCUMENT_SIZE};
use crate::store::{read_bounded, ImageRecord, Store};
use crate::BlobInfo;

/// Largest PAX/GNU long-name record accepted in an archive.
const MAX_ARCHIVE_META: u64 = 64 << 10;

#[derive(Deserialize, Serialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Normalises an archive member name (`./a//b` → `a/b`); `None` for anything escaping.
fn member_name(raw: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(raw).ok()?;
    let mut parts = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => parts.pop().map(|_| ())?,
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

fn archive_err(reason: impl Into<String>) -> ImageError {
    ImageError::InvalidDocument {
        what: "image archive",
        digest: String::new(),
        reason: reason.into(),
    }
}

impl Store {
    /// Stores a stream whose digest is not known in advance (a `docker save` layer).
    pub fn write_unknown_blob(&self, r: impl Read) -> Result<BlobInfo> {
        let tmp = self
            .root()
            .join("ingest")
            .join(crate::snapshot::unique_name("tmp"));
        let result = (|| -> Result<BlobInfo> {
            let mut f =
                std::fs::File::create(&tmp).map_err(|e| ImageError::io("create", &tmp, e))?;
            let mut h = Hasher::new(crate::digest::Algorithm::Sha256);
            let mut r = BufReader::new(r);
            let mut size = 0u64;
            loop {
                let buf = r.fill_buf().map_err(|e| ImageError::io("read", &tmp, e))?;
                if buf.is_empty() {
                    break;
                }
                h.update(buf);
                f.write_all(buf)
                    .map_err(|e| ImageError::io("write", &tmp, e))?;
                let n = buf.len();
                size += n as u64;
                r.consume(n);
            }
            f.sync_all().map_err(|e| ImageError::io("fsync", &tmp, e))?;
            let digest = h.finish();
            let path = self.blob_path(&digest);
            std::fs::rename(&tmp, &path).map_err(|e| ImageError::io("rename", &path, e))?;
            crate::store::blobs::fsync_dir(path.parent().unwrap_or(self.root()))?;
            Ok(BlobInfo { digest, size, path })
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Loads an OCI archive or a `docker save` tarball (plain or gzipped).
    pub fn load(&self, input: impl Read, opts: &ImportOptions) -> Result<Vec<ImageRecord>> {
        let mut input = BufReader::new(input);
        let head = input
            .fill_buf()
            .map_err(|e| ImageError::io("read", "archive", e))?;
        let reader: Box<dyn Read> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::bufread::MultiGzDecoder::new(input))
        } else {
            Box::new(input)
        };
        let mut ar = tar::Archive::new(reader);
        let mut docs: HashMap<String, Vec<u8>> = HashMap::new();
        let mut files: HashMap<String, Digest> = HashMap::new();
        let mut links: HashMap<String, String> = HashMap::new();
        let mut long_name: Option<Vec<u8>> = None;
        let entries = ar
            .entries()
            .map_err(|e| archive_err(e.to_string()))?
            .raw(true);
        for item in entries {
            let mut e = item.map_err(|e| archive_err(e.to_string()))?;
            let et = e.header().entry_type();
            if et.is_gnu_longname()
                || et.is_pax_local_extensions()
                || et.is_pax_global_extensions()
                || et.is_gnu_longlink()
            {
                let meta =
                    read_bounded(&mut e, MAX_ARCHIVE_META, "archive metadata", "tar header")?;
                if et.is_gnu_longname() {
                    long_name = Some(meta.into_iter().take_while(|&b| b != 0).collect());
                } else if et.is_pax_local_extensions() {
                    for rec in tar::PaxExtensions::new(&meta).flatten() {
                        if rec.key() == Ok("path") {
                            long_name = Some(rec.value_bytes().to_vec());
                        }
                    }
                }
                continue;
            }
            let raw = long_name
                .take()
                .unwrap_or_else(|| e.path_bytes().into_owned());
            let Some(name) = member_name(&raw) else {
                return Err(archive_err(format!(
                    "member {:?} escapes the archive",
                    String::from_utf8_lossy(&raw)
                )));
            };
            if et == tar::EntryType::Symlink {
                if let Some(t) = e.link_name_bytes() {
                    let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                    if let Some(target) =
                        member_name(format!("{dir}/{}", String::from_utf8_lossy(&t)).as_bytes())
                    {
                        links.insert(name, target);
                    }
                }
                continue;
            }
            if !et.is_file() {
                continue;
            }
            let size = e.size();
            if let Some(rest) = name.strip_prefix("blobs/") {
                let d = Digest::parse(&rest.replacen('/', ":", 1))?;
                self.write_blob(&d, size, &mut e)?;
                files.insert(name, d);
            } else if name.ends_with("layer.tar") || name.ends_with(".tar") {
                let info = self.write_unknown_blob(&mut e)?;
                files.insert(name, info.digest);
            } else if !name.contains('/') || name.ends_with(".json") || name.ends_with("/json") {
                if docs.len() > 10_000 {
                    return Err(archive_err("too many metadata files"));
                }
                let data = read_bounded(&mut e, MAX_DOCUMENT_SIZE, "archive member", &name)?;
                docs.insert(name, data);
            }
        }
        let resolve = |n: &str| -> Option<String> {
            let mut n = n.to_owned();
            for _ in 0..16 {
                match links.get(&n) {
                    Some(t) => n = t.clone(),
                    None => return Some(n),
                }
            }
            None
        };
        if let Some(index) = docs.get("index.json") {
            return self.load_oci(index, opts);
        }
        let Some(manifest) = docs.get("manifest.json") else {
            return Err(archive_err(
                "neither index.json (OCI archive) nor manifest.json (docker save) found",
            ));
        };
        let entries: Vec<DockerManifestEntry> = serde_json::from_slice(manifest)
            .map_err(|e| archive_err(format!("manifest.json: {e}")))?;
        let mut out = Vec::new();
        for (i, ent) in entries.iter().enumerate() {
            let cfg_name = resolve(&member_name(ent.config.as_bytes()).unwrap_or_default())
                .unwrap_or_default();
            let cfg_bytes = match (docs.get(&cfg_name), files.get(&cfg_name)) {
                (Some(b), _) => {
                    self.put_blob(b, None)?;
                    b.clone()
                }
                (None, Some(d)) => self.read_document(d, "image config")?,
                _ => {
                    return Err(archive_err(format!(
                        "manifest.json[{i}].Config {:?} is not in the archive",
                        ent.config
                    )))
                }
            };
            let cfg_digest = Digest::sha256_of(&cfg_bytes);
            let mut layers = Vec::new();
            for (j, l) in ent.layers.iter().enumerate() {
                let n = resolve(&member_name(l.as_bytes()).unwrap_or_default()).unwrap_or_default();
                let d = files.get(&n).ok_or_else(|| {
                    archive_err(format!(
                        "manifest.json[{i}].Layers[{j}] {l:?} is not in the archive"
                    ))
                })?;
                let size = std::fs::metadata(self.blob_path(d))
                    .map_err(|e| ImageError::io("stat", self.blob_path(d), e))?
                    .len();
                let mut head = [0u8; 4];
                let k = self.open_blob(d)?.read(&mut head).unwrap_or(0);
                let media = match crate::unpack::from_magic(&head[..k]) {
                    crate::unpack::Compression::Gzip => mt::DOCKER_LAYER_GZIP,
                    crate::unpack::Compression::Zstd => mt::OCI_LAYER_ZSTD,
                    crate::unpack::Compression::None => mt::DOCKER_LAYER_TAR,
                };
                layers.push(
                    serde_json::json!({"mediaType": media, "size": size, "digest": d.to_string()}),
                );
            }
            let manifest = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": mt::DOCKER_MANIFEST,
                "config": {"mediaType": mt::DOCKER_CONFIG, "size": cfg_bytes.len(), "digest": cfg_digest.to_string()},
                "layers": layers,
            });
            let bytes = serde_json::to_vec(&manifest).map_err(|e| archive_err(e.to_string()))?;
            let md = self.put_blob(&bytes, None)?.digest;
            let tags = ent
                .repo_tags
                .clone()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| vec![cfg_digest.to_string()]);
            for t in tags {
                out.push(self.register_image(&t, &md, &opts.platform)?);
            }
        }
        Ok(out)
    }

    fn load_oci(&self, index: &[u8], opts: &ImportOptions) -> Result<Vec<ImageRecord>> {
        let Document::Index(idx) = parse_document(index, None, "index.json")? else {
            return Err(archive_err("index.json is not an index"));
        };
        let mut out = Vec::new();
        for d in idx.manifests() {
            let ann = d.annotations().clone().unwrap_or_default();
            let Some(name) = ann.get(CONTAINERD_NAME).or_else(|| ann.get(REF_NAME)) else {
                continue;
            };
            if let Some(only) = &opts.refs {
                if !only.contains(name) {
                    continue;
                }
            }
            out.push(self.import_descriptor(|dg| self.open_blob(dg), d, name, &opts.platform)?);
        }
        Ok(out)
    }

    /// Writes the named images as one archive holding both an OCI layout (`oci-layout`,
    /// `index.json`) and a Docker `manifest.json` over the same `blobs/`.
    pub fn save(&self, names: &[&str], out: impl Write) -> Result<()> {
        let mut b = tar::Builder::new(out);
        let mut written = std::collections::HashSet::new();
        let mut index = Vec::new();
        let mut docker = Vec::new();
        for name in names {
            let img = self.image(name)?;
            let man = self.manifest(&img.manifest)?;
            for (d, size) in std::iter::once((img.manifest.clone(), man.size))
                .chain(std::iter::once((man.config.clone(), man.config_size)))
                .chain(man.layers.iter().map(|l| (l.digest.clone(), l.size)))
            {
                if written.insert(d.clone()) {
                    let f = self.open_blob(&d)?;
                    append(&mut b, &blob_rel(&d), size, f)?;
                }
            }
            index.push(serde_json::json!({
                "mediaType": man.media_type, "digest": img.manifest.to_string(), "size": man.size,
                "annotations": {REF_NAME: name, CONTAINERD_NAME: name},
            }));
            docker.push(DockerManifestEntry {
                config: blob_rel(&man.config),
                repo_tags: Some(vec![name.to_string()]),
                layers: man.layers.iter().map(|l| blob_rel(&l.digest)).collect(),
            });
        }
        let index = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": index})).map_err(|e| archive_err(e.to_string()))?;
        let docker = serde_json::to_vec(&docker).map_err(|e| archive_err(e.to_string()))?;
        let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
        append(&mut b, "oci-layout", layout.len() as u64, &layout[..])?;
        append(&mut b, "index.json", index.len() as u64, index.as_slice())?;
        append(
            &mut b,
            "manifest.json",
            docker.len() as u64,
            docker.as_slice(),
        )?;
        b.into_inner()
            .and_then(|mut w| w.flush())
            .map_err(|e| ImageError::io("write", "archive", e))
    }
}

fn append<W: Write>(b: &mut tar::Builder<W>, name: &str, size: u64, data: impl Read) -> Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_path(name)
        .map_err(|e| ImageError::io("tar", name, e))?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, data.take(size))
        .map_err(|e| ImageError::io("write", name, e))?;
    Ok(())
}
