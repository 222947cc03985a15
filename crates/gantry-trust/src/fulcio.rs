//! Keyless (Fulcio certificate) signatures and Rekor signed entry timestamps, checked offline.
//!
//! A Fulcio signature carries its short-lived certificate (and intermediates) in layer annotations. It is
//! accepted when the certificate chains to the policy's CA, names the required OIDC issuer and e-mail, the
//! payload signature verifies with the certificate's key, and a Rekor bundle signed by a trusted Rekor key shows
//! the entry (this signature, this payload hash) was logged while the certificate was valid.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::Value;
use sha2::Digest as _;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::Certificate;

use crate::keys::{pem_blocks, PublicKey};
use crate::payload::{BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION};
use crate::policy::{Fulcio, Material};
use crate::verify::Signature;

/// Fulcio's OIDC issuer extension (raw string; deprecated form).
const OID_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
/// Fulcio's OIDC issuer extension (DER UTF8String).
const OID_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
/// subjectAltName.
const OID_SAN: &str = "2.5.29.17";
/// ecdsa-with-SHA256.
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
/// ecdsa-with-SHA384.
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
/// Longest chain followed.
const MAX_DEPTH: usize = 5;

/// The public key of the Fulcio certificate that made `sig`, once the certificate is verified against the CA,
/// carries the required identity, and its Rekor entry is proven with `rekor` keys.
pub fn signer_key(f: &Fulcio, rekor: &[Material], sig: &Signature) -> Result<PublicKey, String> {
    let pem = sig.annotations.get(CERTIFICATE_ANNOTATION).ok_or_else(|| {
        format!("no {CERTIFICATE_ANNOTATION} annotation (not a keyless signature)")
    })?;
    let leaf = certs(pem.as_bytes(), "the signature's certificate")?
        .into_iter()
        .next()
        .ok_or("the signature's certificate annotation holds no certificate")?;
    let chain = match sig.annotations.get(CHAIN_ANNOTATION) {
        Some(c) => certs(c.as_bytes(), "the signature's certificate chain")?,
        None => vec![],
    };
    let roots = policy_roots(f)?;
    let (key, validity) = certified_key(&roots, f, &leaf, &chain)?;
    let raw = signature_bytes(sig)?;
    let integrated = check_rekor_set(rekor, sig, &raw)?;
    logged_while_valid(integrated, validity)?;
    Ok(key)
}

/// The CA certificates of the policy's `fulcio.caPath`/`caData` (at least one).
pub(crate) fn policy_roots(f: &Fulcio) -> Result<Vec<Certificate>, String> {
    let ca_bytes = f.ca.bytes().map_err(|e| e.to_string())?;
    let roots = certs(&ca_bytes, &f.ca.describe())?;
    if roots.is_empty() {
        return Err(format!("{}: no CA certificate", f.ca.describe()));
    }
    Ok(roots)
}

/// The public key of `leaf` once it chains (through the untrusted `chain`) to one of `roots` and names the
/// policy's OIDC issuer and e-mail; with its validity (Unix seconds, from..to).
pub(crate) fn certified_key(
    roots: &[Certificate],
    f: &Fulcio,
    leaf: &Certificate,
    chain: &[Certificate],
) -> Result<(PublicKey, (u64, u64)), String> {
    chain_to_root(leaf, chain, roots)?;
    check_identity(leaf, f)?;
    let spki = leaf
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| format!("certificate public key: {e}"))?;
    let key =
        PublicKey::from_spki_der(&spki, "the Fulcio certificate").map_err(|e| e.to_string())?;
    let validity = &leaf.tbs_certificate.validity;
    Ok((
        key,
        (
            validity.not_before.to_unix_duration().as_secs(),
            validity.not_after.to_unix_duration().as_secs(),
        ),
    ))
}

/// A short-lived certificate counts only for signatures logged while it was valid.
pub(crate) fn logged_while_valid(integrated: u64, (from, to): (u64, u64)) -> Result<(), String> {
    if integrated < from || integrated > to {
        return Err(format!(
            "the Rekor entry was logged at {integrated}, outside the certificate's validity {from}..{to}"
        ));
    }
    Ok(())
}

/// Checks the Rekor signed entry timestamp in `sig`'s bundle annotation with the `rekor` keys, and that the
/// logged entry is this signature over this payload. Returns the entry's integration time (Unix seconds).
pub fn check_rekor_set(rekor: &[Material], sig: &Signature, raw: &[u8]) -> Result<u64, String> {
    let bundle = sig
        .annotations
        .get(BUNDLE_ANNOTATION)
        .ok_or_else(|| format!("the policy requires a Rekor proof but the signature has no {BUNDLE_ANNOTATION} annotation"))?;
    let v: Value =
        serde_json::from_str(bundle).map_err(|e| format!("Rekor bundle: not JSON: {e}"))?;
    let set = v
        .get("SignedEntryTimestamp")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .ok_or("Rekor bundle: SignedEntryTimestamp missing or not base64")?;
    let p = v.get("Payload").ok_or("Rekor bundle: Payload missing")?;
    let body = p
        .get("body")
        .and_then(Value::as_str)
        .ok_or("Rekor bundle: Payload.body missing")?;
    let time = p
        .get("integratedTime")
        .and_then(Value::as_u64)
        .ok_or("Rekor bundle: Payload.integratedTime missing")?;
    let index = p
        .get("logIndex")
        .and_then(Value::as_u64)
        .ok_or("Rekor bundle: Payload.logIndex missing")?;
    let log_id = p
        .get("logID")
        .and_then(Value::as_str)
        .ok_or("Rekor bundle: Payload.logID missing")?;
    verify_set(rekor, body, time, index, log_id, &set)?;
    let entry: Value = B64
        .decode(body)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("Rekor bundle: Payload.body is not base64 JSON")?;
    let spec = entry.get("spec").ok_or("Rekor entry: no spec")?;
    let logged_sig = spec
        .pointer("/signature/content")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .ok_or("Rekor entry: spec.signature.content missing")?;
    if logged_sig != raw {
        return Err("the Rekor entry logs a different signature".into());
    }
    let logged_hash = spec
        .pointer("/data/hash/value")
        .and_then(Value::as_str)
        .ok_or("Rekor entry: spec.data.hash.value missing")?;
    let actual = format!("{:x}", sha2::Sha256::digest(&sig.payload));
    if logged_hash != actual {
        return Err("the Rekor entry logs a different payload hash".into());
    }
    Ok(time)
}

