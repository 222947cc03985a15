//! The container library behind `gantry-runtime` (and later the engine): the OCI lifecycle verbs over a state
//! directory, and the process model that creates a container's init.
//!
//! Map: [`verbs`] (one file per lifecycle operation) → [`process`] (clone, sync protocol, init sequence) →
//! [`rootfs`] (mounts, devices, pivot) and [`namespaces`] (the pure namespace plan); [`state`] keeps what lives
//! between the separate CLI calls.

#![forbid(unsafe_code)]

// The public surface: the verbs, the state they keep, their errors, and what the engine needs (the namespace kinds,
// time stamps, the LSM probes `features` reports). Everything else is the crate's own.
pub(crate) mod device_rules;
pub mod error;
mod gate;
pub(crate) mod hooks;
pub(crate) mod id;
pub mod namespaces;
pub(crate) mod net;
pub(crate) mod process;
pub(crate) mod procfs;
pub(crate) mod rootfs;
pub(crate) mod seccomp_cache;
pub mod state;
pub mod time;
pub mod verbs;

pub use error::{Error, Result};
/// The OCI spec types this library speaks (re-exported so callers use the same version).
pub use oci_spec;
pub use process::lsm::{apparmor_enabled, selinux_enabled};
pub use state::{State, StateRoot, Status};

/// The runtime-spec version this library implements (gantry-spec's, the one owner: `features` reports it as
/// `ociVersionMax`, `state` and the hooks' state carry it).
pub use gantry_spec::OCI_VERSION;
