//! `root`: config.md "Root": REQUIRED on Linux; `root.path` is absolute or relative to the
//! bundle, and "a directory MUST exist at the path declared by the field".
//!
//! Stricter than runc: a relative path that climbs out of the bundle (`../x`) is refused, since
//! a relative root is meant to live in the bundle; use an absolute path to point elsewhere.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Root;

use super::paths;
use crate::{Problem, SpecError};

pub(super) fn check(root: Option<&Root>) -> Result<(), SpecError> {
    let Some(root) = root else {
        return Err(SpecError::invalid(
            "root",
            Problem::Required {
                hint: "add {\"path\": \"rootfs\"} naming the root filesystem directory",
            },
        ));
    };
    let path = root.path();
    if path.as_os_str().is_empty() {
        return Err(SpecError::invalid(
            "root.path",
            Problem::Required {
                hint: "name the root filesystem directory, e.g. \"rootfs\"",
            },
        ));
    }
    paths::no_nul(|| "root.path".into(), path)?;
    if path.is_relative() && paths::escapes(path) {
        return Err(SpecError::invalid(
            "root.path",
            Problem::RootOutsideBundle {
                found: path.to_path_buf(),
            },
        ));
    }
    Ok(())
}

/// Resolves `root.path` against the (absolute) bundle dir and checks it is a directory.
pub(super) fn resolve_rootfs(root: Option<&Root>, bundle_dir: &Path) -> Result<PathBuf, SpecError> {
    let path = root.map(Root::path).ok_or_else(|| {
        SpecError::invalid(
            "root",
            Problem::Required {
                hint: "add {\"path\": \"rootfs\"}",
            },
        )
    })?;
    let rootfs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        bundle_dir.join(path)
    };
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => Ok(rootfs),
        Ok(_) => Err(SpecError::invalid(
            "root.path",
            Problem::RootfsNotDirectory { path: rootfs },
        )),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(SpecError::invalid(
            "root.path",
            Problem::RootfsMissing { path: rootfs },
        )),
        Err(e) => Err(SpecError::invalid(
            "root.path",
            Problem::RootfsUnreadable {
                path: rootfs,
                error: e.to_string(),
            },
        )),
    }
}
