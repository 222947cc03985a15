//! [`Target`]: where one controller's files are for this cgroup, with writes that name the spec field on error.
//!
//! On cgroup v2 a controller's files appear in a cgroup only once every ancestor enables it in
//! `cgroup.subtree_control`. `Cgroup::create` hands down what the root already delegates; anything else is enabled
//! only on demand: the first write that finds its file missing enables the controller along the whole path, root
//! included (if the root offers it in `cgroup.controllers`), and retries. Containers that set no limits on
//! undelegated controllers never cause a write to the root's `cgroup.subtree_control`.

use crate::cgroup::{Cgroup, Version};
use crate::error::CgroupError;
use crate::fsutil::{self, IntBuf};
use crate::layout::Mode;
use std::io;
use std::path::Path;

/// One controller of one cgroup.
pub(crate) struct Target<'a> {
    /// Whether the controller is driven through v1 or v2 files.
    pub(crate) version: Version,
    /// The container's directory in that hierarchy.
    pub(crate) dir: &'a Path,
    /// The controller's name in that version (`blkio` on v1, `io` on v2).
    pub(crate) controller: &'static str,
    cgroup: &'a Cgroup,
}

impl Cgroup {
    /// Finds the controller called `v1` on cgroup v1 and `v2` on the unified hierarchy; `field` names the spec
    /// field asking for it, for the error when the host has neither.
    pub(crate) fn target(
        &self,
        v1: &'static str,
        v2: &'static str,
        field: &str,
    ) -> Result<Target<'_>, CgroupError> {
        if let Some(dir) = self.v1_dir(v1) {
            return Ok(Target {
                version: Version::V1,
                dir,
                controller: v1,
                cgroup: self,
            });
        }
        if self.mode() != Mode::V1 {
            if let Some(dir) = self.unified_dir() {
                return Ok(Target {
                    version: Version::V2,
                    dir,
                    controller: v2,
                    cgroup: self,
                });
            }
        }
        Err(CgroupError::MissingController {
            field: field.to_owned(),
            controller: v1,
            detail: "no cgroup v1 hierarchy has it and there is no unified hierarchy".into(),
        })
    }
}

impl Target<'_> {
    /// Writes `value` to the controller file `file`.
    pub(crate) fn write(&self, file: &str, value: &[u8], field: &str) -> Result<(), CgroupError> {
        let path = self.dir.join(file);
        match fsutil::write(&path, value) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !(self.version == Version::V2 && self.enable_on_path()?) {
                    return Err(self.missing(field, &path));
                }
            }
            Err(e) => return Err(write_error(field, &path, value, e)),
        }
        match fsutil::write(&path, value) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(self.missing(field, &path)),
            Err(e) => Err(write_error(field, &path, value, e)),
        }
    }

    /// Writes an integer.
    pub(crate) fn write_int(&self, file: &str, value: i64, field: &str) -> Result<(), CgroupError> {
        self.write(file, IntBuf::new(value).as_bytes(), field)
    }

    /// Writes a limit where `-1` means unlimited: `-1` on v1, `max` on v2.
    pub(crate) fn write_limit(
        &self,
        file: &str,
        value: i64,
        field: &str,
    ) -> Result<(), CgroupError> {
        if value == -1 && self.version == Version::V2 {
            self.write(file, b"max", field)
        } else {
            self.write_int(file, value, field)
        }
    }

    /// Reads the controller file `file`; a missing file means the controller is missing.
    pub(crate) fn read(&self, file: &str, field: &str) -> Result<String, CgroupError> {
        let path = self.dir.join(file);
        match fsutil::read(&path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.version == Version::V2 && self.enable_on_path()? {
                    return fsutil::read(&path).map_err(|e| CgroupError::io("read", &path, e));
                }
                Err(self.missing(field, &path))
            }
            Err(e) => Err(CgroupError::io("read", path, e)),
        }
    }

    /// Whether the controller file `file` exists (after enabling the controller on v2).
    pub(crate) fn has(&self, file: &str) -> Result<bool, CgroupError> {
        let path = self.dir.join(file);
        if path.exists() {
            return Ok(true);
        }
        Ok(self.version == Version::V2 && self.enable_on_path()? && path.exists())
    }

    fn missing(&self, field: &str, path: &Path) -> CgroupError {
        CgroupError::MissingController {
            field: field.to_owned(),
            controller: self.controller,
            detail: format!("{} does not exist", path.display()),
        }
    }

    /// Enables the controller in `cgroup.subtree_control` of every ancestor of the container's unified directory.
    /// Returns `false` (touching nothing) when the hierarchy root does not offer the controller at all.
    fn enable_on_path(&self) -> Result<bool, CgroupError> {
        let Some((root, leaf)) = self.cgroup.unified() else {
            return Ok(false);
        };
        let offered = root.join("cgroup.controllers");
        let text = match fsutil::read(&offered) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(CgroupError::io("read", &offered, e)),
        };
        if !text.split_whitespace().any(|c| c == self.controller) {
            return Ok(false);
        }
        let mut enable = Vec::with_capacity(self.controller.len() + 1);
        enable.push(b'+');
        enable.extend_from_slice(self.controller.as_bytes());
        let mut dir = root.to_path_buf();
        let Ok(rel) = leaf.strip_prefix(root) else {
            return Ok(false);
        };
        for component in rel.components() {
            let file = dir.join("cgroup.subtree_control");
            fsutil::write(&file, &enable).map_err(|e| CgroupError::io("write", &file, e))?;
            dir.push(component);
        }
        Ok(true)
    }
}

fn write_error(field: &str, path: &Path, value: &[u8], source: io::Error) -> CgroupError {
    CgroupError::Write {
        field: field.to_owned(),
        path: path.to_owned(),
        value: String::from_utf8_lossy(value).into_owned(),
        source,
    }
}

/// An out-of-range or malformed value.
pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> CgroupError {
    CgroupError::InvalidValue {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// A field this cgroup version cannot express.
pub(crate) fn unsupported(field: &str, version: Version, reason: &'static str) -> CgroupError {
    CgroupError::Unsupported {
        field: field.to_owned(),
        version: match version {
            Version::V1 => "cgroup v1",
            Version::V2 => "cgroup v2",
        },
        reason,
    }
}

/// Checks a byte limit: `-1` (unlimited) or positive; `0` means "not set" and yields `None`.
pub(crate) fn byte_limit(value: Option<i64>, field: &str) -> Result<Option<i64>, CgroupError> {
    match value {
        None | Some(0) => Ok(None),
        Some(v) if v == -1 || v > 0 => Ok(Some(v)),
        Some(v) => Err(invalid(
            field,
            format!("{v} is neither -1 (unlimited) nor a positive number of bytes"),
        )),
    }
}
