//! `linux.resources.pids`: `pids.max`.

use super::target::invalid;
use crate::cgroup::Cgroup;
use crate::error::CgroupError;
use oci_spec::runtime::LinuxPids;

const LIMIT: &str = "linux.resources.pids.limit";

/// Applies the pids limit: `0` or more → that many tasks, `-1` → `max`. runtime-spec 1.3 (config-linux.md "PIDs")
/// made `limit` optional and 0 a real limit, as runc 1.4 applies it; an absent `limit` never reaches here (the
/// spec parser drops a `pids` object without one).
pub(super) fn apply(cgroup: &Cgroup, pids: &LinuxPids) -> Result<(), CgroupError> {
    let limit = pids.limit();
    if limit < -1 {
        return Err(invalid(
            LIMIT,
            format!("{limit} is neither -1 (unlimited) nor a count of 0 or more"),
        ));
    }
    let target = cgroup.target("pids", "pids", LIMIT)?;
    if limit == -1 {
        target.write("pids.max", b"max", LIMIT)
    } else {
        target.write_int("pids.max", limit, LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::{get, put, Fake};

    #[test]
    fn writes_pids_max() {
        let fake = Fake::v1(&["pids"]);
        put(&fake.dir("pids"), "pids.max", "");
        fake.cgroup
            .apply(&serde_json::from_str(r#"{"pids":{"limit":-1}}"#).unwrap())
            .unwrap();
        assert_eq!(get(&fake.dir("pids"), "pids.max"), "max");
        fake.cgroup
            .apply(&serde_json::from_str(r#"{"pids":{"limit":12}}"#).unwrap())
            .unwrap();
        assert_eq!(get(&fake.dir("pids"), "pids.max"), "12");
        // runtime-spec 1.3: 0 is a limit of zero tasks, not "leave alone".
        fake.cgroup
            .apply(&serde_json::from_str(r#"{"pids":{"limit":0}}"#).unwrap())
            .unwrap();
        assert_eq!(get(&fake.dir("pids"), "pids.max"), "0");
        let err = fake
            .cgroup
            .apply(&serde_json::from_str(r#"{"pids":{"limit":-3}}"#).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("linux.resources.pids.limit"));
    }
}
