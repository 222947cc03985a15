//! The unit properties that mirror `linux.resources`, so that systemd, which re-applies a unit's settings to its
//! cgroup (on `daemon-reload`, say), keeps the limits the runtime wrote instead of resetting them.

use oci_spec::runtime::LinuxResources;

/// systemd's "infinity" for `MemoryMax`/`TasksMax`.
const INFINITY: u64 = u64::MAX;

/// The `(property, value)` pairs for the limits set in `r`: `MemoryMax` (memory.limit) and `TasksMax` (pids.limit);
/// -1 is infinity. Limits left unset give no property.
pub fn unit_limits(r: &LinuxResources) -> Vec<(&'static str, u64)> {
    let as_prop = |v: i64| if v < 0 { INFINITY } else { v as u64 };
    let mut out = Vec::new();
    if let Some(limit) = r.memory().as_ref().and_then(|m| m.limit()) {
        out.push(("MemoryMax", as_prop(limit)));
    }
    if let Some(limit) = r.pids().as_ref().map(|p| p.limit()) {
        out.push(("TasksMax", as_prop(limit)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_tasks() {
        let r: LinuxResources = serde_json::from_str(
            r#"{"memory": {"limit": 67108864, "swap": 67108864}, "pids": {"limit": -1}, "cpu": {"shares": 512}}"#,
        )
        .unwrap();
        assert_eq!(
            unit_limits(&r),
            vec![("MemoryMax", 67108864), ("TasksMax", u64::MAX)]
        );
        assert!(unit_limits(&LinuxResources::default()).is_empty());
    }
}
