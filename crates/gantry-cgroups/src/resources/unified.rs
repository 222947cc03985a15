//! `linux.resources.unified`: raw cgroup v2 `file → value` pairs, written last.

use super::target::{invalid, unsupported};
use crate::cgroup::{Cgroup, Version};
use crate::error::CgroupError;
use std::collections::HashMap;

/// Writes each key (a file of the container's v2 cgroup, e.g. `memory.high`) in name order.
///
/// Keys must be plain file names of a controller (`<controller>.<name>`); `cgroup.*` membership files are refused
/// so this map cannot move processes or reshape the tree.
pub(super) fn apply(cgroup: &Cgroup, unified: &HashMap<String, String>) -> Result<(), CgroupError> {
    let mut keys: Vec<&String> = unified.keys().collect();
    keys.sort();
    for key in keys {
        let field = format!("linux.resources.unified[{key:?}]");
        let Some((controller, _)) = key.split_once('.') else {
            return Err(invalid(
                &field,
                "keys are cgroup v2 file names like memory.high",
            ));
        };
        if key.contains('/') || key.contains('\0') || controller.is_empty() {
            return Err(invalid(
                &field,
                "keys are plain file names of the container's cgroup",
            ));
        }
        if matches!(
            key.as_str(),
            "cgroup.procs"
                | "cgroup.threads"
                | "cgroup.subtree_control"
                | "cgroup.type"
                | "cgroup.kill"
                | "cgroup.freeze"
        ) {
            return Err(invalid(
                &field,
                "membership and tree-shaping files cannot be set through linux.resources.unified",
            ));
        }
        let controller = known(controller).unwrap_or("cgroup");
        let target = match cgroup.target("", controller, &field) {
            Ok(t) if t.version == Version::V2 => t,
            _ => {
                return Err(unsupported(
                    &field,
                    Version::V1,
                    "this host has no cgroup v2 hierarchy; unset it",
                ))
            }
        };
        target.write(key, unified[key].as_bytes(), &field)?;
    }
    Ok(())
}

/// The static name of a v2 controller (so the lazy enabling in `Target` knows what to enable).
fn known(controller: &str) -> Option<&'static str> {
    [
        "cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc",
    ]
    .into_iter()
    .find(|c| *c == controller)
}

#[cfg(test)]
mod tests {
    use crate::testutil::{get, put, Fake};
    use crate::CgroupError;

    #[test]
    fn writes_keys_and_refuses_bad_ones() {
        let fake = Fake::v2();
        put(&fake.dir(""), "memory.high", "");
        let r = r#"{"unified":{"memory.high":"1048576"}}"#;
        fake.cgroup
            .apply(&serde_json::from_str(r).unwrap())
            .unwrap();
        assert_eq!(get(&fake.dir(""), "memory.high"), "1048576");
        for bad in [
            r#"{"unified":{"../x.y":"1"}}"#,
            r#"{"unified":{"cgroup.procs":"1"}}"#,
            r#"{"unified":{"noext":"1"}}"#,
        ] {
            let err = fake
                .cgroup
                .apply(&serde_json::from_str(bad).unwrap())
                .unwrap_err();
            assert!(matches!(err, CgroupError::InvalidValue { .. }), "{err}");
        }
        let err = fake
            .cgroup
            .apply(&serde_json::from_str(r#"{"unified":{"memory.nope":"1"}}"#).unwrap())
            .unwrap_err();
        assert!(
            err.to_string().contains("memory.nope does not exist"),
            "{err}"
        );
        let v1 = Fake::v1(&["memory"]);
        let err = v1
            .cgroup
            .apply(&serde_json::from_str(r).unwrap())
            .unwrap_err();
        assert!(matches!(err, CgroupError::Unsupported { .. }), "{err}");
    }
}
