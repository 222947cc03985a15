//! Keyless signatures: a throw-away CA (made with openssl) issues a Fulcio-style certificate (e-mail SAN, OIDC
//! issuer extension); a throw-away Rekor key signs the entry timestamp. Accepted only with the right CA, issuer,
//! e-mail and Rekor key, and an entry logged while the certificate was valid.

use std::path::Path;
use std::process::Command;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use gantry_registry::Reference;
use gantry_trust::payload::{BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, SIGNATURE_ANNOTATION};
use gantry_trust::{verify, Policy, Signature};
use p256::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
use sha2::Digest as _;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes `NAME.key` and a CA certificate `NAME.pem` (P-384, SHA-384).
fn ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            &format!("{name}.key"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/O=test/CN={name}"),
            "-days",
            "2",
            "-sha384",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

/// A leaf for `email` from `issuer`, signed by CA `ca`; returns (leaf PEM, signing key).
fn leaf(dir: &Path, ca: &str, email: &str, issuer: &str) -> (String, p256::ecdsa::SigningKey) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "leaf.key",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-subj",
            "/O=sigstore.dev",
            "-out",
            "leaf.csr",
        ],
    );
    std::fs::write(dir.join("ext.cnf"), format!("subjectAltName=email:{email}\nkeyUsage=critical,digitalSignature\n1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:{issuer}\n")).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "1",
            "-sha384",
            "-extfile",
            "ext.cnf",
            "-out",
            "leaf.pem",
        ],
    );
    let sk =
        p256::SecretKey::from_pkcs8_pem(&std::fs::read_to_string(dir.join("leaf.key")).unwrap())
            .unwrap();
    (
        std::fs::read_to_string(dir.join("leaf.pem")).unwrap(),
        sk.into(),
    )
}

/// A signature of `payload` by `key` with certificate `cert` and a Rekor bundle logged at `time`, signed by `rekor`.
fn keyless(
    payload: &[u8],
    key: &p256::ecdsa::SigningKey,
    cert: &str,
    rekor: &p256::ecdsa::SigningKey,
    time: u64,
) -> Signature {
    let sig = gantry_trust::sign::sign(key, payload);
    let body = serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": format!("{:x}", sha2::Sha256::digest(payload))}},
        "signature": {"content": B64.encode(&sig), "publicKey": {"content": B64.encode(cert)}}}});
    let body = B64.encode(body.to_string());
    let canonical =
        serde_json::json!({"body": body, "integratedTime": time, "logID": "ab", "logIndex": 7})
            .to_string();
    let set = gantry_trust::sign::sign(rekor, canonical.as_bytes());
    let bundle = serde_json::json!({"SignedEntryTimestamp": B64.encode(set),
        "Payload": {"body": body, "integratedTime": time, "logIndex": 7, "logID": "ab"}});
    Signature {
        payload: payload.to_vec(),
        annotations: [
            (SIGNATURE_ANNOTATION.to_string(), B64.encode(sig)),
            (CERTIFICATE_ANNOTATION.to_string(), cert.to_string()),
            (BUNDLE_ANNOTATION.to_string(), bundle.to_string()),
        ]
        .into(),
        bundle: None,
    }
}

/// A Rekor integration time just after a certificate made now was issued.
fn just_after_issue() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1
}

/// Throw-away CAs `fulcio` and `rogue` and a Rekor key (its public half in `rekor.pub`) in `dir`.
fn trust_material(dir: &Path) -> p256::ecdsa::SigningKey {
    ca(dir, "fulcio");
    ca(dir, "rogue");
    let rekor = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let pem = rekor
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    std::fs::write(dir.join("rekor.pub"), pem).unwrap();
    rekor
}

/// A keyless policy for `email` from `issuer` with CA `ca` and the Rekor key of [`trust_material`].
fn fulcio_policy(dir: &Path, email: &str, issuer: &str, ca: &str) -> Policy {
    let doc = serde_json::json!({"default": [{"type": "sigstoreSigned",
        "fulcio": {"caPath": dir.join(format!("{ca}.pem")), "oidcIssuer": issuer, "subjectEmail": email},
        "rekorPublicKeyPath": dir.join("rekor.pub")}]});
    Policy::parse(doc.to_string().as_bytes(), "fulcio-test.json").unwrap()
}

