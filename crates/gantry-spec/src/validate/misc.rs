//! Smaller rules: hostname/domainname, annotations, time offsets, rootfs propagation, memory.

use oci_spec::runtime::{Linux, LinuxNamespaceType, Spec};

use std::path::Path;

use super::namespaces::{NamespaceMode, Namespaces};
use super::paths;
use crate::{Problem, SpecError};

/// Top-level fields that depend on the namespace set.
pub(super) fn check_top_level(spec: &Spec, ns: &Namespaces) -> Result<(), SpecError> {
    // config.md "Hostname"/"Domainname": they change the UTS namespace, "depending on your
    // namespace configuration ... may be the runtime UTS namespace". Changing the host's name
    // is never what a bundle means: like runc, require the container to have its own (or a
    // joined) UTS namespace.
    for (field, value) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if value.as_deref().is_some_and(|v| !v.is_empty()) && !ns.private(LinuxNamespaceType::Uts) {
            return Err(SpecError::invalid(
                field,
                Problem::NeedsNamespace { kind: "uts" },
            ));
        }
    }
    // config.md "Annotations": "Keys MUST NOT be an empty string."
    if let Some(a) = spec.annotations() {
        if a.contains_key("") {
            return Err(SpecError::invalid(
                "annotations[\"\"]",
                Problem::EmptyAnnotationKey,
            ));
        }
    }
    Ok(())
}

/// Linux-section fields not covered by their own module.
pub(super) fn check_linux(linux: &Linux, ns: &Namespaces) -> Result<(), SpecError> {
    // config-linux.md "Offset for Time Namespace": offsets are written to
    // /proc/PID/timens_offsets, possible only for a new time namespace before its first process.
    if let Some(offsets) = linux.time_offsets() {
        if !offsets.is_empty() && ns.mode(LinuxNamespaceType::Time) != NamespaceMode::New {
            return Err(SpecError::invalid(
                "linux.timeOffsets",
                Problem::NeedsNewNamespace { kind: "time" },
            ));
        }
        for key in offsets.keys() {
            if key != "monotonic" && key != "boottime" {
                return Err(SpecError::invalid(
                    format!("linux.timeOffsets[{key:?}]"),
                    Problem::UnknownClock { found: key.clone() },
                ));
            }
        }
    }
    // config-linux.md "Rootfs Mount Propagation": "Its value is either shared, slave, private
    // or unbindable" (runc also takes the recursive r-forms; so do we).
    if let Some(p) = linux.rootfs_propagation() {
        let base = p.strip_prefix('r').unwrap_or(p);
        if !p.is_empty() && !matches!(base, "shared" | "slave" | "private" | "unbindable") {
            return Err(SpecError::invalid(
                "linux.rootfsPropagation",
                Problem::BadPropagation { found: p.clone() },
            ));
        }
    }
    // config-linux.md "Masked Paths" / "Readonly Paths": "The values MUST be absolute paths in
    // the container namespace."
    for (name, list) in [
        ("maskedPaths", linux.masked_paths()),
        ("readonlyPaths", linux.readonly_paths()),
    ] {
        for (i, p) in list.as_deref().unwrap_or(&[]).iter().enumerate() {
            paths::absolute(|| format!("linux.{name}[{i}]"), Path::new(p))?;
        }
    }
    // memory.swap is memory+swap (cgroup v1 memsw semantics in the spec): below the memory
    // limit the kernel refuses it with EINVAL at apply time; refuse it now, naming the field.
    if let Some(mem) = linux.resources().as_ref().and_then(|r| r.memory().as_ref()) {
        if let (Some(limit), Some(swap)) = (mem.limit(), mem.swap()) {
            if limit > 0 && swap > 0 && swap < limit {
                return Err(SpecError::invalid(
                    "linux.resources.memory.swap",
                    Problem::SwapBelowLimit { swap, limit },
                ));
            }
        }
    }
    Ok(())
}
