//! OCI Distribution client: references, auth, pull and push with retries.
//!
//! This is Gantry's only async crate. Its public API is **blocking**: [`pull()`] and [`push()`] each
//! create a single-threaded tokio runtime, run the transfer on it and drop it (joining its blocking
//! pool) before returning, so no thread of this crate outlives the call. The engine may therefore
//! clone containers after a pull without another thread being alive — as long as it does not call
//! into this crate concurrently with a clone.
//!
//! The image store plugs in through [`BlobSink`] (where pulled blobs go) and [`BlobSource`] (what a
//! push reads); [`DirSink`] is a directory-backed reference implementation.
#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
pub mod digest;
pub mod error;
pub mod manifest;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod push;
pub mod reference;
pub mod retry;
mod session;
pub mod sink;

pub use auth::{AuthFiles, Credentials};
pub use config::RegistryConfig;
pub use digest::{Algorithm, Digest, DigestError};
pub use error::RegistryError;
pub use manifest::{ImageIndex, ImageManifest, IndexEntry, Manifest};
pub use platform::Platform;
pub use progress::ProgressMode;
pub use pull::{pull, PullOptions, PulledImage};
pub use push::{push, PushOptions, PushedImage};
pub use reference::{Reference, ReferenceError};
pub use retry::RetryPolicy;
pub use sink::{BlobSink, BlobSource, Descriptor, DirSink, PartialBlob, SinkError};

/// Result type of this crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// Builds the single-threaded runtime a blocking call runs on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(RegistryError::Runtime)
}
