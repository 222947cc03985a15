//! Capabilities and seccomp: turn the OCI spec's confinement settings into kernel state.
