//! The fuzz entry point (`fuzz/fuzz_targets/trust_policy.rs`) over a deterministic corpus of broken policies,
//! payloads and keys on stable: every prefix, byte flips, and JSON values of the wrong type in every field.

const SEEDS: &[&str] = &[
    r#"{"default":[{"type":"reject"}],"transports":{"docker":{"quay.io/ns":[{"type":"sigstoreSigned","keyData":"LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KLS0tLS1FTkQgUFVCTElDIEtFWS0tLS0tCg==","signedIdentity":{"type":"remapIdentity","prefix":"quay.io/ns","signedPrefix":"reg.lan/x"}}],"":[{"type":"insecureAcceptAnything"}]}}}"#,
    r#"{"default":[{"type":"sigstoreSigned","fulcio":{"caData":"YQ==","oidcIssuer":"https://i","subjectEmail":"a@b"},"rekorPublicKeyData":"YQ==","signedIdentity":{"type":"exactReference","dockerReference":"quay.io/a:b"}}]}"#,
    r#"{"critical":{"identity":{"docker-reference":"quay.io/ns/app:v1"},"image":{"docker-manifest-digest":"sha256:00"},"type":"cosign container image signature"},"optional":{"creator":"x"}}"#,
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n",
];

#[test]
fn malformed_inputs_never_panic_and_errors_are_one_line() {
    for seed in SEEDS {
        let b = seed.as_bytes();
        for n in 0..=b.len() {
            gantry_trust::fuzz_untrusted(&b[..n]);
        }
        for i in 0..b.len() {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut m = b.to_vec();
                m[i] ^= flip;
                gantry_trust::fuzz_untrusted(&m);
            }
        }
        // Replace every JSON string value with a value of another type.
        for bad in [
            "1",
            "null",
            "[]",
            "{}",
            "\"\\n\"",
            "[{\"type\":\"reject\"}]",
        ] {
            for (i, _) in seed.match_indices(":\"") {
                let end = seed[i + 2..]
                    .find('"')
                    .map(|e| i + 2 + e + 1)
                    .unwrap_or(seed.len());
                let m = format!("{}:{bad}{}", &seed[..i], &seed[end..]);
                gantry_trust::fuzz_untrusted(m.as_bytes());
            }
        }
    }
    // Deep nesting and a key with a line break.
    gantry_trust::fuzz_untrusted(format!("{}{}", "[".repeat(5000), "]".repeat(5000)).as_bytes());
    gantry_trust::fuzz_untrusted(br#"{"default":[{"type":"reject"}],"transports":{"docker":{"a\nb":[{"type":"reject"}]}},"x\ny":1}"#);
}
