//! Safe, streaming layer unpacking: compressed blob → decompressor → tar → files.
//!
//! The tar stream is read in raw mode so GNU long names and PAX records are size-bounded here
//! (the `tar` crate would buffer them whole). Every entry is created relative to directory
//! fds with `O_NOFOLLOW` on every component ([`fsops`]), so an entry can never land outside
//! the destination, whatever symlinks earlier entries planted.

mod compression;
mod entry;
mod fsops;
pub mod isolated;
mod limits;
mod path;
mod whiteout;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

pub use compression::{decide as decide_compression, from_magic, from_media_type, Compression};
pub use limits::UnpackLimits;

use crate::digest::{Algorithm, Digest, DigestingReader};
use crate::error::{ImageError, Result};
use fsops::Tree;
use limits::Budget;
use path::Component;

/// How whiteouts are represented in the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhiteoutMode {
    /// One directory per layer for overlayfs: `.wh.NAME` becomes a 0:0 character device,
    /// `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr (needs root).
    Overlay,
    /// As `Overlay` for rootless overlayfs mounted with `userxattr` (kernel >= 5.11):
    /// opaque directories get `user.overlay.opaque=y`; 0:0 whiteout devices need no privilege.
    OverlayUserXattr,
    /// Layers applied in order onto one directory: whiteouts delete what lower layers made.
    Flat,
}

impl WhiteoutMode {
    /// `Overlay` when running as root, `OverlayUserXattr` otherwise.
    pub fn overlay_for_this_user() -> WhiteoutMode {
        if rustix::process::geteuid().is_root() {
            WhiteoutMode::Overlay
        } else {
            WhiteoutMode::OverlayUserXattr
        }
    }

    /// Whether this mode makes per-layer overlayfs directories.
    pub fn is_overlay(self) -> bool {
        self != WhiteoutMode::Flat
    }

    /// The xattr marking an opaque directory, for overlay modes.
    pub fn opaque_xattr(self) -> Option<&'static str> {
        match self {
            WhiteoutMode::Overlay => Some("trusted.overlay.opaque"),
            WhiteoutMode::OverlayUserXattr => Some("user.overlay.opaque"),
            WhiteoutMode::Flat => None,
        }
    }
}

/// Options of one unpack.
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// Size and count ceilings.
    pub limits: UnpackLimits,
    /// Whiteout representation.
    pub whiteouts: WhiteoutMode,
    /// Apply the archive's uid/gid (default: when running as root).
    pub preserve_ownership: bool,
    /// Create device nodes (default: when running as root; skipped with a warning otherwise).
    pub create_devices: bool,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        let root = rustix::process::geteuid().is_root();
        UnpackOptions {
            limits: UnpackLimits::default(),
            whiteouts: WhiteoutMode::overlay_for_this_user(),
            preserve_ownership: root,
            create_devices: root,
        }
    }
}

/// The layer being unpacked: what the stream must hash to.
#[derive(Debug, Clone)]
pub struct LayerInfo {
    /// Digest of the (compressed) blob; named in every error.
    pub digest: Digest,
    /// The descriptor's media type (compression is also checked against magic bytes).
    pub media_type: String,
    /// Expected digest of the uncompressed tar (from the config's `rootfs.diff_ids`), if known.
    pub diff_id: Option<Digest>,
}

/// What an unpack did.
#[derive(Debug, Clone, Default)]
pub struct UnpackStats {
    /// Tar entries processed.
    pub entries: u64,
    /// Bytes of file content written.
    pub bytes: u64,
    /// Digest of the uncompressed tar stream (the layer's diffID).
    pub diff_id: Option<Digest>,
    /// Entries neutralised or skipped, with the reason (also logged).
    pub warnings: Vec<String>,
}

