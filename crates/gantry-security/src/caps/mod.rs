//! Capabilities: turn `process.capabilities` into a checked [`CapPlan`], then apply it in the container's init.
//!
//! [`plan`] runs in the runtime *before* the container is cloned: it maps the five sets to bit masks, checks them
//! against the running kernel's last capability and against each other, so a bad spec is refused on the host.
//! In the child, [`CapPlan::drop_bounding`] runs while the process still has CAP_SETPCAP (before the uid change),
//! and [`CapPlan::apply`] runs after `setresuid`, setting effective, permitted and inheritable with **one**
//! `capset(2)` and then the ambient set. Inheritable is set to exactly what the spec says — empty when unset —
//! which is what CVE-2022-29162 (runc) and CVE-2022-27650 (crun) got wrong.

mod apply;
mod mask;
mod names;

pub use mask::CapMask;
pub use names::{
    check_json, from_oci, parse_name, read_last_cap, read_last_cap_from, CAP_LAST_CAP_PATH,
};

use crate::SecurityError;
use caps::Capability;
use oci_spec::runtime::{Capabilities, LinuxCapabilities};
use std::fmt;

/// The field name under which `exec --cap` capabilities are reported.
pub const EXEC_CAP_FIELD: &str = "exec --cap";

/// One of the five capability sets of `process.capabilities`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapSetKind {
    /// `bounding`: the limit on what execve can ever grant.
    Bounding,
    /// `effective`: what the kernel checks.
    Effective,
    /// `inheritable`: what is preserved across execve for files with inheritable file capabilities.
    Inheritable,
    /// `permitted`: the superset of effective.
    Permitted,
    /// `ambient`: kept across execve of unprivileged programs (must be permitted and inheritable).
    Ambient,
}

impl CapSetKind {
    /// The five sets in the order the spec lists them.
    pub const ALL: [CapSetKind; 5] = [
        CapSetKind::Bounding,
        CapSetKind::Effective,
        CapSetKind::Inheritable,
        CapSetKind::Permitted,
        CapSetKind::Ambient,
    ];

    /// The JSON field of `config.json` holding this set, e.g. `process.capabilities.bounding`.
    pub fn field(self) -> &'static str {
        match self {
            CapSetKind::Bounding => "process.capabilities.bounding",
            CapSetKind::Effective => "process.capabilities.effective",
            CapSetKind::Inheritable => "process.capabilities.inheritable",
            CapSetKind::Permitted => "process.capabilities.permitted",
            CapSetKind::Ambient => "process.capabilities.ambient",
        }
    }
}

/// Something in the spec that is skipped rather than refused; the caller logs it at warning level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CapWarning {
    /// The capability is newer than the running kernel; like runc, it is ignored.
    NotInKernel {
        /// The field (`process.capabilities.<set>` or [`EXEC_CAP_FIELD`]).
        field: &'static str,
        /// The capability.
        cap: Capability,
        /// The kernel's last capability number.
        last_cap: u8,
    },
    /// An ambient capability that is not both permitted and inheritable: the kernel refuses to raise it, so it
    /// is left out (runc logs the same failure and carries on).
    AmbientNotRaisable {
        /// The capability.
        cap: Capability,
    },
}

impl fmt::Display for CapWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapWarning::NotInKernel { field, cap, last_cap } => write!(
                f,
                "{field}: {cap} is not known to the running kernel (its last capability is number {last_cap}); ignored"
            ),
            CapWarning::AmbientNotRaisable { cap } => write!(
                f,
                "process.capabilities.ambient: {cap} is not in both permitted and inheritable, so the kernel \
                 cannot raise it; ignored"
            ),
        }
    }
}

/// The checked capability state for one container process: five masks plus the kernel's last capability.
///
/// Build it with [`plan`] (or [`plan_for_kernel`] in tests) in the runtime before cloning; in the child call
/// [`CapPlan::drop_bounding`] then (after the uid/gid change) [`CapPlan::apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapPlan {
    bounding: CapMask,
    effective: CapMask,
    inheritable: CapMask,
    permitted: CapMask,
    ambient: CapMask,
    last_cap: u8,
    skipped: Vec<CapWarning>,
}

/// Builds the plan for `process.capabilities`, checking names against the running kernel
/// (`/proc/sys/kernel/cap_last_cap`).
///
/// # Errors
/// [`SecurityError::LastCap`] if the kernel's last capability cannot be read; otherwise as [`plan_for_kernel`].
pub fn plan(c: &LinuxCapabilities) -> Result<CapPlan, SecurityError> {
    plan_for_kernel(c, read_last_cap()?)
}

/// Builds the plan for `process.capabilities` as [`plan`] does, for a kernel whose last capability is `last_cap`.
///
/// Capabilities numbered above `last_cap` are dropped from every set and reported by [`CapPlan::warnings`].
///
/// # Errors
/// [`SecurityError::CapabilityConflict`] when an effective capability is missing from permitted, which the kernel
/// would refuse later (`capset` EPERM); reported here, before anything is created.
pub fn plan_for_kernel(c: &LinuxCapabilities, last_cap: u8) -> Result<CapPlan, SecurityError> {
    let mut p = CapPlan::empty(last_cap);
    for kind in CapSetKind::ALL {
        let set = match kind {
            CapSetKind::Bounding => c.bounding(),
            CapSetKind::Effective => c.effective(),
            CapSetKind::Inheritable => c.inheritable(),
            CapSetKind::Permitted => c.permitted(),
            CapSetKind::Ambient => c.ambient(),
        };
        if let Some(set) = set {
            p.add_oci_set(kind, set);
        }
    }
    p.check()?;
    Ok(p)
}

