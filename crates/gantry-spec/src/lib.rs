//! Loads and validates an OCI runtime bundle's config.json; generates default specs.
//!
//! - [`Bundle::load`]: read `<bundle>/config.json` once, parse it ([`parse`]) and check it
//!   ([`validate`]). Every error is one line naming the JSON field and what to do.
//! - [`default_spec`]: what `gantry-runtime spec` writes (runc-equivalent).
//! - [`Features`]: the `features` document (runtime-spec features.md), via [`FeaturesBuilder`].
#![forbid(unsafe_code)]

mod bundle;
mod default_spec;
mod error;
pub mod features;
mod parse;
mod problem;
mod runc_json;
mod validate;

pub use bundle::{Bundle, MAX_CONFIG_SIZE};
pub use default_spec::{default_spec, OCI_VERSION};
pub use error::SpecError;
pub use features::{Features, FeaturesBuilder};
pub use oci_spec::runtime::Spec;
pub use parse::parse;
pub use problem::Problem;
pub use runc_json::{to_runc_json, write_runc_json};
pub use validate::{
    namespace_json_name, parse_cgroups_path, validate, validate_fields, CgroupsPath, NamespaceMode,
    Namespaces,
};

/// Parses and validates config.json bytes without touching the file system (the rootfs is not
/// checked). Never panics on any input; this is the fuzz targets' entry point.
pub fn parse_and_validate(bytes: &[u8]) -> Result<Spec, SpecError> {
    let spec = parse(bytes)?;
    validate_fields(&spec)?;
    Ok(spec)
}
