//! The systemd driver's `linux.cgroupsPath`: `slice:prefix:name` (runc's format), parsed without any I/O.

use crate::error::CgroupError;

const FIELD: &str = "linux.cgroupsPath";
/// The slice used when `cgroupsPath` is empty or names none, as runc does for root.
pub const DEFAULT_SLICE: &str = "system.slice";
/// The prefix used when `cgroupsPath` is empty (unit `gantry-<id>.scope`).
pub const DEFAULT_PREFIX: &str = "gantry";

/// Where a container's transient scope goes: which slice, what unit, and the cgroup path that results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePath {
    /// The parent slice unit, e.g. `machine.slice`.
    pub slice: String,
    /// The scope unit, e.g. `libpod-abc.scope`.
    pub unit: String,
    /// The scope's cgroup path from the hierarchy root, e.g. `/machine.slice/libpod-abc.scope`.
    pub cgroup: String,
}

impl ScopePath {
    /// Parses `cgroups_path` as `slice:prefix:name` (runc's systemd format):
    ///
    /// * an empty slice is [`DEFAULT_SLICE`]; the unit is `prefix-name.scope`, or `name.scope` with no prefix;
    /// * absent or empty → `system.slice:gantry:<container_id>`;
    /// * the slice must be a `.slice` unit name, whose dashes give its place in the tree
    ///   (`a-b.slice` is `/a.slice/a-b.slice`); `-.slice` is the root slice.
    pub fn parse(cgroups_path: Option<&str>, container_id: &str) -> Result<ScopePath, CgroupError> {
        let text = cgroups_path.filter(|p| !p.is_empty());
        let (slice, prefix, name) = match text {
            None => ("", DEFAULT_PREFIX, container_id),
            Some(t) => {
                let parts: Vec<&str> = t.split(':').collect();
                match parts[..] {
                    [s, p, n] => (s, p, n),
                    _ => {
                        return Err(bad(
                            t,
                            "must be \"slice:prefix:name\" with the systemd cgroup driver (e.g. \
                             \"system.slice:gantry:ID\"); drop --systemd-cgroup for a cgroupfs path",
                        ))
                    }
                }
            }
        };
        let shown = text.unwrap_or(container_id);
        if name.is_empty() {
            return Err(bad(
                shown,
                "names no unit (the part after the last ':' is empty)",
            ));
        }
        if name.ends_with(".slice") {
            return Err(bad(
                shown,
                "names a slice as the container's unit; only scopes are supported",
            ));
        }
        let unit = if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        };
        if !valid_unit_name(&unit) {
            return Err(bad(
                shown,
                "gives an invalid unit name (allowed: ASCII letters, digits, \":-_.\\@\", at most 255 bytes)",
            ));
        }
        let slice = if slice.is_empty() {
            DEFAULT_SLICE
        } else {
            slice
        };
        let mut cgroup = expand_slice(slice).ok_or_else(|| {
            bad(
                shown,
                "has an invalid slice: it must end in \".slice\", with no '/' and no empty part between dashes",
            )
        })?;
        cgroup.push('/');
        cgroup.push_str(&unit);
        Ok(ScopePath {
            slice: slice.to_owned(),
            unit,
            cgroup,
        })
    }
}

fn bad(value: &str, reason: &'static str) -> CgroupError {
    CgroupError::InvalidPath {
        field: FIELD,
        value: value.to_owned(),
        reason,
    }
}

/// systemd's unit name rule: 1..=255 bytes of `[A-Za-z0-9:_.\\@-]`.
fn valid_unit_name(unit: &str) -> bool {
    !unit.is_empty()
        && unit.len() <= 255
        && unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b))
}

/// The cgroup path of slice `slice` from the hierarchy root: `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice`,
/// `-.slice` → `` (the root). `None` when it is not a valid slice name.
fn expand_slice(slice: &str) -> Option<String> {
    if slice == "-.slice" {
        return Some(String::new());
    }
    let stem = slice.strip_suffix(".slice")?;
    if stem.is_empty() || slice.contains('/') || !valid_unit_name(slice) {
        return None;
    }
    let mut out = String::new();
    let mut upto = 0;
    for part in stem.split('-') {
        if part.is_empty() {
            return None;
        }
        upto += part.len();
        out.push('/');
        out.push_str(&stem[..upto]);
        out.push_str(".slice");
        upto += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str) -> Result<ScopePath, CgroupError> {
        ScopePath::parse(Some(p), "ctr")
    }

    #[test]
    fn runc_format() {
        let s = parse("machine.slice:libpod:abc").unwrap();
        assert_eq!(s.slice, "machine.slice");
        assert_eq!(s.unit, "libpod-abc.scope");
        assert_eq!(s.cgroup, "/machine.slice/libpod-abc.scope");
        let s = parse("kubepods-burstable-pod12.slice:cri-containerd:f00").unwrap();
        assert_eq!(
            s.cgroup,
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/cri-containerd-f00.scope"
        );
    }

    #[test]
    fn defaults() {
        let s = ScopePath::parse(None, "ctr").unwrap();
        assert_eq!(s.unit, "gantry-ctr.scope");
        assert_eq!(s.cgroup, "/system.slice/gantry-ctr.scope");
        assert_eq!(
            ScopePath::parse(Some(""), "x").unwrap().unit,
            "gantry-x.scope"
        );
        let s = parse("::name").unwrap();
        assert_eq!(
            (s.slice.as_str(), s.unit.as_str()),
            ("system.slice", "name.scope")
        );
        assert_eq!(parse("-.slice:p:n").unwrap().cgroup, "/p-n.scope");
    }

    #[test]
    fn refusals_name_the_field() {
        for bad in [
            "/gantry/abc",
            "a:b",
            "a:b:c:d",
            "system.slice:p:",
            "system:p:n",
            "a--b.slice:p:n",
            "-a.slice:p:n",
            "a/b.slice:p:n",
            "system.slice:p:x/y",
            "system.slice:p:sub.slice",
            "system.slice:p:sp ace",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains("linux.cgroupsPath"), "{bad}: {err}");
        }
    }
}
