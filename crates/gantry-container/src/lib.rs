//! The container library behind `gantry-runtime` (and later the engine): the OCI lifecycle verbs over a state
//! directory, and the process model that creates a container's init.
//!
//! Map: [`verbs`] (one file per lifecycle operation) → [`process`] (clone, sync protocol, init sequence) →
//! [`rootfs`] (mounts, devices, pivot) and [`namespaces`] (the pure namespace plan); [`state`] keeps what lives
//! between the separate CLI calls.

#![forbid(unsafe_code)]

pub mod device_rules;
pub mod error;
pub mod hooks;
pub mod id;
pub mod namespaces;
pub mod net;
pub mod process;
pub mod procfs;
pub mod rootfs;
pub mod seccomp_cache;
pub mod state;
pub mod time;
pub mod verbs;

pub use error::{Error, Result};
/// The OCI spec types this library speaks (re-exported so callers use the same version).
pub use oci_spec;
pub use state::{State, StateRoot, Status};

/// The runtime-spec version this library implements.
pub const OCI_VERSION: &str = "1.2.0";
