//! What can be wrong with one field of a parsed config.json; each message says what to do.

use std::path::PathBuf;

/// A broken rule, attached to a field path by [`crate::SpecError::Invalid`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A required field is absent or empty.
    #[error("is required: {hint}")]
    Required {
        /// What to put there.
        hint: &'static str,
    },
    /// `ociVersion` is not SemVer 2.0.0.
    #[error("{found:?} is not a SemVer 2.0.0 version: use e.g. \"1.3.0\"")]
    NotSemver {
        /// The value found.
        found: String,
    },
    /// `ociVersion` has a major version this runtime does not implement.
    #[error("{found:?} is not supported: this runtime implements 1.0.0–1.3.x; regenerate the bundle for a 1.x runtime")]
    UnsupportedVersion {
        /// The value found.
        found: String,
    },
    /// A relative `root.path` climbs out of the bundle.
    #[error("{found:?} resolves outside the bundle: use an absolute path, or a path inside the bundle directory")]
    RootOutsideBundle {
        /// The value found.
        found: PathBuf,
    },
    /// The root filesystem does not exist.
    #[error("{path}: no such directory: unpack the root filesystem there or fix root.path")]
    RootfsMissing {
        /// The resolved host path.
        path: PathBuf,
    },
    /// The root filesystem path is not a directory.
    #[error(
        "{path}: is not a directory: root.path must name the directory holding the root filesystem"
    )]
    RootfsNotDirectory {
        /// The resolved host path.
        path: PathBuf,
    },
    /// The root filesystem path cannot be examined.
    #[error("{path}: cannot stat: {error}")]
    RootfsUnreadable {
        /// The resolved host path.
        path: PathBuf,
        /// The I/O error as text (io::Error is not Clone).
        error: String,
    },
    /// A path that must be absolute is relative.
    #[error("{found:?} is not an absolute path: start it with '/'")]
    NotAbsolute {
        /// The value found.
        found: PathBuf,
    },
    /// A path contains a `..` component where that is refused.
    #[error("{found:?} contains a '..' component: write the path without it")]
    DotDot {
        /// The value found.
        found: PathBuf,
    },
    /// A string contains a NUL byte, which no kernel interface accepts.
    #[error("contains a NUL byte: remove it")]
    NulByte,
    /// `process.args` is empty.
    #[error("must hold at least one entry (the program to run), e.g. [\"sh\"]")]
    EmptyArgs,
    /// An id mapping of size 0.
    #[error("must be > 0: a mapping of size 0 maps nothing; remove it or give it a size")]
    ZeroSize,
    /// An id mapping whose range passes 2^32.
    #[error("{start} + {size} passes 4294967295: shrink the mapping")]
    RangeOverflow {
        /// First id of the range.
        start: u32,
        /// Size of the range.
        size: u32,
    },
    /// Two id mappings overlap.
    #[error("its {side} range overlaps {other}: id ranges in one map must be disjoint")]
    MappingOverlap {
        /// "container" or "host".
        side: &'static str,
        /// Path of the other mapping.
        other: String,
    },
    /// More mappings than the kernel accepts in one map file.
    #[error("{count} mappings given, but the kernel accepts at most {max}: merge adjacent ranges")]
    TooManyMappings {
        /// How many were given.
        count: usize,
        /// The kernel's limit.
        max: usize,
    },
    /// Id mappings without a user namespace.
    #[error("mappings are given but linux.namespaces has no \"user\" entry: add {{\"type\": \"user\"}} or remove the mappings")]
    MappingWithoutUserNamespace,
    /// A new user namespace without id mappings.
    #[error("a new user namespace needs both linux.uidMappings and linux.gidMappings: add them, or join an existing one with \"path\"")]
    UserNamespaceWithoutMappings,
    /// Only one of uidMappings / gidMappings on an id-mapped mount.
    #[error("uidMappings and gidMappings must be given together: add the missing one")]
    HalfIdmap,
    /// The same namespace type listed twice.
    #[error("duplicates namespace type {kind:?} of {first}: list each type once")]
    DuplicateNamespace {
        /// The namespace type.
        kind: &'static str,
        /// Path of the first entry.
        first: String,
    },
    /// A field that would change the host: it needs a namespace of the container's own.
    #[error("needs the container's own {kind} namespace (it would change the host's): add {{\"type\": \"{kind}\"}} to linux.namespaces, or remove this field")]
    NeedsNamespace {
        /// The namespace type.
        kind: &'static str,
    },
    /// A field that can only be applied while creating a namespace, not when joining one.
    #[error("needs a new {kind} namespace: add {{\"type\": \"{kind}\"}} without \"path\" to linux.namespaces, or remove this field")]
    NeedsNewNamespace {
        /// The namespace type.
        kind: &'static str,
    },
    /// Soft rlimit above hard rlimit.
    #[error("soft limit {soft} is above the hard limit {hard}: lower soft or raise hard")]
    SoftAboveHard {
        /// Soft limit.
        soft: u64,
        /// Hard limit.
        hard: u64,
    },
    /// The same rlimit type listed twice.
    #[error("duplicates the type of {first}: list each rlimit once")]
    DuplicateRlimit {
        /// Path of the first entry.
        first: String,
    },
    /// A device entry of a type that cannot be created.
    #[error("{found:?} cannot be created as a device node: use \"c\", \"b\", \"u\" or \"p\"")]
    BadDeviceType {
        /// The type found.
        found: &'static str,
    },
    /// A device cgroup rule whose type is not a, c or b.
    #[error("device cgroup rules take type \"a\", \"c\" or \"b\" (or none, meaning all)")]
    BadCgroupDeviceType,
    /// A device cgroup rule whose access has letters other than r, w, m.
    #[error("{found:?} is not a device access: use a combination of r, w and m, e.g. \"rwm\"")]
    BadDeviceAccess {
        /// The value found.
        found: String,
    },
    /// Two device entries with the same path.
    #[error("duplicates the path of {first}: list each device once")]
    DuplicateDevice {
        /// Path of the first entry.
        first: String,
    },
    /// A sysctl that is not isolated by any namespace.
    #[error("{key:?} is not namespaced: setting it would change the host; remove it")]
    SysctlNotNamespaced {
        /// The sysctl key.
        key: String,
    },
    /// A sysctl key that does not name a file under /proc/sys.
    #[error("{key:?} is not a sysctl name: use dot- or slash-separated non-empty parts, e.g. \"net.ipv4.ip_forward\"")]
    BadSysctlKey {
        /// The sysctl key.
        key: String,
    },
    /// A namespaced sysctl whose namespace is shared with the host.
    #[error("{key:?} belongs to the {kind} namespace, which the container shares with the host: add a new {kind} namespace or remove it")]
    SysctlNamespaceNotPrivate {
        /// The sysctl key.
        key: String,
        /// The namespace type it needs.
        kind: &'static str,
    },
    /// A malformed `linux.cgroupsPath`.
    #[error("{found:?} is not a cgroup path: {why}")]
    BadCgroupsPath {
        /// The value found.
        found: String,
        /// Which rule it breaks.
        why: &'static str,
    },
    /// A hook timeout that is not positive.
    #[error("{found} must be > 0 seconds: raise it or drop the field")]
    BadTimeout {
        /// The value found.
        found: i64,
    },
    /// A clock name that time namespaces do not have.
    #[error("{found:?} is not a time-namespace clock: use \"monotonic\" or \"boottime\"")]
    UnknownClock {
        /// The key found.
        found: String,
    },
    /// An empty annotation key.
    #[error("annotation keys must not be empty: give it a name such as \"com.example.key\"")]
    EmptyAnnotationKey,
    /// An unknown `linux.rootfsPropagation`.
    #[error("{found:?} is not a propagation mode: use shared, slave, private or unbindable (optionally prefixed with r)")]
    BadPropagation {
        /// The value found.
        found: String,
    },
    /// A value outside its allowed range.
    #[error("{found} is out of range: must be within {min}..={max}")]
    OutOfRange {
        /// The value found.
        found: i64,
        /// Lowest allowed value.
        min: i64,
        /// Highest allowed value.
        max: i64,
    },
    /// memory swap limit below memory limit.
    #[error("{swap} is below linux.resources.memory.limit {limit}: swap is memory+swap, so it must be >= limit (or -1 for unlimited)")]
    SwapBelowLimit {
        /// The swap value.
        swap: i64,
        /// The memory limit.
        limit: i64,
    },
    /// An environment entry without `=`.
    #[error("{found:?} has no '=': write KEY=VALUE")]
    EnvWithoutEquals {
        /// The value found.
        found: String,
    },
}
