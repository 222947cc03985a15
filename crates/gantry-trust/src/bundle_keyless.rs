//! The parts of a Sigstore bundle's `verificationMaterial` beyond a plain public key: the Fulcio certificate
//! (v0.3 `certificate`, or the v0.1/v0.2 `x509CertificateChain`) and the Rekor transparency-log entries, whose
//! signed entry timestamps (inclusion promises) are checked offline with the policy's Rekor keys. Rekor v2
//! entries carry no promise (only an inclusion proof against a checkpoint, with the time from an RFC 3161
//! timestamp authority) and are not accepted yet.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::Value;
use sha2::Digest as _;
use x509_cert::der::Decode as _;
use x509_cert::Certificate;

use crate::policy::Material;

/// Most log entries of one bundle examined.
const MAX_ENTRIES: usize = 8;
/// Longest certificate chain read from a bundle.
const MAX_CHAIN: usize = 8;

/// The signing certificate of a bundle and the untrusted intermediates after it.
pub(crate) fn certificate(vm: &Value) -> Result<(Certificate, Vec<Certificate>), String> {
    let raws: Vec<&Value> = match (vm.get("certificate"), vm.get("x509CertificateChain")) {
        (Some(c), _) => vec![c],
        (None, Some(chain)) => chain
            .get("certificates")
            .and_then(Value::as_array)
            .map(|a| a.iter().take(MAX_CHAIN).collect())
            .unwrap_or_default(),
        (None, None) => {
            return Err("Sigstore bundle: no certificate in verificationMaterial (signed with a key, not keyless)".into())
        }
    };
    let mut certs = raws
        .into_iter()
        .map(|c| {
            let der = c
                .get("rawBytes")
                .and_then(Value::as_str)
                .and_then(|s| B64.decode(s).ok())
                .ok_or("Sigstore bundle: certificate rawBytes missing or not base64")?;
            Certificate::from_der(&der)
                .map_err(|e| format!("Sigstore bundle: not an X.509 certificate: {e}"))
        })
        .collect::<Result<Vec<_>, String>>()?
        .into_iter();
    let leaf = certs
        .next()
        .ok_or("Sigstore bundle: x509CertificateChain holds no certificate")?;
    Ok((leaf, certs.collect()))
}

/// The integration time (Unix seconds) of the first log entry of the bundle whose signed entry timestamp
/// verifies with a `rekor` key and which logs `sig` over `payload`.
pub(crate) fn logged_time(
    rekor: &[Material],
    vm: &Value,
    payload: &[u8],
    sig: &[u8],
) -> Result<u64, String> {
    let entries = vm
        .get("tlogEntries")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or(
            "Sigstore bundle: the policy requires a Rekor proof but the bundle has no tlogEntries",
        )?;
    let mut last = String::new();
    for e in entries.iter().take(MAX_ENTRIES) {
        match entry_time(rekor, e, payload, sig) {
            Ok(t) => return Ok(t),
            Err(reason) => last = reason,
        }
    }
    Err(last)
}

fn entry_time(rekor: &[Material], e: &Value, payload: &[u8], sig: &[u8]) -> Result<u64, String> {
    let set = e
        .pointer("/inclusionPromise/signedEntryTimestamp")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .ok_or("Rekor entry: no inclusionPromise.signedEntryTimestamp (a Rekor v2 entry? gantry checks signed entry timestamps only)")?;
    let body = e
        .get("canonicalizedBody")
        .and_then(Value::as_str)
        .ok_or("Rekor entry: canonicalizedBody missing")?;
    let time = integer(e, "integratedTime")?;
    let index = integer(e, "logIndex")?;
    let log_id = e
        .pointer("/logId/keyId")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .map(|id| id.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .ok_or("Rekor entry: logId.keyId missing or not base64")?;
    crate::fulcio::verify_set(rekor, body, time, index, &log_id, &set)?;
    // Only now is the logged body read.
    let entry: Value = B64
        .decode(body)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("Rekor entry: canonicalizedBody is not base64 JSON")?;
    let (hash, logged): (Option<&str>, Vec<Vec<u8>>) =
        match entry.get("kind").and_then(Value::as_str) {
            Some("dsse") => (
                entry
                    .pointer("/spec/payloadHash/value")
                    .and_then(Value::as_str),
                signatures(entry.pointer("/spec/signatures"), "signature"),
            ),
            Some("intoto") => (
                entry
                    .pointer("/spec/content/payloadHash/value")
                    .and_then(Value::as_str),
                signatures(entry.pointer("/spec/content/envelope/signatures"), "sig"),
            ),
            other => {
                return Err(format!(
            "Rekor entry: kind {other:?} does not log a DSSE envelope (expected dsse or intoto)"
        ))
            }
        };
    if hash != Some(format!("{:x}", sha2::Sha256::digest(payload)).as_str()) {
        return Err("the Rekor entry logs a different payload hash".into());
    }
    if !logged.iter().any(|s| s == sig) {
        return Err("the Rekor entry logs a different signature".into());
    }
    Ok(time)
}

/// The signatures of a logged envelope, base64 once (dsse) or, as intoto v0.0.2 stores them, twice.
fn signatures(list: Option<&Value>, field: &str) -> Vec<Vec<u8>> {
    let decode = |s: &str| B64.decode(s).ok();
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get(field).and_then(Value::as_str))
        .flat_map(|s| {
            let once = decode(s);
            let twice = once
                .as_deref()
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(decode);
            [once, twice].into_iter().flatten()
        })
        .collect()
}

/// A protobuf-JSON int64: a string of digits or a number.
fn integer(e: &Value, field: &str) -> Result<u64, String> {
    match e.get(field) {
        Some(Value::String(s)) => s.parse().ok(),
        Some(v) => v.as_u64(),
        None => None,
    }
    .ok_or_else(|| format!("Rekor entry: {field} missing or not an integer"))
}
