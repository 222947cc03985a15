//! Content digests (`algorithm:hex`) and the streaming verifier, shared with the image store
//! through [`gantry_oci`]: this module re-exports them under their historical paths.

pub use gantry_oci::digest::{to_hex, Algorithm, Digest, DigestError, DigestingReader, Verifier};
