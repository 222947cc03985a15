//! Platforms (`os/arch[/variant]`), shared with the image store through [`gantry_oci`]: this
//! module re-exports them under their historical paths.

pub use gantry_oci::platform::{Platform, PlatformError};
