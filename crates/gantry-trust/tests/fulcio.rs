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

#[test]
fn fulcio_certificates_and_rekor_proofs() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    ca(dir, "fulcio");
    ca(dir, "rogue");
    let rekor = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let pem = rekor
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    std::fs::write(dir.join("rekor.pub"), pem).unwrap();
    let policy = |email: &str, issuer: &str, ca: &str| {
        let doc = serde_json::json!({"default": [{"type": "sigstoreSigned",
            "fulcio": {"caPath": dir.join(format!("{ca}.pem")), "oidcIssuer": issuer, "subjectEmail": email},
            "rekorPublicKeyPath": dir.join("rekor.pub")}]});
        Policy::parse(doc.to_string().as_bytes(), "fulcio-test.json").unwrap()
    };
    let r = Reference::parse("quay.io/ns/app:v1").unwrap();
    let payload = gantry_trust::payload::build("quay.io/ns/app:v1", DIGEST, 1);
    let (cert, key) = leaf(dir, "fulcio", "dev@example.com", "https://issuer.example");
    // Logged after the certificate was issued.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
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
