//! `linux.uidMappings` / `linux.gidMappings` (config-linux.md "User namespace mappings") and the
//! same shape on id-mapped mounts. The kernel (user_namespaces(7), "Defining user and group ID
//! mappings") refuses a map whose ranges overlap on either side, ranges of size 0, and more than
//! 340 lines; we refuse the same up front so the error names the field.
//!
//! Joining a user namespace (`path`) with mappings is accepted: containerd passes both for pod
//! containers. Whether the mappings match the joined namespace needs /proc I/O and is left to the
//! runtime (runc ≥ 1.2 checks the same there; runc 1.1 silently ignores the mappings).

use oci_spec::runtime::{Linux, LinuxIdMapping, LinuxNamespaceType};

use super::namespaces::{NamespaceMode, Namespaces};
use crate::{Problem, SpecError};

/// The kernel's limit on lines in /proc/PID/{u,g}id_map (since Linux 4.15).
const MAX_MAP_LINES: usize = 340;

pub(super) fn check(linux: &Linux, ns: &Namespaces) -> Result<(), SpecError> {
    let uid = linux.uid_mappings().as_deref().unwrap_or(&[]);
    let gid = linux.gid_mappings().as_deref().unwrap_or(&[]);
    check_map("linux.uidMappings", uid)?;
    check_map("linux.gidMappings", gid)?;
    match ns.mode(LinuxNamespaceType::User) {
        NamespaceMode::Shared if !uid.is_empty() || !gid.is_empty() => {
            let field = if uid.is_empty() {
                "linux.gidMappings"
            } else {
                "linux.uidMappings"
            };
            Err(SpecError::invalid(
                field,
                Problem::MappingWithoutUserNamespace,
            ))
        }
        // A new user namespace without a map leaves every id unmapped (nobody): nothing in the
        // container could work. runc refuses it too.
        NamespaceMode::New if uid.is_empty() || gid.is_empty() => {
            let field = if uid.is_empty() {
                "linux.uidMappings"
            } else {
                "linux.gidMappings"
            };
            Err(SpecError::invalid(
                field,
                Problem::UserNamespaceWithoutMappings,
            ))
        }
        _ => Ok(()),
    }
}

/// One id map: sizes > 0, no overflow, disjoint ranges on both sides, at most 340 entries.
pub(super) fn check_map(field: &str, map: &[LinuxIdMapping]) -> Result<(), SpecError> {
    if map.len() > MAX_MAP_LINES {
        return Err(SpecError::invalid(
            field,
            Problem::TooManyMappings {
                count: map.len(),
                max: MAX_MAP_LINES,
            },
        ));
    }
    for (i, m) in map.iter().enumerate() {
        if m.size() == 0 {
            return Err(SpecError::invalid(
                format!("{field}[{i}].size"),
                Problem::ZeroSize,
            ));
        }
        for (name, start) in [("containerID", m.container_id()), ("hostID", m.host_id())] {
            if end(start, m.size()).is_none() {
                return Err(SpecError::invalid(
                    format!("{field}[{i}].{name}"),
                    Problem::RangeOverflow {
                        start,
                        size: m.size(),
                    },
                ));
            }
        }
        for (j, prev) in map[..i].iter().enumerate() {
            let side = if overlaps(prev.container_id(), prev.size(), m.container_id(), m.size()) {
                "container"
            } else if overlaps(prev.host_id(), prev.size(), m.host_id(), m.size()) {
                "host"
            } else {
                continue;
            };
            return Err(SpecError::invalid(
                format!("{field}[{i}]"),
                Problem::MappingOverlap {
                    side,
                    other: format!("{field}[{j}]"),
                },
            ));
        }
    }
    Ok(())
}

/// Last id of a range, if it fits in u32.
fn end(start: u32, size: u32) -> Option<u32> {
    start.checked_add(size - 1)
}

fn overlaps(a: u32, a_size: u32, b: u32, b_size: u32) -> bool {
    let (a_end, b_end) = (
        u64::from(a) + u64::from(a_size),
        u64::from(b) + u64::from(b_size),
    );
    u64::from(a) < b_end && u64::from(b) < a_end
}
