//! Errors of policy loading, key handling and signature verification.

use std::path::PathBuf;

/// Why a policy, key or signature operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A file could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was attempted (`read`, `write`, ...).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The policy document is malformed; `field` is the JSON path of the bad value.
    #[error("policy {origin}: {field}: {reason}")]
    Policy {
        /// Where the policy came from (a file path or `built-in default`).
        origin: String,
        /// JSON path of the offending value, e.g. `transports.docker."quay.io"[0].keyPath`.
        field: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A key, certificate or passphrase could not be used.
    #[error("{what}: {reason}")]
    Key {
        /// The key (file path or field).
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A signature payload is malformed.
    #[error("signature payload: {0}")]
    Payload(String),
}

impl TrustError {
    /// Shorthand for [`TrustError::Io`].
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> TrustError {
        TrustError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`TrustError::Key`].
    pub fn key(what: impl Into<String>, reason: impl Into<String>) -> TrustError {
        TrustError::Key {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
