//! OCI content primitives shared by the image store and the registry client: validated content
//! digests ([`Digest`]), streaming digest computation ([`Verifier`], [`DigestingReader`]) and
//! platforms ([`Platform`]), and the container-id rule ([`container_id`]).
//!
//! A [`Digest`] is validated before it can exist (containers/image CVE-2024-3727): only
//! `sha256`/`sha512`, exactly the algorithm's hex length, lowercase hex only — so its hex part is
//! always safe as a single path component.

#![forbid(unsafe_code)]

pub mod container_id;
pub mod digest;
pub mod platform;

pub use digest::{to_hex, Algorithm, Digest, DigestError, DigestingReader, Verifier};
pub use platform::{Platform, PlatformError};