/// Checks a Rekor signed entry timestamp (inclusion promise): `set` signs the canonical JSON (sorted keys, no
/// spaces) of the entry's base64 `body`, `integratedTime`, hex `logID` and `logIndex`, with one of the `rekor` keys.
pub(crate) fn verify_set(
    rekor: &[Material],
    body: &str,
    time: u64,
    index: u64,
    log_id: &str,
    set: &[u8],
) -> Result<(), String> {
    let canonical = serde_json::json!({"body": body, "integratedTime": time, "logID": log_id, "logIndex": index}).to_string();
    let keys = crate::verify::keys_of(rekor)?;
    if !keys.iter().any(|k| k.verify(canonical.as_bytes(), set)) {
        return Err(
            "the Rekor signed entry timestamp does not verify with the trusted Rekor key".into(),
        );
    }
    Ok(())
}

/// The raw signature bytes of `sig`.
fn signature_bytes(sig: &Signature) -> Result<Vec<u8>, String> {
    let b64 = sig
        .annotations
        .get(crate::payload::SIGNATURE_ANNOTATION)
        .ok_or("no signature annotation")?;
    B64.decode(b64.trim())
        .map_err(|e| format!("signature annotation is not base64: {e}"))
}

/// Every certificate of a PEM document.
pub(crate) fn certs(pem: &[u8], what: &str) -> Result<Vec<Certificate>, String> {
    pem_blocks(pem, what)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|(l, _)| l == "CERTIFICATE")
        .map(|(_, der)| {
            Certificate::from_der(&der)
                .map_err(|e| format!("{what}: not an X.509 certificate: {e}"))
        })
        .collect()
}

/// Follows issuers from `leaf` through `chain` (untrusted intermediates) until a certificate signed by one of
/// `roots`, checking every signature on the way.
fn chain_to_root(
    leaf: &Certificate,
    chain: &[Certificate],
    roots: &[Certificate],
) -> Result<(), String> {
    let mut current = leaf.clone();
    for _ in 0..MAX_DEPTH {
        if roots.iter().any(|r| issued_by(&current, r)) {
            return Ok(());
        }
        match chain.iter().find(|c| issued_by(&current, c)) {
            Some(next) => current = next.clone(),
            None => break,
        }
    }
    Err("the Fulcio certificate does not chain to the policy's CA".into())
}

/// Whether `issuer` names and signed `cert`.
fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return false;
    }
    let (Ok(tbs), Ok(spki)) = (
        cert.tbs_certificate.to_der(),
        issuer.tbs_certificate.subject_public_key_info.to_der(),
    ) else {
        return false;
    };
    let Ok(key) = PublicKey::from_spki_der(&spki, "issuer") else {
        return false;
    };
    let digest: Vec<u8> = match cert.signature_algorithm.oid.to_string().as_str() {
        ECDSA_SHA256 => sha2::Sha256::digest(&tbs).to_vec(),
        ECDSA_SHA384 => sha2::Sha384::digest(&tbs).to_vec(),
        _ => return false,
    };
    key.verify_digest(&digest, cert.signature.raw_bytes())
}

/// The certificate must name the policy's OIDC issuer and subject e-mail.
fn check_identity(cert: &Certificate, f: &Fulcio) -> Result<(), String> {
    let exts = cert
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default();
    let mut issuer = None;
    let mut emails = Vec::new();
    for e in exts {
        let value = e.extn_value.as_bytes();
        match e.extn_id.to_string().as_str() {
            OID_ISSUER_V1 => issuer = Some(String::from_utf8_lossy(value).into_owned()),
            OID_ISSUER_V2 => {
                if let Ok(s) = x509_cert::der::asn1::Utf8StringRef::from_der(value) {
                    issuer = Some(s.as_str().to_string());
                }
            }
            OID_SAN => {
                if let Ok(san) = x509_cert::ext::pkix::SubjectAltName::from_der(value) {
                    for n in san.0 {
                        if let x509_cert::ext::pkix::name::GeneralName::Rfc822Name(m) = n {
                            emails.push(m.as_str().to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    match issuer {
        Some(i) if i == f.oidc_issuer => {}
        Some(i) => {
            return Err(format!(
                "the certificate's OIDC issuer is {i:?}, the policy requires {:?}",
                f.oidc_issuer
            ))
        }
        None => return Err("the certificate names no OIDC issuer".into()),
    }
    if !emails.contains(&f.subject_email) {
        return Err(format!(
            "the certificate is for {:?}, the policy requires {:?}",
            emails.join(", "),
            f.subject_email
        ));
    }
    Ok(())
}