#[test]
fn fulcio_certificates_and_rekor_proofs() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let rekor = trust_material(dir);
    let policy = |email: &str, issuer: &str, ca: &str| fulcio_policy(dir, email, issuer, ca);
    let r = Reference::parse("quay.io/ns/app:v1").unwrap();
    let payload = gantry_trust::payload::build("quay.io/ns/app:v1", DIGEST, 1);
    let (cert, key) = leaf(dir, "fulcio", "dev@example.com", "https://issuer.example");
    // Logged after the certificate was issued.
    let now = just_after_issue();
    let good = policy("dev@example.com", "https://issuer.example", "fulcio");
    let check = |p: &Policy, s: &Signature| {
        verify(p, &r, DIGEST, std::slice::from_ref(s), "test")
            .map(|_| ())
            .map_err(|e| e.to_string())
    };

    let sig = keyless(&payload, &key, &cert, &rekor, now);
    check(&good, &sig).unwrap();

    let e = check(
        &policy("eve@example.com", "https://issuer.example", "fulcio"),
        &sig,
    )
    .unwrap_err();
    assert!(e.contains("the policy requires \"eve@example.com\""), "{e}");
    let e = check(&policy("dev@example.com", "https://other", "fulcio"), &sig).unwrap_err();
    assert!(e.contains("OIDC issuer"), "{e}");
    let e = check(
        &policy("dev@example.com", "https://issuer.example", "rogue"),
        &sig,
    )
    .unwrap_err();
    assert!(e.contains("does not chain to the policy's CA"), "{e}");

    // Logged outside the certificate's validity, or proven by another Rekor key.
    let e = check(&good, &keyless(&payload, &key, &cert, &rekor, 1000)).unwrap_err();
    assert!(e.contains("outside the certificate's validity"), "{e}");
    let other = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let e = check(&good, &keyless(&payload, &key, &cert, &other, now)).unwrap_err();
    assert!(
        e.contains("Rekor signed entry timestamp does not verify"),
        "{e}"
    );

    // A certificate from the rogue CA, and a payload not signed by the certificate's key.
    let (rogue_cert, rogue_key) = leaf(dir, "rogue", "dev@example.com", "https://issuer.example");
    let e = check(
        &good,
        &keyless(&payload, &rogue_key, &rogue_cert, &rekor, now),
    )
    .unwrap_err();
    assert!(e.contains("does not chain"), "{e}");
    let mut swapped = keyless(&payload, &rogue_key, &cert, &rekor, now);
    swapped
        .annotations
        .insert(CERTIFICATE_ANNOTATION.into(), cert.clone());
    let e = check(&good, &swapped).unwrap_err();
    assert!(
        e.contains("does not verify with its Fulcio certificate"),
        "{e}"
    );

    // No bundle at all.
    let mut bare = sig.clone();
    bare.annotations.remove(BUNDLE_ANNOTATION);
    let e = check(&good, &bare).unwrap_err();
    assert!(
        e.contains("no dev.sigstore.cosign/bundle annotation"),
        "{e}"
    );
}

const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
const INTOTO: &str = "application/vnd.in-toto+json";

/// How a test bundle's Rekor entry is made.
struct Entry<'a> {
    rekor: &'a p256::ecdsa::SigningKey,
    time: u64,
    /// Log this signature instead of the envelope's.
    logged_sig: Option<Vec<u8>>,
}

/// A cosign 3 style bundle: a DSSE envelope over an in-toto statement for `DIGEST`, signed by `key`, with
/// `cert` (PEM) as a v0.3 `certificate` and a Rekor `dsse` entry whose signed entry timestamp `entry.rekor` made.
fn keyless_bundle(
    key: &p256::ecdsa::SigningKey,
    cert: &str,
    entry: Option<Entry<'_>>,
) -> serde_json::Value {
    let statement = serde_json::json!({"_type": STATEMENT_V1,
        "subject": [{"digest": {"sha256": &DIGEST[7..]}}],
        "predicateType": "https://sigstore.dev/cosign/sign/v1", "predicate": {}})
    .to_string();
    let sig = gantry_trust::sign::sign(
        key,
        &gantry_trust::bundle::pae(INTOTO, statement.as_bytes()),
    );
    let (_, der) = pem_rfc7468::decode_vec(cert.as_bytes()).unwrap();
    let mut tlog = vec![];
    if let Some(e) = entry {
        let body = serde_json::json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": "00"},
            "payloadHash": {"algorithm": "sha256",
                            "value": format!("{:x}", sha2::Sha256::digest(statement.as_bytes()))},
            "signatures": [{"signature": B64.encode(e.logged_sig.as_ref().unwrap_or(&sig)),
                            "verifier": B64.encode(cert)}]}});
        let body = B64.encode(body.to_string());
        let key_id = [0xabu8; 32];
        let log_id: String = key_id.iter().map(|b| format!("{b:02x}")).collect();
        let canonical = serde_json::json!({"body": body, "integratedTime": e.time,
            "logID": log_id, "logIndex": 7})
        .to_string();
        let set = gantry_trust::sign::sign(e.rekor, canonical.as_bytes());
        tlog.push(serde_json::json!({"logIndex": "7", "logId": {"keyId": B64.encode(key_id)},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"}, "integratedTime": e.time.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": B64.encode(set)},
            "canonicalizedBody": body}));
    }
    serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": B64.encode(der)}, "tlogEntries": tlog},
        "dsseEnvelope": {"payload": B64.encode(&statement), "payloadType": INTOTO,
                         "signatures": [{"sig": B64.encode(&sig), "keyid": ""}]}
    })
}

