//! Image configuration (`application/vnd.oci.image.config.v1+json` or Docker's) parsing.

use oci_spec::image::ImageConfiguration;

use crate::digest::Digest;
use crate::error::{ImageError, Result};

/// Parses an image config document (already size-bounded by the caller).
pub fn parse_image_config(bytes: &[u8], name: &str) -> Result<ImageConfiguration> {
    let cfg: ImageConfiguration =
        serde_json::from_slice(bytes).map_err(|e| ImageError::InvalidDocument {
            what: "image config",
            digest: name.to_owned(),
            reason: e.to_string(),
        })?;
    if cfg.rootfs().typ() != "layers" {
        return Err(ImageError::InvalidDocument {
            what: "image config",
            digest: name.to_owned(),
            reason: format!(
                "rootfs.type is {:?}, expected \"layers\"",
                cfg.rootfs().typ()
            ),
        });
    }
    Ok(cfg)
}

/// The validated `rootfs.diff_ids` of a config.
pub fn diff_ids(cfg: &ImageConfiguration, name: &str) -> Result<Vec<Digest>> {
    cfg.rootfs()
        .diff_ids()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Digest::parse(d)
                .map_err(ImageError::from)
                .map_err(|e| ImageError::InvalidDocument {
                    what: "image config",
                    digest: name.to_owned(),
                    reason: format!("rootfs.diff_ids[{i}]: {e}"),
                })
        })
        .collect()
}
