//! Container ids: the one rule for the runtime's state directories and the engine's container store. It is runc's
//! (`^[\w+\-.]+$`, and the id must be its own clean path component: not `.` or `..`), bounded at 255 bytes, as the
//! id names a directory and a directory entry cannot be longer (runc has no bound of its own; its mkdir fails
//! there).

/// Longest accepted id, in bytes.
pub const MAX_LEN: usize = 255;

/// Why an id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is empty.
    #[error("it is empty")]
    Empty,
    /// The id is longer than [`MAX_LEN`].
    #[error("it is longer than 255 bytes")]
    TooLong,
    /// The id is `.` or `..`.
    #[error("it is a relative path component")]
    Relative,
    /// The id contains `/`.
    #[error("it contains '/'")]
    Slash,
    /// The id has a byte outside `[A-Za-z0-9_+\-.]`.
    #[error("only letters, digits and _ + - . are allowed")]
    Alphabet,
}

impl IdError {
    /// The reason as a static string (for error types that keep one).
    pub fn reason(self) -> &'static str {
        match self {
            IdError::Empty => "it is empty",
            IdError::TooLong => "it is longer than 255 bytes",
            IdError::Relative => "it is a relative path component",
            IdError::Slash => "it contains '/'",
            IdError::Alphabet => "only letters, digits and _ + - . are allowed",
        }
    }
}

/// Checks `id` against runc's rule (see the module docs).
pub fn validate(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > MAX_LEN {
        return Err(IdError::TooLong);
    }
    if id == "." || id == ".." {
        return Err(IdError::Relative);
    }
    if id.contains('/') {
        return Err(IdError::Slash);
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'))
    {
        return Err(IdError::Alphabet);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_runc_accepts() {
        for id in [
            "a",
            "abc-123",
            "x.y_z+1",
            "0123456789abcdef",
            "-lead",
            ".hidden",
            &"a".repeat(255),
        ] {
            assert_eq!(validate(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn refuses_paths_and_oddities() {
        for (id, why) in [
            ("", IdError::Empty),
            (".", IdError::Relative),
            ("..", IdError::Relative),
            ("a/b", IdError::Slash),
            ("../x", IdError::Slash),
            ("a b", IdError::Alphabet),
            ("a\0b", IdError::Alphabet),
            ("é", IdError::Alphabet),
            ("ä", IdError::Alphabet),
            (&"a".repeat(256), IdError::TooLong),
        ] {
            assert_eq!(validate(id), Err(why), "{id:?}");
        }
    }

    #[test]
    fn reasons_match_the_messages() {
        for e in [
            IdError::Empty,
            IdError::TooLong,
            IdError::Relative,
            IdError::Slash,
            IdError::Alphabet,
        ] {
            assert_eq!(e.reason(), e.to_string());
        }
    }
}
