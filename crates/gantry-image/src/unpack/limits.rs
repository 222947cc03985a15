//! Limits against decompression bombs and hostile archives.

/// Configurable ceilings for one layer; exceeding any fails the unpack with
/// [`crate::ImageError::LimitExceeded`] naming the layer, the entry and the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Total bytes of file content in one layer (uncompressed).
    pub max_total_bytes: u64,
    /// Bytes of a single file.
    pub max_entry_bytes: u64,
    /// Number of tar entries (including directories and links).
    pub max_entries: u64,
    /// Bytes of a GNU long name / long link or PAX header record set.
    pub max_metadata_bytes: u64,
    /// Path components of one entry.
    pub max_depth: usize,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_total_bytes: 64 << 30,
            max_entry_bytes: 32 << 30,
            max_entries: 4_000_000,
            max_metadata_bytes: 1 << 20,
            max_depth: 512,
        }
    }
}

/// Running totals checked against the limits.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    pub(crate) total_bytes: u64,
    pub(crate) entries: u64,
}

/// Which limit was hit.
pub(crate) enum Exceeded {
    Total(u64),
    Entry(u64),
    Count(u64),
}

impl Budget {
    /// Accounts one more entry of `size` content bytes.
    pub(crate) fn charge(&mut self, limits: &UnpackLimits, size: u64) -> Result<(), Exceeded> {
        self.entries += 1;
        if self.entries > limits.max_entries {
            return Err(Exceeded::Count(limits.max_entries));
        }
        if size > limits.max_entry_bytes {
            return Err(Exceeded::Entry(limits.max_entry_bytes));
        }
        self.total_bytes = self.total_bytes.saturating_add(size);
        if self.total_bytes > limits.max_total_bytes {
            return Err(Exceeded::Total(limits.max_total_bytes));
        }
        Ok(())
    }
}

impl Exceeded {
    pub(crate) fn into_error(self, layer: &str, path: &str) -> crate::ImageError {
        let (limit, max) = match self {
            Exceeded::Total(m) => ("total unpacked size", m),
            Exceeded::Entry(m) => ("single entry size", m),
            Exceeded::Count(m) => ("entry count", m),
        };
        crate::ImageError::LimitExceeded {
            layer: layer.to_owned(),
            path: path.to_owned(),
            limit,
            max,
        }
    }
}
