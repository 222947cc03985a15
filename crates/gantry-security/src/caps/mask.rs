//! A capability set as a 64-bit mask: bit n is capability number n. Copy, no allocation.

use super::names::by_index;
use caps::Capability;
use std::fmt;

/// A set of capabilities; bit `n` is capability number `n` (`CAP_CHOWN` is bit 0).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CapMask(u64);

impl CapMask {
    /// The empty set.
    pub const EMPTY: CapMask = CapMask(0);

    /// The mask with exactly these bits.
    pub const fn from_bits(bits: u64) -> CapMask {
        CapMask(bits)
    }

    /// Every capability numbered `0..=last` (the kernel's full set when `last` is `cap_last_cap`).
    pub const fn all_up_to(last: u8) -> CapMask {
        if last >= 63 {
            CapMask(u64::MAX)
        } else {
            CapMask((1u64 << (last + 1)) - 1)
        }
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `cap` is in the set.
    pub fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bitmask() != 0
    }

    /// This set plus `cap`.
    #[must_use]
    pub fn with(self, cap: Capability) -> CapMask {
        CapMask(self.0 | cap.bitmask())
    }

    /// This set without the members of `other`.
    #[must_use]
    pub const fn minus(self, other: CapMask) -> CapMask {
        CapMask(self.0 & !other.0)
    }

    /// The members of both sets.
    #[must_use]
    pub const fn intersect(self, other: CapMask) -> CapMask {
        CapMask(self.0 & other.0)
    }

    /// The capability numbers in the set, lowest first (including numbers the `caps` crate has no name for).
    pub fn indices(self) -> impl Iterator<Item = u8> {
        (0u8..64).filter(move |i| self.0 & (1u64 << i) != 0)
    }

    /// The named capabilities in the set, lowest first (numbers without a name are left out).
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        self.indices().filter_map(by_index)
    }
}

impl fmt::Debug for CapMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.indices().map(|i| match by_index(i) {
                Some(c) => c.to_string(),
                None => format!("cap#{i}"),
            }))
            .finish()
    }
}
