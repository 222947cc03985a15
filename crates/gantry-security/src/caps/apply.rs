//! The syscalls: run inside the container's init, in the order documented on the crate.

use super::{CapMask, CapPlan};
use crate::SecurityError;
use rustix::thread::{
    clear_ambient_capability_set, configure_capability_in_ambient_set,
    remove_capability_from_bounding_set, set_capabilities, CapabilitySet, CapabilitySets,
};

fn cap_name(index: u8) -> String {
    match super::names::by_index(index) {
        Some(c) => c.to_string(),
        None => format!("capability #{index}"),
    }
}

fn syscall_err(op: String, e: rustix::io::Errno) -> SecurityError {
    SecurityError::CapabilitySyscall {
        op,
        source: e.into(),
    }
}

fn single(index: u8) -> CapabilitySet {
    CapabilitySet::from_bits_retain(1u64 << index)
}

impl CapPlan {
    /// Drops from the bounding set every kernel capability that `process.capabilities.bounding` does not hold
    /// (`prctl(PR_CAPBSET_DROP)`, one call per capability, including ones newer than the `caps` crate).
    ///
    /// Call it in the container's init while it still has CAP_SETPCAP: before the uid change.
    ///
    /// # Errors
    /// [`SecurityError::CapabilitySyscall`] naming the capability whose drop failed.
    pub fn drop_bounding(&self) -> Result<(), SecurityError> {
        for index in self.bounding_to_drop().indices() {
            remove_capability_from_bounding_set(single(index)).map_err(|e| {
                syscall_err(format!("prctl(PR_CAPBSET_DROP, {})", cap_name(index)), e)
            })?;
        }
        Ok(())
    }

    /// Sets effective, permitted and inheritable to exactly the plan with one `capset(2)`, then the ambient
    /// set: cleared, then [`CapPlan::ambient_to_raise`] raised.
    ///
    /// Inheritable becomes exactly the spec's set — empty when unset — so nothing the runtime happened to
    /// inherit leaks into the container (CVE-2022-29162, CVE-2022-27650). Call it after `setresuid`/`setresgid`
    /// (with keep-caps set before them, so permitted survives the uid change).
    ///
    /// # Errors
    /// [`SecurityError::CapabilitySyscall`] naming the operation (`capset`, an ambient raise).
    pub fn apply(&self) -> Result<(), SecurityError> {
        let sets = CapabilitySets {
            effective: to_rustix(self.set(super::CapSetKind::Effective)),
            permitted: to_rustix(self.set(super::CapSetKind::Permitted)),
            inheritable: to_rustix(self.set(super::CapSetKind::Inheritable)),
        };
        set_capabilities(None, sets).map_err(|e| {
            syscall_err(
                format!(
                    "capset(effective={:?}, permitted={:?}, inheritable={:?})",
                    self.set(super::CapSetKind::Effective),
                    self.set(super::CapSetKind::Permitted),
                    self.set(super::CapSetKind::Inheritable)
                ),
                e,
            )
        })?;
        clear_ambient_capability_set()
            .map_err(|e| syscall_err("prctl(PR_CAP_AMBIENT_CLEAR_ALL)".to_owned(), e))?;
        for index in self.ambient_to_raise().indices() {
            configure_capability_in_ambient_set(single(index), true).map_err(|e| {
                syscall_err(
                    format!("prctl(PR_CAP_AMBIENT_RAISE, {})", cap_name(index)),
                    e,
                )
            })?;
        }
        Ok(())
    }
}

fn to_rustix(m: CapMask) -> CapabilitySet {
    CapabilitySet::from_bits_retain(m.bits())
}
