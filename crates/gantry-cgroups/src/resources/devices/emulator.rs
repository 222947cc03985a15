//! The cgroup v1 device controller's semantics, emulated: what a list of rules leaves behind (pure).
//!
//! v1 keeps a default (allow or deny everything) and a list of exceptions. An `a` rule sets the default and clears
//! the exceptions. With default deny, an allow rule adds an exception (merging access into an identical entry)
//! and a deny rule takes access bits away from identical entries; with default allow it is the other way round.
//! A request is allowed under default deny when one exception covers all its access bits, and denied under
//! default allow when one exception shares any access bit with it. The v2 program enforces exactly this, so a
//! container sees the same devices on v1 and v2; the starting point is default deny.

use super::rules::{DeviceKind, DeviceRule};

/// One exception of the effective policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exception {
    /// Char or block (never `All`).
    pub(crate) kind: DeviceKind,
    /// Major number, `None` for any.
    pub(crate) major: Option<u32>,
    /// Minor number, `None` for any.
    pub(crate) minor: Option<u32>,
    /// Access bits.
    pub(crate) access: u8,
}

/// The state a rule list leaves the v1 device controller in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Whether requests no exception matches are allowed.
    pub(crate) default_allow: bool,
    /// The exceptions to the default.
    pub(crate) exceptions: Vec<Exception>,
}

impl Policy {
    /// Applies `rules` in order to a default-deny controller.
    pub(crate) fn from_rules<'a>(rules: impl IntoIterator<Item = &'a DeviceRule>) -> Policy {
        let mut policy = Policy::default();
        for rule in rules {
            if rule.is_reset() {
                policy.default_allow = rule.allow;
                policy.exceptions.clear();
                continue;
            }
            let same = |e: &Exception| {
                e.kind == rule.kind && e.major == rule.major && e.minor == rule.minor
            };
            if rule.allow != policy.default_allow {
                // An exception to the default: add or merge.
                match policy.exceptions.iter_mut().find(|e| same(e)) {
                    Some(e) => e.access |= rule.access,
                    None => policy.exceptions.push(Exception {
                        kind: rule.kind,
                        major: rule.major,
                        minor: rule.minor,
                        access: rule.access,
                    }),
                }
            } else {
                // Agrees with the default: withdraw those bits from identical exceptions.
                for e in policy.exceptions.iter_mut().filter(|e| same(e)) {
                    e.access &= !rule.access;
                }
                policy.exceptions.retain(|e| e.access != 0);
            }
        }
        policy
    }

    /// Whether a request for `access` on device `kind` `major`:`minor` is allowed.
    #[cfg(test)]
    pub(crate) fn allows(&self, kind: DeviceKind, major: u32, minor: u32, access: u8) -> bool {
        let hits = |e: &&Exception| {
            e.kind == kind
                && e.major.is_none_or(|m| m == major)
                && e.minor.is_none_or(|m| m == minor)
        };
        if self.default_allow {
            !self
                .exceptions
                .iter()
                .filter(hits)
                .any(|e| e.access & access != 0)
        } else {
            self.exceptions
                .iter()
                .filter(hits)
                .any(|e| access & !e.access == 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::devices::rules::{
        ACCESS_MKNOD as M, ACCESS_READ as R, ACCESS_WRITE as W,
    };

    fn rule(
        allow: bool,
        kind: DeviceKind,
        major: Option<u32>,
        minor: Option<u32>,
        access: u8,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access,
        }
    }

    #[test]
    fn allows_merge_and_denies_withdraw_like_v1() {
        let c = DeviceKind::Char;
        let policy = Policy::from_rules(&[
            rule(true, c, Some(1), Some(3), R),
            rule(true, c, Some(1), Some(3), W),
            rule(true, c, None, None, R | W | M),
            rule(false, c, Some(1), Some(3), W),
        ]);
        assert!(
            policy.allows(c, 1, 3, R | W),
            "the deny only withdraws from the identical 1:3 entry; c *:* still allows"
        );
        assert!(policy.allows(c, 1, 3, R));
        assert!(!policy.allows(DeviceKind::Block, 8, 0, R));
        let policy = Policy::from_rules(&[
            rule(true, c, Some(1), Some(3), R),
            rule(true, c, Some(1), Some(3), W),
        ]);
        assert!(policy.allows(c, 1, 3, R | W), "merged into one rw entry");
    }

    #[test]
    fn reset_rules_set_the_default() {
        let policy = Policy::from_rules(&[
            rule(true, DeviceKind::Char, Some(1), Some(3), R),
            rule(true, DeviceKind::All, None, None, R),
            rule(false, DeviceKind::Block, Some(8), None, W),
        ]);
        assert!(policy.default_allow);
        assert_eq!(policy.exceptions.len(), 1);
        assert!(policy.allows(DeviceKind::Block, 8, 1, R));
        assert!(!policy.allows(DeviceKind::Block, 8, 1, R | W));
        assert!(policy.allows(DeviceKind::Char, 5, 1, R | W | M));
    }
}
