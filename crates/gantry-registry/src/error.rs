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
    /// A network failure in a named phase (DNS, connect, TLS, read), dropped connections and
    /// stalls (the idle deadline) included.
    #[error("{phase} failed for {registry} ({url}): {message} — {}", phase.hint(.url))]
    Network {
        /// Which phase failed.
        phase: Phase,
        /// Registry host.
        registry: String,
        /// The request URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// The whole operation ran past its total deadline.
    #[error("{what} ({registry}) did not finish within the total deadline of {secs} s — raise `total` under [timeouts] in /etc/gantry/registries.toml or pass --timeout")]
    Deadline {
        /// Registry host.
        registry: String,
        /// What was running (`pull docker.io/library/busybox:latest`).
        what: String,
        /// The deadline in seconds.
        secs: u64,
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
    #[error("storing blob {digest} of {registry}/{repository}: {cause}")]
    Sink {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// The blob.
        digest: Digest,
        /// The store's error (in the message, not a separate source, so it prints once).
        cause: Box<SinkError>,
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

/// The phase of a network exchange that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Resolving the registry's name.
    Dns,
    /// Opening the TCP connection (refused, unreachable, or past the connect deadline).
    Connect,
    /// The TLS handshake (certificate, protocol).
    Tls,
    /// Reading the response: the connection dropped mid-transfer.
    Read,
    /// Reading the response: nothing arrived within the idle deadline.
    Idle,
}

impl Phase {
    /// What to do about a failure in this phase.
    fn hint(self, url: &str) -> &'static str {
        match self {
            Phase::Dns => "check the registry's name and this machine's DNS configuration",
            Phase::Connect if url.starts_with("https://") => INSECURE_HINT,
            Phase::Connect => "check the address and that the registry is running",
            Phase::Tls => "check the registry's certificate; if it serves plain HTTP, list it under `insecure` in /etc/gantry/registries.toml",
            Phase::Read => "the registry dropped the connection mid-transfer; the pull resumes where it stopped when run again",
            Phase::Idle => "the registry stopped sending; retry later, or raise `idle` under [timeouts] in /etc/gantry/registries.toml (--idle-timeout)",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Dns => "DNS lookup",
            Phase::Connect => "connect",
            Phase::Tls => "TLS handshake",
            Phase::Read => "read",
            Phase::Idle => "read (idle deadline)",
        })
    }
}

impl RegistryError {
    /// True for errors worth retrying: connection failures, dropped transfers, 5xx and 429.
    /// A stall is not retried: it already cost the whole idle deadline.
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Transport { .. } => true,
            RegistryError::Network { phase, .. } => !matches!(phase, Phase::Idle | Phase::Tls),
            RegistryError::Http { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}