impl CapPlan {
    /// A plan with every set empty (the process keeps no capability), for a kernel whose last capability is
    /// `last_cap`. This is what an absent `process.capabilities` means.
    pub fn empty(last_cap: u8) -> CapPlan {
        CapPlan {
            bounding: CapMask::EMPTY,
            effective: CapMask::EMPTY,
            inheritable: CapMask::EMPTY,
            permitted: CapMask::EMPTY,
            ambient: CapMask::EMPTY,
            last_cap,
            skipped: Vec::new(),
        }
    }

    fn add_oci_set(&mut self, kind: CapSetKind, set: &Capabilities) {
        for oci in set {
            self.add(kind, kind.field(), from_oci(*oci));
        }
    }

    /// Adds `cap` to the set `kind`, or records a warning when the kernel does not know it.
    fn add(&mut self, kind: CapSetKind, field: &'static str, cap: Capability) {
        if cap.index() > self.last_cap {
            let w = CapWarning::NotInKernel {
                field,
                cap,
                last_cap: self.last_cap,
            };
            if !self.skipped.contains(&w) {
                self.skipped.push(w);
            }
            return;
        }
        let mask = self.mask_mut(kind);
        *mask = mask.with(cap);
    }

    fn mask_mut(&mut self, kind: CapSetKind) -> &mut CapMask {
        match kind {
            CapSetKind::Bounding => &mut self.bounding,
            CapSetKind::Effective => &mut self.effective,
            CapSetKind::Inheritable => &mut self.inheritable,
            CapSetKind::Permitted => &mut self.permitted,
            CapSetKind::Ambient => &mut self.ambient,
        }
    }

    fn check(&self) -> Result<(), SecurityError> {
        let missing = self.effective.minus(self.permitted);
        if let Some(cap) = missing.iter().next() {
            return Err(SecurityError::CapabilityConflict {
                field: CapSetKind::Effective.field(),
                cap: cap.to_string(),
                reason: "is not in process.capabilities.permitted; the kernel refuses an effective capability \
                         that is not permitted (add it to permitted)",
            });
        }
        Ok(())
    }

    /// Adds the capabilities of `exec --cap NAME...` the way runc does since CVE-2022-29162: to bounding,
    /// effective, permitted and ambient — **never** to inheritable.
    ///
    /// Names are matched case-insensitively with or without the `CAP_` prefix. A name newer than the kernel
    /// becomes a warning (see [`CapPlan::warnings`]).
    ///
    /// # Errors
    /// [`SecurityError::UnknownCapability`] naming `exec --cap` and the name.
    pub fn add_exec_caps<S: AsRef<str>>(&mut self, names: &[S]) -> Result<(), SecurityError> {
        for name in names {
            let cap = parse_name(EXEC_CAP_FIELD, name.as_ref())?;
            for kind in [
                CapSetKind::Bounding,
                CapSetKind::Effective,
                CapSetKind::Permitted,
                CapSetKind::Ambient,
            ] {
                self.add(kind, EXEC_CAP_FIELD, cap);
            }
        }
        Ok(())
    }

    /// The mask of one set as requested (for ambient, see also [`CapPlan::ambient_to_raise`]).
    pub fn set(&self, kind: CapSetKind) -> CapMask {
        match kind {
            CapSetKind::Bounding => self.bounding,
            CapSetKind::Effective => self.effective,
            CapSetKind::Inheritable => self.inheritable,
            CapSetKind::Permitted => self.permitted,
            CapSetKind::Ambient => self.ambient,
        }
    }

    /// The ambient capabilities [`CapPlan::apply`] raises: requested ambient ∩ permitted ∩ inheritable.
    pub fn ambient_to_raise(&self) -> CapMask {
        self.ambient
            .intersect(self.permitted)
            .intersect(self.inheritable)
    }

    /// The capabilities [`CapPlan::drop_bounding`] drops: every kernel capability not in bounding.
    pub fn bounding_to_drop(&self) -> CapMask {
        CapMask::all_up_to(self.last_cap).minus(self.bounding)
    }

    /// The kernel's last capability number this plan was checked against.
    pub fn last_cap(&self) -> u8 {
        self.last_cap
    }

    /// What the plan skips instead of refusing (capabilities newer than the kernel, ambient capabilities the
    /// kernel cannot raise). The caller logs each at warning level, as runc does.
    pub fn warnings(&self) -> Vec<CapWarning> {
        let mut all = self.skipped.clone();
        for cap in self.ambient.minus(self.ambient_to_raise()).iter() {
            all.push(CapWarning::AmbientNotRaisable { cap });
        }
        all
    }
}

#[cfg(test)]
mod tests;
