//! `mounts`: config.md "Mounts".
//!
//! Runtime-spec 1.0 said destination "MUST be an absolute path". Since 1.1 (runtime-spec#1225)
//! Linux destinations SHOULD be absolute and a relative one MUST be read as relative to "/"
//! (deprecated). We follow 1.1+: relative destinations are accepted with a warning, like runc
//! ≥ 1.1.10; runc 1.0.0-rc95..1.1.x refused or warned depending on the release.

use oci_spec::runtime::Mount;

use super::{idmap, paths};
use crate::{Problem, SpecError};

pub(super) fn check(mounts: &[Mount]) -> Result<(), SpecError> {
    for (i, m) in mounts.iter().enumerate() {
        let dest = m.destination();
        let field = || format!("mounts[{i}].destination");
        if dest.as_os_str().is_empty() {
            return Err(SpecError::invalid(
                field(),
                Problem::Required {
                    hint: "give the absolute path inside the container to mount on",
                },
            ));
        }
        paths::no_nul(field, dest)?;
        if dest.is_relative() {
            tracing::warn!(
                "mounts[{i}].destination {dest:?} is relative: read as relative to \"/\" (deprecated, make it absolute)"
            );
        }
        if let Some(src) = m.source() {
            paths::no_nul(|| format!("mounts[{i}].source"), src)?;
        }
        // config.md POSIX-platform mounts: uidMappings/gidMappings (idmapped mounts) —
        // "If specified, gidMappings MUST also be specified" and vice versa.
        match (m.uid_mappings(), m.gid_mappings()) {
            (None, None) => {}
            (Some(u), Some(g)) => {
                idmap::check_map(&format!("mounts[{i}].uidMappings"), u)?;
                idmap::check_map(&format!("mounts[{i}].gidMappings"), g)?;
            }
            (Some(_), None) => {
                return Err(SpecError::invalid(
                    format!("mounts[{i}].gidMappings"),
                    Problem::HalfIdmap,
                ))
            }
            (None, Some(_)) => {
                return Err(SpecError::invalid(
                    format!("mounts[{i}].uidMappings"),
                    Problem::HalfIdmap,
                ))
            }
        }
    }
    Ok(())
}
