//! Validated content digests and streaming hashers, shared with the registry client through
//! [`gantry_oci`]: this module re-exports them under their historical paths.
//!
//! A digest is validated before it is ever used to build a path (containers/image
//! CVE-2024-3727): only the two registered algorithms, the exact hex length, lowercase hex only.

pub use gantry_oci::digest::{to_hex, Algorithm, Digest, DigestError, DigestingReader, Verifier};

/// The incremental hasher: the same type as [`Verifier`] (`new`/`update`/`len`/`finish`).
pub use gantry_oci::digest::Verifier as Hasher;

use crate::error::Result;

/// Validates a digest taken from an `oci-spec` document, as an [`ImageError::InvalidDigest`]
/// on failure.
///
/// [`ImageError::InvalidDigest`]: crate::error::ImageError::InvalidDigest
pub fn from_oci(d: &oci_spec::image::Digest) -> Result<Digest> {
    Ok(Digest::parse(d.as_ref())?)
}
