//! The crate's error type. Every variant names the registry and repository (or the file) involved and
//! says what to do about it.

use std::path::PathBuf;

use crate::digest::Digest;
use crate::platform::PlatformError;
use crate::reference::ReferenceError;
use crate::sink::SinkError;

/// Hint appended to connection errors.
const INSECURE_HINT: &str =
    "check the address; if the registry serves plain HTTP, list it under `insecure` in \
                             /etc/gantry/registries.toml";

/// Errors of registry operations.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The image reference is malformed.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// The `--platform` value is malformed.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// The registry configuration file is unreadable or invalid.
    #[error("registry config {path}: {reason} (fix or remove the file)")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An auth file is unreadable or invalid.
    #[error("auth file {path}: {reason} (fix the entry or log in again)")]
    AuthFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// 401: no or wrong credentials.
    #[error(
        "401 from {registry} for {repository}: {}",
        if *.had_credentials { "credentials were rejected — fix them in ~/.docker/config.json or $REGISTRY_AUTH_FILE" }
        else { "no credentials — add them to ~/.docker/config.json or $REGISTRY_AUTH_FILE" }
    )]
    Unauthorized {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// Whether credentials were sent.
        had_credentials: bool,
    },
    /// 403: authenticated but not allowed.
    #[error("403 from {registry} for {repository} ({url}): access denied — check the account's permissions on this repository")]
    Denied {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// The request URL.
        url: String,
    },
    /// The tag or manifest digest does not exist.
    #[error(
        "{registry}/{repository}:{reference} not found (404) — check the repository name and tag"
    )]
    ManifestNotFound {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// Tag or digest asked for.
        reference: String,
    },
    /// A blob the manifest names is missing.
    #[error("blob {digest} of {registry}/{repository} not found (404) — the image is incomplete on the registry; re-push it")]
    BlobNotFound {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// The blob.
        digest: Digest,
    },
    /// Any other unexpected HTTP status.
    #[error("HTTP {status} from {registry} for {repository} ({url}): {message}{}",
        if *.status >= 500 || *.status == 429 { " — the registry is failing or throttling; retry later" } else { "" })]
    Http {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// The request URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Body or error text from the registry.
        message: String,
    },
    /// Connection, TLS or transfer failure.
    #[error("cannot reach {registry} ({url}): {message} — {}",
        if .url.starts_with("https://") { INSECURE_HINT } else { "check the address and that the registry is running" })]
    Transport {
        /// Registry host.
        registry: String,
        /// The request URL.
        url: String,
        /// The underlying error.
        message: String,
    },
    /// A manifest exceeds the size limit.
    #[error(
        "manifest {reference} of {registry}/{repository} is larger than {limit} bytes; refusing it"
    )]
    ManifestTooLarge {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// Tag or digest.
        reference: String,
        /// The limit.
        limit: u64,
    },
    /// A manifest cannot be parsed or breaks the spec.
    #[error("manifest {reference} of {registry}/{repository} is invalid: {reason}")]
    ManifestInvalid {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// Tag or digest.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// No index entry matches the wanted platform.
    #[error("{registry}/{repository}:{reference} has no image for {wanted} (it has: {available}) — pick one with --platform")]
    NoMatchingPlatform {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// Tag or digest.
        reference: String,
        /// The platform asked for.
        wanted: String,
        /// The platforms listed.
        available: String,
    },
    /// Content does not hash to its digest.
    #[error("{registry}/{repository}: content of {expected} hashes to {actual} — corrupted in transit or a misbehaving registry; nothing was stored")]
    DigestMismatch {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// Digest promised.
        expected: Digest,
        /// Digest of what arrived.
        actual: Digest,
    },
    /// Content has the wrong size.
    #[error("{registry}/{repository}: blob {digest} is {actual} bytes, the manifest says {expected}; nothing was stored")]
    SizeMismatch {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// The blob.
        digest: Digest,
        /// Size promised.
        expected: u64,
        /// Bytes received (or more, when cut off early).
        actual: u64,
    },
    /// The local blob store failed.
    #[error("storing blob {digest} of {registry}/{repository}: {source}")]
    Sink {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// The blob.
        digest: Digest,
        /// The store's error.
        source: Box<SinkError>,
    },
    /// The registry broke the distribution protocol.
    #[error("{registry} ({url}) broke the distribution protocol: {reason}")]
    Protocol {
        /// Registry host.
        registry: String,
        /// The request URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The async runtime could not be created.
    #[error("cannot start the registry client's runtime: {0}")]
    Runtime(std::io::Error),
}

impl RegistryError {
    /// True for errors worth retrying: connection failures, 5xx and 429.
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Transport { .. } => true,
            RegistryError::Http { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}
