//! cosign's encrypted private keys ("ENCRYPTED SIGSTORE PRIVATE KEY" PEM): a JSON envelope holding the PKCS#8
//! DER of a private key (ECDSA P-256 as gantry, cosign and skopeo generate them; P-384 or Ed25519 imported with
//! `cosign import-key-pair`), sealed with NaCl secretbox (XSalsa20-Poly1305, tag first) under a key derived by
//! scrypt (N=32768, r=8, p=1) from the passphrase. This is the format cosign and skopeo read.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use crypto_secretbox::aead::{Aead as _, KeyInit as _};
use p256::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
use rand_core::RngCore as _;
use serde_json::Value;

use crate::error::TrustError;
use crate::keys::{pem_blocks, to_pem};
use crate::sign::SigningKey;

/// PEM label gantry writes (cosign 2's).
pub const PEM_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// Older cosign label, also read.
pub const LEGACY_PEM_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// scrypt cost cosign uses: N = 2^15.
const LOG_N: u8 = 15;
/// Largest scrypt cost accepted when reading (2^20; cosign's "sensitive" setting).
const MAX_LOG_N: u8 = 20;

/// A generated key pair, PEM-encoded.
pub struct GeneratedKey {
    /// The encrypted private key (`PREFIX.key`).
    pub private_pem: String,
    /// The public key (`PREFIX.pub`).
    pub public_pem: String,
}

/// Generates an ECDSA P-256 key pair and encrypts the private key with `passphrase`.
pub fn generate(passphrase: &[u8]) -> Result<GeneratedKey, TrustError> {
    let sk = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let der = sk
        .to_pkcs8_der()
        .map_err(|e| TrustError::key("new key", e.to_string()))?;
    let private_pem = encrypt(der.as_bytes(), passphrase)?;
    let public_pem = sk
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .map_err(|e| TrustError::key("new key", e.to_string()))?;
    Ok(GeneratedKey {
        private_pem,
        public_pem,
    })
}

/// Seals `plaintext` in the encrypted-key envelope and PEM-encodes it.
pub fn encrypt(plaintext: &[u8], passphrase: &[u8]) -> Result<String, TrustError> {
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    rand_core::OsRng.fill_bytes(&mut salt);
    rand_core::OsRng.fill_bytes(&mut nonce);
    let key = derive(passphrase, &salt, LOG_N, 8, 1)?;
    let sealed = crypto_secretbox::XSalsa20Poly1305::new(&key.into())
        .encrypt(&nonce.into(), plaintext)
        .map_err(|_| TrustError::key("new key", "encryption failed"))?;
    let envelope = serde_json::json!({
        "kdf": {"name": "scrypt", "params": {"N": 1u32 << LOG_N, "r": 8, "p": 1}, "salt": B64.encode(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": B64.encode(nonce)},
        "ciphertext": B64.encode(sealed),
    });
    Ok(to_pem(PEM_LABEL, envelope.to_string().as_bytes()))
}

/// Reads an encrypted P-256 private key (what gantry, cosign and skopeo generate) and decrypts it with
/// `passphrase`; `what` names the file in errors.
pub fn decrypt(
    pem: &[u8],
    passphrase: &[u8],
    what: &str,
) -> Result<p256::ecdsa::SigningKey, TrustError> {
    match decrypt_signer(pem, passphrase, what)? {
        SigningKey::P256(k) => Ok(k),
        _ => Err(TrustError::key(what, "not an ECDSA P-256 key")),
    }
}

/// Reads an encrypted private key of any type gantry signs with (P-256, P-384, Ed25519: `cosign
/// import-key-pair` seals other keys in the same envelope) and decrypts it with `passphrase`.
pub fn decrypt_signer(pem: &[u8], passphrase: &[u8], what: &str) -> Result<SigningKey, TrustError> {
    let blocks = pem_blocks(pem, what)?;
    let (_, body) = blocks
        .iter()
        .find(|(l, _)| l == PEM_LABEL || l == LEGACY_PEM_LABEL)
        .ok_or_else(|| {
            TrustError::key(
                what,
                format!("no \"{PEM_LABEL}\" PEM block (is this a cosign/gantry private key?)"),
            )
        })?;
    let bad = |field: &str| {
        TrustError::key(
            what,
            format!("encrypted key envelope: {field} missing or invalid"),
        )
    };
    let v: Value = serde_json::from_slice(body).map_err(|_| bad("JSON"))?;
    let s = |path: &[&str]| -> Option<&Value> { path.iter().try_fold(&v, |v, k| v.get(k)) };
    if s(&["kdf", "name"]).and_then(Value::as_str) != Some("scrypt") {
        return Err(bad("kdf.name (only scrypt is supported)"));
    }
    if s(&["cipher", "name"]).and_then(Value::as_str) != Some("nacl/secretbox") {
        return Err(bad("cipher.name (only nacl/secretbox is supported)"));
    }
    let num = |k: &str| {
        s(&["kdf", "params", k])
            .and_then(Value::as_u64)
            .ok_or_else(|| bad(&format!("kdf.params.{k}")))
    };
    let n = num("N")?;
    let (r, p) = (num("r")?, num("p")?);
    if !n.is_power_of_two()
        || n < 2
        || n.trailing_zeros() > u32::from(MAX_LOG_N)
        || r == 0
        || r > 32
        || p == 0
        || p > 16
    {
        return Err(bad(
            "kdf.params (N must be a power of two up to 2^20, r ≤ 32, p ≤ 16)",
        ));
    }
    let b64 = |path: &[&str], name: &str| -> Result<Vec<u8>, TrustError> {
        s(path)
            .and_then(Value::as_str)
            .and_then(|x| B64.decode(x).ok())
            .ok_or_else(|| bad(name))
    };
    let salt = b64(&["kdf", "salt"], "kdf.salt")?;
    let nonce = b64(&["cipher", "nonce"], "cipher.nonce")?;
    let sealed = b64(&["ciphertext"], "ciphertext")?;
    if nonce.len() != 24 {
        return Err(bad("cipher.nonce (must be 24 bytes)"));
    }
    let key = derive(
        passphrase,
        &salt,
        n.trailing_zeros() as u8,
        r as u32,
        p as u32,
    )?;
    let der = crypto_secretbox::XSalsa20Poly1305::new(&key.into())
        .decrypt(
            crypto_secretbox::Nonce::from_slice(&nonce),
            sealed.as_slice(),
        )
        .map_err(|_| {
            TrustError::key(
                what,
                "wrong passphrase (or a corrupted key file): decryption failed",
            )
        })?;
    SigningKey::from_pkcs8_der(&der, what)
}

fn derive(
    passphrase: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
) -> Result<[u8; 32], TrustError> {
    let params = scrypt::Params::new(log_n, r, p, 32)
        .map_err(|e| TrustError::key("scrypt parameters", e.to_string()))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(passphrase, salt, &params, &mut key)
        .map_err(|e| TrustError::key("scrypt", e.to_string()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_then_decrypt() {
        let k = generate(b"pw").unwrap();
        assert!(k
            .private_pem
            .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"));
        let sk = decrypt(k.private_pem.as_bytes(), b"pw", "k").unwrap();
        let pubs = crate::keys::parse_pem_keys(k.public_pem.as_bytes(), "p").unwrap();
        let sig = crate::sign::sign(&sk, b"msg");
        assert!(pubs[0].verify(b"msg", &sig));
        let e = decrypt(k.private_pem.as_bytes(), b"other", "k").unwrap_err();
        assert!(e.to_string().contains("wrong passphrase"), "{e}");
    }
}
