//! The one error type of this crate: every variant names the file or JSON field and says what to do.

use std::path::PathBuf;

use crate::problem::Problem;

/// Why a bundle or its `config.json` was refused.
///
/// Each message is a single line; field paths use JSON names (`linux.uidMappings[0].size`).
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The bundle directory itself cannot be used.
    #[error("bundle {path}: {reason}: pass the directory that holds config.json with --bundle")]
    BundleDir {
        /// The bundle directory as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `<bundle>/config.json` does not exist.
    #[error("{path}: no such file: a bundle needs a config.json (create one with `gantry-runtime spec`)")]
    ConfigMissing {
        /// Where config.json was looked for.
        path: PathBuf,
    },
    /// `config.json` exists but could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `config.json` is larger than any sane configuration.
    #[error("{path}: {size} bytes is over the {limit}-byte limit for config.json: is this the right file?")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (at least).
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The bytes are not JSON at all.
    #[error("config.json:{line}:{column}: not valid JSON: {message}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// The document is JSON but its top-level value is not an object.
    #[error("config.json: the top-level value is {found}, but must be a JSON object {{\"ociVersion\": ...}}")]
    NotObject {
        /// What was found instead (e.g. "an array").
        found: &'static str,
    },
    /// A field has the wrong JSON type, an unknown enum value or is missing.
    #[error("{field}: {message} (config.json:{line}:{column})")]
    Schema {
        /// JSON path of the field.
        field: String,
        /// serde's description (what was expected).
        message: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The document parsed but breaks a rule of the runtime spec or of this runtime.
    #[error("{field}: {problem}")]
    Invalid {
        /// JSON path of the offending field.
        field: String,
        /// What is wrong and what to do.
        problem: Problem,
    },
}

impl SpecError {
    /// Shorthand for [`SpecError::Invalid`].
    pub fn invalid(field: impl Into<String>, problem: Problem) -> Self {
        SpecError::Invalid {
            field: field.into(),
            problem,
        }
    }

    /// The JSON field path this error is about, when it is about one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            SpecError::Schema { field, .. } | SpecError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}
