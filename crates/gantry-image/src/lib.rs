//! Content-addressed image store, manifests, and safe layer unpacking.
//!
//! - [`Store`]: blobs under `blobs/<alg>/<hex>` (verified on the way in, resumable ingest),
//!   metadata in a transactional `redb` database, snapshots keyed by chain ID, `gc`.
//! - [`manifest`]: bounded parsing of OCI / Docker manifests and indexes, platform selection.
//! - [`unpack`]: the hostile-input layer unpacker (no symlink is ever followed out).
//! - [`snapshot`]: chain IDs, per-layer snapshots, overlay mount options, flat fallback.
//! - [`layout`] / [`archive`]: OCI layout import, `load`/`save` of OCI and docker archives.
//! - [`bundle`]: image config + user overrides → OCI runtime `process` pieces.
//!
//! A pull, as a registry client drives it:
//!
//! ```no_run
//! # fn fetch(_: &str) -> Vec<u8> { Vec::new() }
//! use gantry_image::{manifest::{self, Document}, BlobSink, Digest, Platform, Store};
//! use std::io::Write;
//! # fn main() -> gantry_image::Result<()> {
//! let store = Store::open(gantry_image::store::DEFAULT_ROOT)?;
//! let top = Digest::parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")?;
//! let body = manifest::read_document(fetch("manifest").as_slice(), "manifest")?; // 4 MiB cap
//! let doc = store.put_manifest(&body, &top, Some(manifest::media_types::OCI_INDEX))?;
//! if let Document::Index(idx) = &doc {
//!     let _chosen = manifest::select_platform(idx, &Platform::host(), &top.to_string())?;
//!     // fetch + put_manifest the chosen manifest the same way ...
//! }
//! // for the config and each layer descriptor (digest, size):
//! let (digest, size) = (top.clone(), 0u64);
//! let mut w = store.begin_blob(&digest, size)?;      // resumes: request bytes from w.offset()
//! if !w.is_present() {
//!     w.write_all(&fetch("blob")).map_err(|e| gantry_image::ImageError::io("write", "blob", e))?;
//!     w.commit()?;                                     // size + digest verified, atomic rename
//! }
//! store.register_image("registry.example/app:1", &top, &Platform::host())?;
//! // engine: snapshots + overlay rootfs, and the runtime process from the image config
//! let rootfs = store.create_container("c1", "registry.example/app:1", &Default::default())?;
//! let _mount_data = rootfs.overlay_options()?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod archive;
mod beneath;
pub mod bundle;
pub mod config;
pub mod container;
pub mod digest;
pub mod error;
pub mod layout;
pub mod manifest;
pub mod passwd;
pub mod platform;
pub mod snapshot;
pub mod store;
pub mod unpack;

pub use container::{overlay_options, ContainerRootfs};
pub use digest::Digest;
pub use error::{ImageError, Result};
pub use platform::Platform;
pub use snapshot::chain_ids;
pub use store::{
    BlobInfo, BlobSink, BlobWriter, FsckOptions, FsckReport, GcReport, ImageRecord, Store,
    StoreOptions,
};
pub use unpack::{UnpackLimits, UnpackOptions, WhiteoutMode};
