//! Content-addressed image store, manifests, and safe layer unpacking.
//!
//! - [`Store`]: blobs under `blobs/<alg>/<hex>` (verified on the way in, resumable ingest),
//!   metadata in a transactional `redb` database, snapshots keyed by chain ID, `gc`.
//! - [`manifest`]: bounded parsing of OCI / Docker manifests and indexes, platform selection.
//! - [`unpack`]: the hostile-input layer unpacker (no symlink is ever followed out).
//! - [`snapshot`]: chain IDs, per-layer snapshots, overlay mount options, flat fallback.
//! - [`bundle`]: image config + user overrides → OCI runtime `process` pieces.
#![forbid(unsafe_code)]

pub mod archive;
mod beneath;
pub mod bundle;
pub mod digest;
pub mod error;
pub mod layout;
pub mod manifest;
pub mod passwd;
pub mod platform;
pub mod unpack;

pub use digest::Digest;
pub use error::{ImageError, Result};
pub use platform::Platform;
pub mod config;
pub mod snapshot;
pub mod store;

pub use snapshot::{chain_ids, overlay_options, ContainerRootfs};
pub use store::{BlobInfo, BlobSink, BlobWriter, GcReport, ImageRecord, Store, StoreOptions};
pub use unpack::{UnpackLimits, UnpackOptions, WhiteoutMode};
