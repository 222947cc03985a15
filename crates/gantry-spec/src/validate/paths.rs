//! Path rules shared by several fields.

use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use crate::{Problem, SpecError};

/// The path is non-empty, has no NUL byte and is absolute.
pub(super) fn absolute(field: impl Fn() -> String, path: &Path) -> Result<(), SpecError> {
    no_nul(&field, path)?;
    if path.as_os_str().is_empty() {
        return Err(SpecError::invalid(
            field(),
            Problem::Required {
                hint: "give an absolute path",
            },
        ));
    }
    if !path.is_absolute() {
        return Err(SpecError::invalid(
            field(),
            Problem::NotAbsolute {
                found: path.to_path_buf(),
            },
        ));
    }
    Ok(())
}

/// The path has no NUL byte (the kernel would truncate it silently).
pub(super) fn no_nul(field: impl Fn() -> String, path: &Path) -> Result<(), SpecError> {
    if path.as_os_str().as_bytes().contains(&0) {
        return Err(SpecError::invalid(field(), Problem::NulByte));
    }
    Ok(())
}

/// The path has no `..` component.
pub(super) fn no_dotdot(field: impl Fn() -> String, path: &Path) -> Result<(), SpecError> {
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(SpecError::invalid(
            field(),
            Problem::DotDot {
                found: path.to_path_buf(),
            },
        ));
    }
    Ok(())
}

/// A relative path that, read lexically, climbs above its starting directory.
pub(super) fn escapes(path: &Path) -> bool {
    let mut depth: usize = 0;
    for c in path.components() {
        match c {
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            Component::Normal(_) => depth += 1,
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_is_lexical() {
        assert!(escapes(Path::new("../x")));
        assert!(escapes(Path::new("a/../../x")));
        assert!(!escapes(Path::new("a/../x")));
        assert!(!escapes(Path::new("./rootfs")));
        assert!(!escapes(Path::new("rootfs")));
    }
}
