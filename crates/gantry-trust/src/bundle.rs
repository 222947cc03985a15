//! Sigstore bundles (cosign 3's default for images): a DSSE envelope whose payload is an in-toto v1 statement
//! naming the image digest as its subject, signed over DSSE's pre-authentication encoding (PAE). Verified with
//! the policy's public keys, or keyless: with the bundle's Fulcio certificate checked against the policy's CA and
//! identity, and a Rekor entry (signed entry timestamp) showing it was logged while the certificate was valid.
//! With `rekorPublicKey` and keys, the Rekor entry is required too.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use gantry_registry::Reference;
use serde_json::Value;

use crate::policy::{SignedIdentity, SigstoreSigned};

/// The in-toto statement type of cosign's image signatures.
const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of an image signature in a bundle; any other predicate (an SBOM, a scan result, a custom
/// attestation) is a statement about the image signed by the same key, not its signature.
pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The DSSE payload type of in-toto statements.
const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// DSSE's pre-authentication encoding of `payload` with `payload_type`: what the signature covers.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Checks one bundle against one `sigstoreSigned` requirement for the pulled `r` at `digest`.
pub fn check(
    req: &SigstoreSigned,
    r: &Reference,
    digest: &str,
    bundle: &[u8],
) -> Result<(), String> {
    let v: Value =
        serde_json::from_slice(bundle).map_err(|e| format!("Sigstore bundle: not JSON: {e}"))?;
    let media = v
        .get("mediaType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !media.starts_with("application/vnd.dev.sigstore.bundle") {
        return Err(format!("Sigstore bundle: unexpected mediaType {media:?}"));
    }
    let env = v.get("dsseEnvelope").ok_or(
        "Sigstore bundle: no dsseEnvelope (message-signature bundles are not used for images)",
    )?;
    let payload_type = env
        .get("payloadType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if payload_type != INTOTO_PAYLOAD_TYPE {
        return Err(format!(
            "Sigstore bundle: payloadType {payload_type:?}, expected {INTOTO_PAYLOAD_TYPE:?}"
        ));
    }
    let payload = env
        .get("payload")
        .and_then(Value::as_str)
        .and_then(|p| B64.decode(p).ok())
        .ok_or("Sigstore bundle: dsseEnvelope.payload missing or not base64")?;
    let sigs: Vec<Vec<u8>> = env
        .get("signatures")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    s.get("sig")
                        .and_then(Value::as_str)
                        .and_then(|s| B64.decode(s).ok())
                })
                .collect()
        })
        .unwrap_or_default();
    if sigs.is_empty() {
        return Err("Sigstore bundle: no DSSE signature".into());
    }
    let vm = v.get("verificationMaterial").unwrap_or(&Value::Null);
    let (keys, validity) = match &req.fulcio {
        Some(f) => {
            let (leaf, chain) = crate::bundle_keyless::certificate(vm)?;
            let roots = crate::fulcio::policy_roots(f)?;
            let (key, validity) = crate::fulcio::certified_key(&roots, f, &leaf, &chain)?;
            (vec![key], Some(validity))
        }
        None => (crate::verify::keys_of(&req.keys)?, None),
    };
    let message = pae(payload_type, &payload);
    let Some(sig) = sigs
        .iter()
        .find(|s| keys.iter().any(|k| k.verify(&message, s)))
    else {
        return Err(if req.fulcio.is_some() {
            "Sigstore bundle: the envelope does not verify with its Fulcio certificate".into()
        } else {
            format!(
                "Sigstore bundle: not signed by a trusted key ({})",
                crate::verify::describe(&req.keys)
            )
        });
    };
    if req.fulcio.is_some() || !req.rekor_keys.is_empty() {
        let logged = crate::bundle_keyless::logged_time(&req.rekor_keys, vm, &payload, sig)?;
        if let Some(validity) = validity {
            crate::fulcio::logged_while_valid(logged, validity)?;
        }
    }
    // Only now is the signed statement read.
    let st: Value = serde_json::from_slice(&payload)
        .map_err(|e| format!("Sigstore bundle: statement is not JSON: {e}"))?;
    if st.get("_type").and_then(Value::as_str) != Some(STATEMENT_V1) {
        return Err(format!(
            "Sigstore bundle: statement _type is not {STATEMENT_V1:?}"
        ));
    }
    let predicate = st
        .get("predicateType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if predicate != SIGN_PREDICATE_TYPE {
        return Err(format!(
            "Sigstore bundle: an attestation of predicate type {predicate:?}, not an image signature \
             ({SIGN_PREDICATE_TYPE:?})"
        ));
    }
    let (algo, hex) = digest.split_once(':').ok_or("invalid pulled digest")?;
    let subjects = st
        .get("subject")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(subject) = subjects.iter().find(|s| {
        s.pointer(&format!("/digest/{algo}"))
            .and_then(Value::as_str)
            == Some(hex)
    }) else {
        return Err(format!(
            "Sigstore bundle: the statement's subjects do not include {digest} (a signature for another image)"
        ));
    };
    match subject.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) {
        Some(name) => crate::identity::check(&req.signed_identity, r, name),
        // A bundle names only the digest; it is bound to the repository it is attached in.
        None => match req.signed_identity {
            SignedIdentity::MatchRepoDigestOrExact | SignedIdentity::MatchRepository => Ok(()),
            ref other => Err(format!(
                "Sigstore bundle names no image reference, so signedIdentity {} cannot be satisfied",
                crate::identity::describe(other)
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Material;
    use p256::pkcs8::EncodePublicKey as _;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn bundle(sk: &p256::ecdsa::SigningKey, statement: &Value) -> Vec<u8> {
        let payload = statement.to_string();
        let sig = crate::sign::sign(sk, &pae(INTOTO_PAYLOAD_TYPE, payload.as_bytes()));
        serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": "x"}},
            "dsseEnvelope": {"payload": B64.encode(payload), "payloadType": INTOTO_PAYLOAD_TYPE,
                             "signatures": [{"sig": B64.encode(sig), "keyid": ""}]}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn dsse_bundles() {
        let sk = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let pem = sk
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let req = |id| SigstoreSigned {
            keys: vec![Material::Data(pem.clone().into_bytes())],
            fulcio: None,
            rekor_keys: vec![],
            signed_identity: id,
        };
        let r = Reference::parse("quay.io/ns/app:v1").unwrap();
        let st = |hex: &str| {
            serde_json::json!({"_type": STATEMENT_V1, "subject": [{"digest": {"sha256": hex}}],
            "predicateType": SIGN_PREDICATE_TYPE})
        };
        let good = bundle(&sk, &st(&D[7..]));
        check(&req(SignedIdentity::MatchRepoDigestOrExact), &r, D, &good).unwrap();
        let e = check(&req(SignedIdentity::MatchExact), &r, D, &good).unwrap_err();
        assert!(e.contains("names no image reference"), "{e}");
        let other = bundle(&sk, &st("ff"));
        assert!(check(&req(SignedIdentity::MatchRepository), &r, D, &other)
            .unwrap_err()
            .contains("do not include"));
        let stranger = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let forged = bundle(&stranger, &st(&D[7..]));
        assert!(check(&req(SignedIdentity::MatchRepository), &r, D, &forged)
            .unwrap_err()
            .contains("not signed by a trusted key"));
        // A signature over the raw payload instead of the PAE does not count.
        let mut v: Value = serde_json::from_slice(&good).unwrap();
        let raw_sig = crate::sign::sign(&sk, st(&D[7..]).to_string().as_bytes());
        v["dsseEnvelope"]["signatures"][0]["sig"] = Value::String(B64.encode(raw_sig));
        assert!(check(
            &req(SignedIdentity::MatchRepository),
            &r,
            D,
            v.to_string().as_bytes()
        )
        .is_err());
        let named = bundle(
            &sk,
            &serde_json::json!({"_type": STATEMENT_V1, "predicateType": SIGN_PREDICATE_TYPE,
            "subject": [{"name": "quay.io/ns/app:v1", "digest": {"sha256": &D[7..]}}]}),
        );
        check(&req(SignedIdentity::MatchExact), &r, D, &named).unwrap();
        assert!(check(
            &req(SignedIdentity::MatchExact),
            &Reference::parse("quay.io/ns/app:v2").unwrap(),
            D,
            &named
        )
        .is_err());
        // An attestation signed by the trusted key is not a signature of the image.
        let attestation = bundle(
            &sk,
            &serde_json::json!({"_type": STATEMENT_V1, "predicateType": "https://cosign.sigstore.dev/attestation/v1",
            "subject": [{"digest": {"sha256": &D[7..]}}], "predicate": {"verdict": "vulnerable"}}),
        );
        let e = check(&req(SignedIdentity::MatchRepository), &r, D, &attestation).unwrap_err();
        assert!(e.contains("an attestation of predicate type"), "{e}");
    }
}
