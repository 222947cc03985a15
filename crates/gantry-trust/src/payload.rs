//! The signed payload ("simple signing" as cosign and containers/image write it):
//! `{"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},"type":T},"optional":{...}}`.
//! The `critical` section is parsed strictly (unknown fields are refused, as containers/image does).

use serde_json::{Map, Value};

use crate::error::TrustError;

/// The `critical.type` of an image signature.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";
/// Media type of a payload layer in a `.sig` image.
pub const PAYLOAD_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Annotation holding the base64 signature of a payload layer.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Annotation holding a Fulcio certificate (PEM).
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// Annotation holding the certificate chain (PEM).
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// Annotation holding a Rekor bundle (signed entry timestamp).
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// Largest payload accepted.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// The parts of a payload that verification uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// `critical.identity.docker-reference`.
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`.
    pub manifest_digest: String,
}

/// Parses a payload; any deviation from the format is an error naming the field.
pub fn parse(bytes: &[u8]) -> Result<Payload, TrustError> {
    let bad = |s: String| TrustError::Payload(s);
    if bytes.len() > MAX_PAYLOAD {
        return Err(bad(format!(
            "{} bytes, at most {MAX_PAYLOAD} accepted",
            bytes.len()
        )));
    }
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let top = object(&v, "(document)")?;
    only(top, "(document)", &["critical", "optional"])?;
    let critical = object(top.get("critical").unwrap_or(&Value::Null), "critical")?;
    only(critical, "critical", &["identity", "image", "type"])?;
    let ty = string(critical, "critical", "type")?;
    if ty != SIGNATURE_TYPE {
        return Err(bad(format!(
            "critical.type is {ty:?}, expected {SIGNATURE_TYPE:?}"
        )));
    }
    let identity = object(
        critical.get("identity").unwrap_or(&Value::Null),
        "critical.identity",
    )?;
    only(identity, "critical.identity", &["docker-reference"])?;
    let image = object(
        critical.get("image").unwrap_or(&Value::Null),
        "critical.image",
    )?;
    only(image, "critical.image", &["docker-manifest-digest"])?;
    match top.get("optional") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => return Err(bad("optional must be an object".into())),
    }
    Ok(Payload {
        docker_reference: string(identity, "critical.identity", "docker-reference")?,
        manifest_digest: string(image, "critical.image", "docker-manifest-digest")?,
    })
}

/// Builds a payload for `docker_reference` at `manifest_digest`, as skopeo writes it.
pub fn build(docker_reference: &str, manifest_digest: &str, timestamp: u64) -> Vec<u8> {
    let v = serde_json::json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": {"creator": concat!("gantry ", env!("CARGO_PKG_VERSION")), "timestamp": timestamp},
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, TrustError> {
    v.as_object()
        .ok_or_else(|| TrustError::Payload(format!("{field} must be an object")))
}

fn only(o: &Map<String, Value>, field: &str, allowed: &[&str]) -> Result<(), TrustError> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(TrustError::Payload(format!("{field}.{k:?}: unknown field"))),
        None => Ok(()),
    }
}

fn string(o: &Map<String, Value>, field: &str, k: &str) -> Result<String, TrustError> {
    match o.get(k) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(TrustError::Payload(format!("{field}.{k} must be a string"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_strictness() {
        let p = build("quay.io/a/b:v1", "sha256:00", 7);
        let parsed = parse(&p).unwrap();
        assert_eq!(parsed.docker_reference, "quay.io/a/b:v1");
        assert_eq!(parsed.manifest_digest, "sha256:00");
        let ok = r#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"d"},"type":"cosign container image signature"},"optional":null}"#;
        assert!(parse(ok.as_bytes()).is_ok());
        for bad in [
            "",
            "[]",
            r#"{"critical":{}}"#,
            r#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"d"},"type":"other"}}"#,
            r#"{"critical":{"identity":{"docker-reference":"r","x":1},"image":{"docker-manifest-digest":"d"},"type":"cosign container image signature"}}"#,
            r#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":1},"type":"cosign container image signature"}}"#,
            r#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"d"},"type":"cosign container image signature","extra":1}}"#,
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