fn as_signature(bundle: &serde_json::Value) -> Signature {
    Signature {
        bundle: Some(bundle.to_string().into_bytes()),
        ..Default::default()
    }
}

#[test]
fn keyless_sigstore_bundles() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let rekor = trust_material(dir);
    let policy = |email: &str, ca: &str| fulcio_policy(dir, email, "https://issuer.example", ca);
    let r = Reference::parse("quay.io/ns/app:v1").unwrap();
    let check = |p: &Policy, b: &serde_json::Value| {
        verify(p, &r, DIGEST, &[as_signature(b)], "test")
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let (cert, key) = leaf(dir, "fulcio", "dev@example.com", "https://issuer.example");
    let now = just_after_issue();
    let good_policy = policy("dev@example.com", "fulcio");
    let entry = |rekor, time| {
        Some(Entry {
            rekor,
            time,
            logged_sig: None,
        })
    };
    let refused = |b: &serde_json::Value, want: &str| {
        let e = check(&good_policy, b).unwrap_err();
        assert!(e.contains(want), "{e}");
    };
    let good = keyless_bundle(&key, &cert, entry(&rekor, now));
    check(&good_policy, &good).unwrap();

    // The v0.1/v0.2 form: the certificate as the first of x509CertificateChain.
    let mut chained = good.clone();
    let raw = chained["verificationMaterial"]["certificate"].clone();
    let vm = chained["verificationMaterial"].as_object_mut().unwrap();
    vm.remove("certificate");
    vm.insert(
        "x509CertificateChain".into(),
        serde_json::json!({"certificates": [raw]}),
    );
    check(&good_policy, &chained).unwrap();

    // Identity and CA.
    let e = check(&policy("eve@example.com", "fulcio"), &good).unwrap_err();
    assert!(e.contains("the policy requires \"eve@example.com\""), "{e}");
    let e = check(&policy("dev@example.com", "rogue"), &good).unwrap_err();
    assert!(e.contains("does not chain to the policy's CA"), "{e}");
    let (rogue_cert, rogue_key) = leaf(dir, "rogue", "dev@example.com", "https://issuer.example");
    refused(
        &keyless_bundle(&rogue_key, &rogue_cert, entry(&rekor, now)),
        "does not chain",
    );
    // The envelope signed by another key than the certificate's.
    refused(
        &keyless_bundle(&rogue_key, &cert, entry(&rekor, now)),
        "does not verify with its Fulcio certificate",
    );

    // The Rekor proof: another log's key, outside the certificate's validity, another signature, none.
    let other = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    refused(
        &keyless_bundle(&key, &cert, entry(&other, now)),
        "Rekor signed entry timestamp does not verify",
    );
    refused(
        &keyless_bundle(&key, &cert, entry(&rekor, 1000)),
        "outside the certificate's validity",
    );
    let moved = Entry {
        rekor: &rekor,
        time: now,
        logged_sig: Some(gantry_trust::sign::sign(&key, b"something else")),
    };
    refused(
        &keyless_bundle(&key, &cert, Some(moved)),
        "logs a different signature",
    );
    refused(&keyless_bundle(&key, &cert, None), "has no tlogEntries");
    let mut v2 = good.clone();
    v2["verificationMaterial"]["tlogEntries"][0]
        .as_object_mut()
        .unwrap()
        .remove("inclusionPromise");
    refused(&v2, "no inclusionPromise");
    // A body edited after Rekor signed it.
    let mut edited = good.clone();
    edited["verificationMaterial"]["tlogEntries"][0]["integratedTime"] =
        serde_json::Value::String((now + 5).to_string());
    refused(&edited, "Rekor signed entry timestamp does not verify");

    // Signed with a key, and the policy also wants the Rekor proof.
    let key_pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    let keyed = Policy::parse(
        serde_json::json!({"default": [{"type": "sigstoreSigned",
            "keyData": B64.encode(key_pem), "rekorPublicKeyPath": dir.join("rekor.pub")}]})
        .to_string()
        .as_bytes(),
        "keyed-rekor.json",
    )
    .unwrap();
    check(&keyed, &good).unwrap();
    let e = check(&keyed, &keyless_bundle(&key, &cert, None)).unwrap_err();
    assert!(e.contains("has no tlogEntries"), "{e}");
}
