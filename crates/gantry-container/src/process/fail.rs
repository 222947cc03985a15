//! Errors inside the container's init: an OS error plus the step that failed, sent to the parent verbatim.

use std::io;

/// A failed setup step in the container's init.
#[derive(Debug)]
pub struct StepError {
    /// What was being done, naming the config field or path.
    pub context: String,
    /// The OS error.
    pub source: io::Error,
}

/// Result of a setup step.
pub type StepResult<T = ()> = Result<T, StepError>;

/// Attaches step context to OS errors.
pub trait Context<T> {
    /// Wraps the error with the context `f()` returns (built only on failure).
    fn ctx<F: FnOnce() -> String>(self, f: F) -> StepResult<T>;
}

impl<T, E: Into<io::Error>> Context<T> for Result<T, E> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> StepResult<T> {
        self.map_err(|e| StepError {
            context: f(),
            source: e.into(),
        })
    }
}

/// A step error with a plain message (no OS error behind it; reported as EINVAL).
pub fn invalid(context: String) -> StepError {
    StepError {
        context,
        source: io::Error::from_raw_os_error(libc::EINVAL),
    }
}
