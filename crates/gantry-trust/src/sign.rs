//! Making signatures as cosign and skopeo do: ECDSA (DER signature over SHA-256, P-256 or P-384) or Ed25519
//! (over the message itself).

use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use p256::ecdsa::signature::Signer as _;
use sha2::Digest as _;

use crate::error::TrustError;

/// A private key that signs image payloads.
pub enum SigningKey {
    /// ECDSA P-256 (what `gantry trust generate-key`, `cosign generate-key-pair` and skopeo make).
    P256(p256::ecdsa::SigningKey),
    /// ECDSA P-384, over SHA-256 as containers/image verifies it.
    P384(p384::ecdsa::SigningKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::SigningKey),
}

impl SigningKey {
    /// Reads a PKCS#8 DER private key; `what` names it in errors.
    pub fn from_pkcs8_der(der: &[u8], what: &str) -> Result<SigningKey, TrustError> {
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(SigningKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(SigningKey::P384(k));
        }
        if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(der) {
            return Ok(SigningKey::Ed25519(k));
        }
        Err(TrustError::key(
            what,
            "the decrypted key is not an ECDSA P-256/P-384 or Ed25519 PKCS#8 private key (gantry does not sign with RSA keys)",
        ))
    }

    /// Signs `message`: an ASN.1 DER ECDSA signature, or a raw 64-byte Ed25519 one.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::P256(k) => sign(k, message),
            SigningKey::P384(k) => {
                let sig: Result<p384::ecdsa::Signature, _> =
                    k.sign_prehash(&sha2::Sha256::digest(message));
                // A 32-byte prehash is always accepted by P-384 (it is shorter than the field).
                sig.map(|s| s.to_der().as_bytes().to_vec())
                    .unwrap_or_default()
            }
            SigningKey::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(message).to_bytes().to_vec()
            }
        }
    }
}

/// Signs `message` with a P-256 key; returns the ASN.1 DER signature.
pub fn sign(key: &p256::ecdsa::SigningKey, message: &[u8]) -> Vec<u8> {
    let sig: p256::ecdsa::Signature = key.sign(message);
    sig.to_der().as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    use p256::pkcs8::EncodePublicKey as _;

    #[test]
    fn p384_and_ed25519_sign_as_the_verifier_checks() {
        let p384 = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let pem = p384
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let der = p384.to_pkcs8_der().unwrap();
        let k = SigningKey::from_pkcs8_der(der.as_bytes(), "p384").unwrap();
        let public = crate::keys::parse_pem_keys(pem.as_bytes(), "p384.pub").unwrap();
        assert!(public[0].verify(b"payload", &k.sign(b"payload")));
        assert!(!public[0].verify(b"payloaD", &k.sign(b"payload")));

        let ed = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let pem = ed
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let der = ed.to_pkcs8_der().unwrap();
        let k = SigningKey::from_pkcs8_der(der.as_bytes(), "ed").unwrap();
        let public = crate::keys::parse_pem_keys(pem.as_bytes(), "ed.pub").unwrap();
        assert!(public[0].verify(b"payload", &k.sign(b"payload")));
        let e = SigningKey::from_pkcs8_der(b"junk", "junk.key")
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .contains("not an ECDSA P-256/P-384 or Ed25519"),
            "{e}"
        );
    }
}
