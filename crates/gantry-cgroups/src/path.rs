//! Turning `linux.cgroupsPath` and the container id into the cgroup path used in every hierarchy (pure).

use crate::error::CgroupError;

/// The directory, relative to each hierarchy's root, under which containers with an empty or relative
/// `linux.cgroupsPath` are placed.
///
/// runc places such containers relative to the *caller's* cgroup; Gantry deliberately does not, so that a runtime
/// started from inside a service's cgroup never creates, limits or freezes anything below that service.
pub const DEFAULT_PARENT: &str = "/gantry";

const FIELD: &str = "linux.cgroupsPath";

/// The normalized cgroup path (absolute, no `.`/empty components, no trailing slash) for a container:
///
/// * absolute `cgroups_path` → that path;
/// * relative `cgroups_path` → `/gantry/<cgroups_path>`;
/// * absent or empty → `/gantry/<container_id>`.
///
/// `..` components, NUL bytes and paths naming the hierarchy root are refused.
pub fn cgroup_path(cgroups_path: Option<&str>, container_id: &str) -> Result<String, CgroupError> {
    let mut out = String::with_capacity(
        DEFAULT_PARENT.len() + 1 + cgroups_path.map_or(container_id.len(), str::len),
    );
    match cgroups_path {
        Some(path) if !path.is_empty() => {
            if !path.starts_with('/') {
                out.push_str(DEFAULT_PARENT);
            }
            push_components(&mut out, path, FIELD)?;
        }
        _ => {
            if container_id.is_empty()
                || container_id.contains('/')
                || container_id == "."
                || container_id == ".."
            {
                return Err(CgroupError::InvalidPath {
                    field: "container id",
                    value: container_id.to_owned(),
                    reason:
                        "must be a non-empty single path component to build the default cgroup path",
                });
            }
            out.push_str(DEFAULT_PARENT);
            push_components(&mut out, container_id, "container id")?;
        }
    }
    if out.is_empty() {
        return Err(CgroupError::InvalidPath {
            field: FIELD,
            value: cgroups_path.unwrap_or_default().to_owned(),
            reason:
                "names the root cgroup, which holds the whole host; use a path such as /gantry/<id>",
        });
    }
    Ok(out)
}

fn push_components(out: &mut String, path: &str, field: &'static str) -> Result<(), CgroupError> {
    if path.contains('\0') {
        return Err(CgroupError::InvalidPath {
            field,
            value: path.to_owned(),
            reason: "contains a NUL byte",
        });
    }
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                return Err(CgroupError::InvalidPath {
                    field,
                    value: path.to_owned(),
                    reason: "'..' components are not allowed",
                })
            }
            name => {
                out.push('/');
                out.push_str(name);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_relative_and_default() {
        assert_eq!(cgroup_path(Some("/a//b/./c/"), "x").unwrap(), "/a/b/c");
        assert_eq!(
            cgroup_path(Some("pod1/ctr"), "x").unwrap(),
            "/gantry/pod1/ctr"
        );
        assert_eq!(cgroup_path(None, "abc").unwrap(), "/gantry/abc");
        assert_eq!(cgroup_path(Some(""), "abc").unwrap(), "/gantry/abc");
    }

    #[test]
    fn refuses_escapes_and_root() {
        for bad in ["/a/../b", "../x", "/", "//.", "a\0b"] {
            assert!(
                matches!(
                    cgroup_path(Some(bad), "x"),
                    Err(CgroupError::InvalidPath { .. })
                ),
                "{bad}"
            );
        }
        for bad_id in ["", "a/b", "..", "."] {
            assert!(matches!(
                cgroup_path(None, bad_id),
                Err(CgroupError::InvalidPath {
                    field: "container id",
                    ..
                })
            ));
        }
    }
}
