//! The error type of this crate: every variant names what failed and on which digest, path or field.

use std::path::PathBuf;

/// Everything that can go wrong in the image store, manifest parsing, unpacking or bundle building.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A digest string is malformed (bad algorithm, wrong length, non-lowercase-hex).
    #[error("invalid digest {digest:?}: {reason}")]
    InvalidDigest {
        /// The offending string.
        digest: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Content did not hash to the digest it was announced with.
    #[error("digest mismatch for {expected}: content hashes to {actual}")]
    DigestMismatch {
        /// The digest the content was supposed to have.
        expected: String,
        /// The digest it actually has.
        actual: String,
    },
    /// Content length differs from the descriptor's size.
    #[error("size mismatch for {digest}: descriptor says {expected} bytes, got {actual}")]
    SizeMismatch {
        /// Digest of the blob.
        digest: String,
        /// Size from the descriptor.
        expected: u64,
        /// Size actually seen (so far).
        actual: u64,
    },
    /// A document (manifest, index, config, layout file) is larger than allowed.
    #[error("{what} {digest} is larger than the {limit}-byte limit; refusing to read it")]
    TooLarge {
        /// Which kind of document.
        what: &'static str,
        /// Its digest or name.
        digest: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A JSON document could not be parsed or lacks a required field.
    #[error("invalid {what} {digest}: {reason}")]
    InvalidDocument {
        /// Which kind of document.
        what: &'static str,
        /// Its digest or name.
        digest: String,
        /// The parse error or the missing/bad field.
        reason: String,
    },
    /// A media type is not acceptable where it was found.
    #[error("unsupported media type {media_type:?} for {digest} (expected {expected})")]
    MediaType {
        /// The media type found.
        media_type: String,
        /// The descriptor's digest.
        digest: String,
        /// What was acceptable there.
        expected: &'static str,
    },
    /// No manifest of an index matches the requested platform.
    #[error("no manifest in {digest} for platform {platform}; available: {available}")]
    NoPlatform {
        /// The index digest.
        digest: String,
        /// The requested platform.
        platform: String,
        /// The platforms present.
        available: String,
    },
    /// An image name is unknown to the store.
    #[error("image {0:?} is not in the store (pull, import or load it first)")]
    UnknownImage(String),
    /// A blob is not in the store.
    #[error("blob {0} is not in the store")]
    MissingBlob(String),
    /// A layer entry was refused by the unpacker.
    #[error("layer {layer}: entry {path:?}: {reason}")]
    UnsafeEntry {
        /// The layer digest.
        layer: String,
        /// The entry path as written in the archive.
        path: String,
        /// Why it was refused.
        reason: String,
    },
    /// An unpack limit was exceeded (decompression bomb protection).
    #[error("layer {layer}: entry {path:?}: {limit} limit of {max} exceeded; raise it in UnpackLimits if the image is trusted")]
    LimitExceeded {
        /// The layer digest.
        layer: String,
        /// The entry being processed.
        path: String,
        /// Which limit (`total unpacked size`, `entry size`, `entry count`).
        limit: &'static str,
        /// The configured maximum.
        max: u64,
    },
    /// Another process is writing the same blob right now.
    #[error("blob {0} is being written by another process; retry later")]
    IngestBusy(String),
    /// A user or group named in the image config or overrides could not be resolved.
    #[error("cannot resolve user {user:?}: {reason}")]
    User {
        /// The user spec (`name`, `uid:gid`, ...).
        user: String,
        /// What went wrong.
        reason: String,
    },
    /// A runtime configuration could not be built (e.g. no command).
    #[error("invalid run configuration: {field}: {reason}")]
    RunConfig {
        /// The field (`process.args`, `process.cwd`, ...).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A filesystem operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation (`open`, `rename`, ...).
        op: &'static str,
        /// The path operated on.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The filesystem holding the store is full (ENOSPC or a quota).
    #[error("no space left on {path}: {} (free space, e.g. with `gantry rmi` + `gantry gc`, or use another --root)",
        match .needed { Some(n) => format!("{n} bytes needed"), None => "more space needed".to_owned() })]
    NoSpace {
        /// The file or directory being written.
        path: PathBuf,
        /// Bytes the operation still needed, when known.
        needed: Option<u64>,
    },
    /// The confined unpacker refused or failed a layer; its own message, naming layer and entry.
    #[error("{0}")]
    Unpacker(String),
    /// The metadata database failed.
    #[error("metadata database {path}: {reason}")]
    Db {
        /// The database file.
        path: PathBuf,
        /// The redb error, as text.
        reason: String,
    },
}

impl ImageError {
    /// Wraps an I/O error with the operation and path.
    /// A full filesystem (ENOSPC, EDQUOT) becomes [`ImageError::NoSpace`].
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        if is_no_space(&source) {
            return ImageError::NoSpace {
                path: path.into(),
                needed: None,
            };
        }
        ImageError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Wraps a rustix errno with the operation and path.
    pub fn errno(op: &'static str, path: impl Into<PathBuf>, e: rustix::io::Errno) -> Self {
        ImageError::io(op, path, std::io::Error::from(e))
    }
}

/// True for the errors of a full filesystem or an exhausted quota.
pub fn is_no_space(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(c) if c == rustix::io::Errno::NOSPC.raw_os_error() || c == rustix::io::Errno::DQUOT.raw_os_error()
    )
}

impl ImageError {
    /// True when the error comes from a full filesystem, also when a layer refusal only carries
    /// the OS error as text (the unpacker's messages do).
    pub fn is_no_space(&self) -> bool {
        match self {
            ImageError::NoSpace { .. } => true,
            ImageError::Io { source, .. } => is_no_space(source),
            other => {
                let t = other.to_string();
                t.contains("(os error 28)") || t.contains("(os error 122)")
            }
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ImageError> = std::result::Result<T, E>;

impl From<gantry_oci::DigestError> for ImageError {
    fn from(e: gantry_oci::DigestError) -> ImageError {
        ImageError::InvalidDigest {
            digest: e.input().chars().take(200).collect(),
            reason: e.reason(),
        }
    }
}
