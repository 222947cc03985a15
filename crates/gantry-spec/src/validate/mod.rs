//! Checks a parsed [`Spec`] against the runtime spec's MUSTs and this runtime's own rules.
//!
//! One module per part of config.json. Validation never re-serialises and allocates only
//! to build an error. The first problem found is returned.
//!
//! Where this differs from runc 1.1 (each also explained at its check):
//! - stricter: a relative `root.path` climbing out of the bundle, `..` in `linux.cgroupsPath`
//!   or in a device path, duplicate device paths, sysctl keys with empty parts, soft > hard
//!   rlimits, device cgroup rules of type u/p or with access letters other than rwm, relative
//!   `maskedPaths`/`readonlyPaths`, `timeOffsets` without a new time namespace, more than 340
//!   id-map lines, overlapping id ranges — runc fails later (in the kernel, with a bare errno)
//!   or not at all;
//! - same as runc: env entries must be NAME=VALUE; hostname/domainname and namespaced sysctls
//!   need the matching namespace (new or joined); a new user namespace needs both maps;
//! - more lenient than runtime-spec 1.0 (following 1.1+): relative mount destinations are
//!   accepted with a warning, relative to "/";
//! - not checked here (need the host): whether a namespace `path` is a namespace of that type,
//!   whether joined-userns mappings match, capability names beyond the kernel's last cap,
//!   seccomp (gantry-security) and cgroup resource values (gantry-cgroups).

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::SpecError;

mod cgroups_path;
mod devices;
mod hooks;
mod idmap;
mod misc;
mod mounts;
mod namespaces;
mod paths;
mod process;
mod root;
mod sysctl;
mod version;

pub use cgroups_path::{parse_cgroups_path, CgroupsPath};
pub use namespaces::{json_name as namespace_json_name, NamespaceMode, Namespaces};

/// Validates `spec` for a bundle at `bundle_dir`: all field rules, then that the rootfs is a directory.
pub fn validate(spec: &Spec, bundle_dir: &Path) -> Result<(), SpecError> {
    validate_with_rootfs(spec, bundle_dir).map(drop)
}

/// Validates every field rule that needs no file-system access (what `validate` checks
/// minus the rootfs directory). Safe on untrusted input; used by the fuzz target.
pub fn validate_fields(spec: &Spec) -> Result<(), SpecError> {
    version::check(spec.version())?;
    root::check(spec.root().as_ref())?;
    let ns = Namespaces::of(spec)?;
    if let Some(process) = spec.process() {
        process::check(process)?;
    }
    if let Some(list) = spec.mounts() {
        mounts::check(list)?;
    }
    misc::check_top_level(spec, &ns)?;
    if let Some(linux) = spec.linux() {
        idmap::check(linux, &ns)?;
        devices::check(linux)?;
        sysctl::check(linux, &ns)?;
        cgroups_path::check(linux)?;
        misc::check_linux(linux, &ns)?;
    }
    if let Some(h) = spec.hooks() {
        hooks::check(h)?;
    }
    Ok(())
}

/// [`validate`], returning the resolved rootfs path.
pub(crate) fn validate_with_rootfs(spec: &Spec, bundle_dir: &Path) -> Result<PathBuf, SpecError> {
    validate_fields(spec)?;
    root::resolve_rootfs(spec.root().as_ref(), bundle_dir)
}
