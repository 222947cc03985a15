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

pub mod attachments;
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

pub use attachments::{
    fetch_signatures, push_signature, signature_tag, AttachedSignature, Signatures,
};
pub use auth::{AuthFiles, Credentials};
pub use config::{RegistryConfig, Timeouts};
pub use digest::{Algorithm, Digest, DigestError};
pub use error::{Phase, RegistryError};
pub use manifest::{ImageIndex, ImageManifest, IndexEntry, Manifest};
pub use platform::Platform;
pub use progress::ProgressMode;
pub use pull::{pull, pull_verified, PullOptions, PulledImage, Refused, SignatureCheck};
pub use push::{push, PushOptions, PushedImage};
pub use reference::{Reference, ReferenceError};
pub use retry::RetryPolicy;
pub use sink::{BlobSink, BlobSource, Descriptor, DirSink, PartialBlob, SinkError};

/// Result type of this crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// Runs `fut` to completion on a private single-threaded runtime and returns only once every thread that
/// runtime started has exited: the runtime is shut down (its blocking pool, e.g. a DNS lookup, is waited for),
/// then this waits — bounded — until the process has no more threads than before, because a pool thread that has
/// signalled its exit can still be alive for a moment. A caller may clone right after this returns.
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output> {
    let before = thread_count();
    let rt = runtime()?;
    let out = rt.block_on(fut);
    rt.shutdown_timeout(std::time::Duration::from_secs(30));
    if let Some(before) = before {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while thread_count().is_some_and(|n| n > before) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    Ok(out)
}

/// Threads of this process (entries of /proc/self/task); `None` if /proc cannot be read.
fn thread_count() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/task").ok()?.count())
}

/// Builds the single-threaded runtime a blocking call runs on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(RegistryError::Runtime)
}