/// Unpacks one layer stream into `dest` (an existing directory).
///
/// On error, `dest` may hold part of the layer; the caller discards it (snapshots are
/// unpacked into a temporary directory and renamed into place only on success).
pub fn unpack_layer(
    blob: impl Read,
    layer: &LayerInfo,
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats> {
    let root: OwnedFd = rustix::fs::open(
        dest,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ImageError::errno("open", dest, e))?;
    let name = layer.digest.to_string();
    let mut compressed = DigestingReader::new(blob, layer.digest.algorithm());
    let stats = {
        let mut buffered = BufReader::with_capacity(256 * 1024, &mut compressed);
        let head = buffered
            .fill_buf()
            .map_err(|e| ImageError::io("read", &name, e))?;
        let comp = compression::decide(&layer.media_type, head, &name)?;
        let dec = compression::decoder(comp, buffered, &name)?;
        let mut plain = DigestingReader::new(dec, Algorithm::Sha256);
        let mut u = Unpacker::new(Tree::new(root), name.clone(), opts.clone());
        {
            let mut ar = tar::Archive::new(&mut plain);
            u.run(&mut ar)?;
        }
        u.finish_dirs();
        // Drain trailing padding (bounded: still counted against the total limit).
        let mut sink = [0u8; 64 * 1024];
        loop {
            let n = plain.read(&mut sink).map_err(|e| stream_err(&name, e))?;
            if n == 0 {
                break;
            }
            u.budget.total_bytes += n as u64;
            if u.budget.total_bytes > opts.limits.max_total_bytes {
                return Err(limits::Exceeded::Total(opts.limits.max_total_bytes)
                    .into_error(&name, "<data after the end of the archive>"));
            }
        }
        let (diff_id, _) = plain.finish().map_err(|e| stream_err(&name, e))?;
        if let Some(want) = &layer.diff_id {
            if want != &diff_id {
                return Err(ImageError::DigestMismatch {
                    expected: format!("{want} (diffID of layer {name})"),
                    actual: diff_id.to_string(),
                });
            }
        }
        UnpackStats {
            entries: u.budget.entries,
            bytes: u.bytes,
            diff_id: Some(diff_id),
            warnings: u.warnings,
        }
    };
    let (digest, _) = compressed.finish().map_err(|e| stream_err(&name, e))?;
    if digest != layer.digest {
        return Err(ImageError::DigestMismatch {
            expected: name,
            actual: digest.to_string(),
        });
    }
    Ok(stats)
}

/// The diffID of a layer blob: the digest of its decompressed tar stream.
pub fn layer_diff_id(blob: impl Read, layer: &Digest, media_type: &str) -> Result<Digest> {
    let name = layer.to_string();
    let mut buffered = BufReader::with_capacity(256 * 1024, blob);
    let head = buffered
        .fill_buf()
        .map_err(|e| ImageError::io("read", &name, e))?;
    let comp = compression::decide(media_type, head, &name)?;
    let dec = compression::decoder(comp, buffered, &name)?;
    let mut plain = DigestingReader::new(dec, Algorithm::Sha256);
    std::io::copy(&mut plain, &mut std::io::sink()).map_err(|e| stream_err(&name, e))?;
    let (d, _) = plain.finish().map_err(|e| stream_err(&name, e))?;
    Ok(d)
}

fn stream_err(layer: &str, e: std::io::Error) -> ImageError {
    ImageError::UnsafeEntry {
        layer: layer.to_owned(),
        path: String::new(),
        reason: format!("corrupt layer stream: {e}"),
    }
}

/// Per-entry metadata gathered from the header and PAX records.
#[derive(Clone)]
pub(crate) struct Meta {
    pub(crate) size: u64,
    pub(crate) dev: (u32, u32),
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: i64,
    pub(crate) xattrs: Vec<(String, Vec<u8>)>,
}

/// The state of one layer unpack.
pub(crate) struct Unpacker {
    pub(crate) tree: Tree,
    pub(crate) layer: String,
    pub(crate) opts: UnpackOptions,
    pub(crate) budget: Budget,
    pub(crate) bytes: u64,
    /// Paths (and their ancestors) created by this layer.
    pub(crate) created: HashSet<Vec<Component>>,
    /// Regular files created by this layer: the only valid hard-link targets.
    pub(crate) regular: HashSet<Vec<Component>>,
    /// Directories whose final mode and mtime are set at the end.
    pub(crate) dirs: Vec<(Vec<Component>, u32, i64)>,
    pub(crate) warnings: Vec<String>,
}

impl Unpacker {
    fn new(tree: Tree, layer: String, opts: UnpackOptions) -> Unpacker {
        Unpacker {
            tree,
            layer,
            opts,
            budget: Budget::default(),
            bytes: 0,
            created: HashSet::new(),
            regular: HashSet::new(),
            dirs: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub(crate) fn refuse(&self, path: &[u8], reason: impl Into<String>) -> ImageError {
        refuse_in(&self.layer, path, reason)
    }

    pub(crate) fn warn(&mut self, path: &str, what: String) {
        tracing::warn!(layer = %self.layer, path, "{what}");
        self.warnings.push(format!("{path}: {what}"));
    }

    fn run<R: Read>(&mut self, ar: &mut tar::Archive<R>) -> Result<()> {
        let mut pax: Option<Vec<u8>> = None;
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let entries = ar
            .entries()
            .map_err(|e| stream_err(&self.layer, e))?
            .raw(true);
        for item in entries {
            let mut e = item.map_err(|e| stream_err(&self.layer, e))?;
            let et = e.header().entry_type();
            if et.is_pax_local_extensions()
                || et.is_gnu_longname()
                || et.is_gnu_longlink()
                || et.is_pax_global_extensions()
            {
                let size = e.size();
                if size > self.opts.limits.max_metadata_bytes {
                    return Err(ImageError::LimitExceeded {
                        layer: self.layer.clone(),
                        path: String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                        limit: "metadata record size",
                        max: self.opts.limits.max_metadata_bytes,
                    });
                }
                let mut data = Vec::with_capacity(size as usize);
                e.read_to_end(&mut data)
                    .map_err(|x| stream_err(&self.layer, x))?;
                if et.is_pax_local_extensions() {
                    pax = Some(data);
                } else if et.is_gnu_longname() {
                    long_name = Some(trim_nul(data));
                } else if et.is_gnu_longlink() {
                    long_link = Some(trim_nul(data));
                }
                continue;
            }
            let mut path = long_name
                .take()
                .unwrap_or_else(|| e.path_bytes().into_owned());
            let mut link = long_link
                .take()
                .or_else(|| e.link_name_bytes().map(|l| l.into_owned()));
            let h = e.header();
            let dev = (
                h.device_major().ok().flatten().unwrap_or(0),
                h.device_minor().ok().flatten().unwrap_or(0),
            );
            let mut meta = Meta {
                size: e.size(),
                dev,
                mode: h
                    .mode()
                    .map_err(|x| self.refuse(&path, format!("bad mode: {x}")))?
                    & 0o7777,
                uid: id32(h.uid(), &h.as_old().uid).ok_or_else(|| self.refuse(&path, "bad uid"))?,
                gid: id32(h.gid(), &h.as_old().gid).ok_or_else(|| self.refuse(&path, "bad gid"))?,
                mtime: h.mtime().map(|m| m as i64).unwrap_or(0),
                xattrs: Vec::new(),
            };
            if let Some(p) = pax.take() {
                self.apply_pax(&p, &mut path, &mut link, &mut meta, e.size())?;
            }
            self.entry(&mut e, et, &path, link.as_deref(), meta)?;
        }
        Ok(())
    }

    fn apply_pax(
        &self,
        p: &[u8],
        path: &mut Vec<u8>,
        link: &mut Option<Vec<u8>>,
        meta: &mut Meta,
        size: u64,
    ) -> Result<()> {
        for rec in tar::PaxExtensions::new(p) {
            let rec = rec.map_err(|e| self.refuse(path, format!("malformed PAX record: {e}")))?;
            let Ok(key) = rec.key() else { continue };
            let v = rec.value_bytes();
            let num = || {
                std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.split('.').next()?.parse::<i64>().ok())
            };
            match key {
                "path" => *path = v.to_vec(),
                "linkpath" => *link = Some(v.to_vec()),
                "uid" => {
                    meta.uid = num()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| self.refuse(path, "bad PAX uid"))?
                }
                "gid" => {
                    meta.gid = num()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| self.refuse(path, "bad PAX gid"))?
                }
                "mtime" => meta.mtime = num().unwrap_or(meta.mtime),
                "size" if num() != i64::try_from(size).ok() => {
                    return Err(
                        self.refuse(path, "PAX size differs from the header size (unsupported)")
                    );
                }
                k if k.starts_with("SCHILY.xattr.") => {
                    meta.xattrs
                        .push((k["SCHILY.xattr.".len()..].to_owned(), v.to_vec()));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// An [`ImageError::UnsafeEntry`] for `layer` and `path`.
pub(crate) fn refuse_in(layer: &str, path: &[u8], reason: impl Into<String>) -> ImageError {
    ImageError::UnsafeEntry {
        layer: layer.to_owned(),
        path: String::from_utf8_lossy(path).into_owned(),
        reason: reason.into(),
    }
}

fn trim_nul(mut v: Vec<u8>) -> Vec<u8> {
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

/// A uid/gid header field; an entirely blank field (some writers leave it so) means 0.
fn id32(r: std::io::Result<u64>, raw: &[u8]) -> Option<u32> {
    match r {
        Ok(v) => u32::try_from(v).ok(),
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Some(0),
        Err(_) => None,
    }
}

/// Removes a directory tree without following symlinks (store-internal cleanup).
pub(crate) fn remove_tree(path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let Some(name) = path.file_name() else {
        return Err(ImageError::io(
            "remove",
            path,
            std::io::Error::other("no file name"),
        ));
    };
    let dir = rustix::fs::open(
        parent,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ImageError::errno("open", parent, e))?;
    use std::os::unix::ffi::OsStrExt;
    fsops::remove_all(std::os::fd::AsFd::as_fd(&dir), name.as_bytes(), 4096)
        .map_err(|e| ImageError::errno("remove", path, e))
}
