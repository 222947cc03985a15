//! Container ids: they become directory names under the state root, so they are checked strictly.

use crate::error::{Error, Result};

/// Longest accepted id (runc has no limit; a directory entry cannot exceed 255 bytes).
pub const MAX_ID_LEN: usize = 1024;

/// Checks that `id` is a single, safe path component: non-empty, at most [`MAX_ID_LEN`] bytes, made of
/// `[A-Za-z0-9_+\-.]`, and not `.` or `..` (the same alphabet runc accepts).
pub fn validate(id: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidId {
            id: id.to_owned(),
            reason,
        })
    };
    if id.is_empty() {
        return bad("it is empty");
    }
    if id.len() > MAX_ID_LEN.min(255) {
        return bad("it is longer than 255 bytes");
    }
    if id == "." || id == ".." {
        return bad("it is a relative path component");
    }
    if id.contains('/') {
        return bad("it contains '/'");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'))
    {
        return bad("only letters, digits and _ + - . are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_ordinary_ids() {
        for id in ["a", "abc-123", "x.y_z+1", &"a".repeat(255)] {
            assert!(validate(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn refuses_paths_and_oddities() {
        for id in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "a b",
            "a\0b",
            &"a".repeat(256),
            "é",
        ] {
            assert!(validate(id).is_err(), "{id:?}");
        }
    }
}
