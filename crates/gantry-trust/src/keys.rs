//! Public keys (PEM `PUBLIC KEY`, SubjectPublicKeyInfo) and signature checks as sigstore does them for
//! containers/image and cosign: ECDSA P-256/P-384 over SHA-256 with ASN.1 DER signatures, RSA (PKCS#1 v1.5 or
//! PSS) over SHA-256, and Ed25519 over the message itself.

use ed25519_dalek::pkcs8::DecodePublicKey as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::Digest as _;

use crate::error::TrustError;

/// A public key that can check signatures.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// ECDSA P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA P-384 (SHA-256 prehash, as sigstore verifiers are set up by containers/image).
    P384(p384::ecdsa::VerifyingKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// RSA, 2048 to 4096 bits: PKCS#1 v1.5 signatures (what skopeo and cosign make) or PSS, over SHA-256.
    Rsa(rsa::RsaPublicKey),
}

/// Smallest RSA modulus accepted, as sigstore's key validation requires.
const MIN_RSA_BITS: usize = 2048;

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8], what: &str) -> Result<PublicKey, TrustError> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P384(k));
        }
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::Ed25519(k));
        }
        if let Ok(k) = rsa::RsaPublicKey::from_public_key_der(der) {
            use rsa::traits::PublicKeyParts as _;
            let bits = k.size() * 8;
            if bits < MIN_RSA_BITS {
                return Err(TrustError::key(
                    what,
                    format!("a {bits}-bit RSA key is too weak: at least {MIN_RSA_BITS} bits are required"),
                ));
            }
            return Ok(PublicKey::Rsa(k));
        }
        Err(TrustError::key(
            what,
            "not an ECDSA P-256/P-384, Ed25519 or RSA (2048-4096 bits) public key",
        ))
    }

    /// Checks `sig` over `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::P256(k) => p256::ecdsa::Signature::from_der(sig)
                .is_ok_and(|s| k.verify_prehash(&sha2::Sha256::digest(message), &s).is_ok()),
            PublicKey::P384(k) => p384::ecdsa::Signature::from_der(sig)
                .is_ok_and(|s| k.verify_prehash(&sha2::Sha256::digest(message), &s).is_ok()),
            PublicKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| k.verify_strict(message, &s).is_ok()),
            PublicKey::Rsa(k) => rsa_verify(k, &sha2::Sha256::digest(message), sig),
        }
    }
}

/// An RSA signature over a SHA-256 `digest`: PKCS#1 v1.5, or PSS with any salt length (Go's signers default to
/// the largest, others to the digest's length).
fn rsa_verify(k: &rsa::RsaPublicKey, digest: &[u8], sig: &[u8]) -> bool {
    use rsa::traits::PublicKeyParts as _;
    if k.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), digest, sig)
        .is_ok()
    {
        return true;
    }
    // The encoded message is ceil((bits - 1) / 8) bytes; the largest salt leaves room for the hash and 2 bytes.
    let em_len = (k.n().bits() - 1).div_ceil(8);
    let max_salt = em_len.saturating_sub(digest.len() + 2);
    [digest.len(), max_salt].into_iter().any(|salt| {
        k.verify(rsa::Pss::new_with_salt::<sha2::Sha256>(salt), digest, sig)
            .is_ok()
    })
}

impl PublicKey {
    /// Checks an ECDSA DER signature over an already computed message digest (certificate signatures, whose
    /// hash the certificate names), or an RSA PKCS#1 v1.5 one over a SHA-256/384/512 digest (told apart by its
    /// length). Ed25519 has no prehashed form here and never matches.
    pub fn verify_digest(&self, digest: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::P256(k) => p256::ecdsa::Signature::from_der(sig)
                .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok()),
            PublicKey::P384(k) => p384::ecdsa::Signature::from_der(sig)
                .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok()),
            PublicKey::Ed25519(_) => false,
            PublicKey::Rsa(k) => {
                let scheme = match digest.len() {
                    32 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    48 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    64 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                    _ => return false,
                };
                k.verify(scheme, digest, sig).is_ok()
            }
        }
    }
}

/// Parses every `PUBLIC KEY` block of a PEM document (at least one).
pub fn parse_pem_keys(pem: &[u8], what: &str) -> Result<Vec<PublicKey>, TrustError> {
    let blocks = pem_blocks(pem, what)?;
    let keys: Vec<PublicKey> = blocks
        .iter()
        .filter(|(label, _)| label == "PUBLIC KEY")
        .map(|(_, der)| PublicKey::from_spki_der(der, what))
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(TrustError::key(what, "no PEM \"PUBLIC KEY\" block found"));
    }
    Ok(keys)
}

/// Splits a PEM document into (label, DER) blocks.
pub fn pem_blocks(pem: &[u8], what: &str) -> Result<Vec<(String, Vec<u8>)>, TrustError> {
    let text = std::str::from_utf8(pem).map_err(|_| TrustError::key(what, "not PEM text"))?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start..];
        let end_label = after
            .find("-----END ")
            .ok_or_else(|| TrustError::key(what, "PEM block without END line"))?;
        let tail = &after[end_label..];
        let close = tail[9..]
            .find("-----")
            .map(|i| end_label + 9 + i + 5)
            .ok_or_else(|| TrustError::key(what, "malformed PEM END line"))?;
        let block = &after[..close];
        let (label, der) = pem_rfc7468::decode_vec(block.as_bytes())
            .map_err(|e| TrustError::key(what, format!("malformed PEM: {e}")))?;
        out.push((label.to_string(), der));
        rest = &after[close..];
    }
    Ok(out)
}

/// Encodes DER as one PEM block.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::EncodePublicKey as _;

    #[test]
    fn p256_roundtrip_and_tamper() {
        let sk = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let pem = sk
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let keys = parse_pem_keys(pem.as_bytes(), "test").unwrap();
        let sig: p256::ecdsa::Signature = sk.sign(b"hello");
        let der = sig.to_der();
        assert!(keys[0].verify(b"hello", der.as_bytes()));
        assert!(!keys[0].verify(b"hellO", der.as_bytes()));
        assert!(!keys[0].verify(b"hello", b"garbage"));
        assert!(parse_pem_keys(b"nothing here", "t").is_err());
    }

    /// Fixtures made by openssl: a 2048-bit key, SHA-256 signatures of "gantry rsa test" in PKCS#1 v1.5 and
    /// PSS (largest and digest-length salt), and a 1024-bit key that must be refused.
    #[test]
    fn rsa_pkcs1v15_and_pss() {
        let keys = parse_pem_keys(include_bytes!("testdata/rsa2048.pub"), "rsa").unwrap();
        let msg = b"gantry rsa test";
        for sig in [
            &include_bytes!("testdata/rsa2048-pkcs1.sig")[..],
            include_bytes!("testdata/rsa2048-pss-max.sig"),
            include_bytes!("testdata/rsa2048-pss-digest.sig"),
        ] {
            assert!(keys[0].verify(msg, sig));
            assert!(!keys[0].verify(b"gantry rsa tesT", sig));
            let mut bad = sig.to_vec();
            bad[10] ^= 1;
            assert!(!keys[0].verify(msg, &bad));
        }
        let digest = sha2::Sha256::digest(msg);
        assert!(keys[0].verify_digest(&digest, include_bytes!("testdata/rsa2048-pkcs1.sig")));
        let e = parse_pem_keys(include_bytes!("testdata/rsa1024.pub"), "weak.pub").unwrap_err();
        assert!(
            e.to_string().contains("1024-bit RSA key is too weak"),
            "{e}"
        );
    }
}
