//! Layer compression: decided from the media type AND the stream's magic bytes.

use std::io::{BufRead, Read};

use crate::error::{ImageError, Result};

/// A layer's compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip (possibly several members).
    Gzip,
    /// zstd.
    Zstd,
}

/// What a media type says, if it says anything.
pub fn from_media_type(m: &str) -> Option<Compression> {
    if m.ends_with("+gzip") || m.ends_with(".tar.gzip") {
        Some(Compression::Gzip)
    } else if m.ends_with("+zstd") {
        Some(Compression::Zstd)
    } else if m.ends_with(".tar") {
        Some(Compression::None)
    } else {
        None
    }
}

/// What the first bytes say.
pub fn from_magic(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Reconciles the two. The magic wins when it recognises a compressor (registries and
/// `docker save` mislabel layers); a compressed media type over a stream without that
/// compressor's magic is refused.
pub fn decide(media_type: &str, head: &[u8], layer: &str) -> Result<Compression> {
    let magic = from_magic(head);
    match (from_media_type(media_type), magic) {
        (Some(Compression::Gzip), Compression::None)
        | (Some(Compression::Zstd), Compression::None) => Err(ImageError::MediaType {
            media_type: media_type.to_owned(),
            digest: layer.to_owned(),
            expected: "content whose magic bytes match the declared compression",
        }),
        (Some(m), c) if m != c => {
            tracing::warn!(layer, media_type, detected = ?c, "layer compression differs from its media type; using the detected one");
            Ok(c)
        }
        _ => Ok(magic),
    }
}

/// Wraps `r` in the decompressor for `c`.
pub fn decoder<'a>(
    c: Compression,
    r: impl BufRead + 'a,
    layer: &str,
) -> Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(r)
                .map_err(|e| ImageError::io("zstd init", layer, e))?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides() {
        let gz = [0x1f, 0x8b, 8, 0];
        assert_eq!(
            decide("application/vnd.oci.image.layer.v1.tar", &gz, "l").unwrap(),
            Compression::Gzip
        );
        assert!(decide("application/vnd.oci.image.layer.v1.tar+gzip", b"ustar", "l").is_err());
        assert_eq!(
            decide("application/vnd.oci.image.layer.v1.tar", b"abc", "l").unwrap(),
            Compression::None
        );
    }
}
