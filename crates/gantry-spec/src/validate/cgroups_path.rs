//! `linux.cgroupsPath`: config-linux.md "Cgroups path": "The value of cgroupsPath MUST be either
//! an absolute path or a relative path"; relative paths are placed by the runtime (runc and
//! Gantry: under the caller's cgroup). runc's systemd driver also accepts `slice:prefix:name`
//! (podman and containerd pass e.g. `machine.slice:libpod:ID`); we accept that form too and let
//! the cgroup code decide whether the configured driver takes it.
//!
//! Stricter than runc: `..` components are refused instead of being cleaned away, so a
//! cgroupsPath can never name a cgroup outside the tree it seems to name.

use std::path::Path;

use oci_spec::runtime::Linux;

use crate::{Problem, SpecError};

/// A syntactically valid `linux.cgroupsPath`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupsPath<'a> {
    /// Empty or absent: the runtime chooses (by the container id).
    Default,
    /// A cgroupfs path; absolute (from the hierarchy root) or relative.
    Path(&'a str),
    /// systemd form `slice:prefix:name`; `slice` may be empty (the driver's default slice).
    Systemd {
        /// The parent slice, e.g. "machine.slice", or "".
        slice: &'a str,
        /// Unit-name prefix, e.g. "libpod".
        prefix: &'a str,
        /// Unit name, usually the container id.
        name: &'a str,
    },
}

/// Parses a cgroupsPath value; on error returns which rule it breaks.
pub fn parse_cgroups_path(value: &str) -> Result<CgroupsPath<'_>, &'static str> {
    if value.is_empty() {
        return Ok(CgroupsPath::Default);
    }
    if value.contains('\0') {
        return Err("it contains a NUL byte");
    }
    if !value.starts_with('/') && value.contains(':') {
        let mut parts = value.split(':');
        let (Some(slice), Some(prefix), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the systemd form is \"slice:prefix:name\" (exactly two ':')");
        };
        if !slice.is_empty() && !slice.ends_with(".slice") {
            return Err("in \"slice:prefix:name\" the slice must end in \".slice\" (or be empty)");
        }
        if name.is_empty() {
            return Err("in \"slice:prefix:name\" the name must not be empty");
        }
        if [slice, prefix, name].iter().any(|p| p.contains('/')) {
            return Err("in \"slice:prefix:name\" no part may contain '/'");
        }
        return Ok(CgroupsPath::Systemd {
            slice,
            prefix,
            name,
        });
    }
    if value.split('/').any(|c| c == "..") {
        return Err("'..' components are refused: write the path without them");
    }
    Ok(CgroupsPath::Path(value))
}

pub(super) fn check(linux: &Linux) -> Result<(), SpecError> {
    let Some(path) = linux.cgroups_path() else {
        return Ok(());
    };
    let value = path_str(path)?;
    parse_cgroups_path(value).map(drop).map_err(|why| {
        SpecError::invalid(
            "linux.cgroupsPath",
            Problem::BadCgroupsPath {
                found: value.to_owned(),
                why,
            },
        )
    })
}

fn path_str(path: &Path) -> Result<&str, SpecError> {
    path.to_str().ok_or_else(|| {
        SpecError::invalid(
            "linux.cgroupsPath",
            Problem::BadCgroupsPath {
                found: path.to_string_lossy().into_owned(),
                why: "it is not UTF-8",
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse_cgroups_path(""), Ok(CgroupsPath::Default));
        assert_eq!(
            parse_cgroups_path("/k8s.io/abc"),
            Ok(CgroupsPath::Path("/k8s.io/abc"))
        );
        assert_eq!(parse_cgroups_path("rel/x"), Ok(CgroupsPath::Path("rel/x")));
        assert_eq!(parse_cgroups_path("/a:b"), Ok(CgroupsPath::Path("/a:b")));
        assert_eq!(
            parse_cgroups_path("machine.slice:libpod:abc"),
            Ok(CgroupsPath::Systemd {
                slice: "machine.slice",
                prefix: "libpod",
                name: "abc"
            })
        );
        assert!(matches!(
            parse_cgroups_path(":cri-containerd:x"),
            Ok(CgroupsPath::Systemd { .. })
        ));
        for bad in [
            "a:b",
            "a.slice:b:c:d",
            "machine:libpod:x",
            "m.slice:p:",
            "/a/../b",
            "..",
            "a\0b",
            "m.slice:a/b:c",
        ] {
            assert!(parse_cgroups_path(bad).is_err(), "{bad:?}");
        }
    }
}
