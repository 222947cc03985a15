//! Making signatures: a payload signed with an ECDSA P-256 key (DER signature over SHA-256), as cosign and
//! skopeo do.

use p256::ecdsa::signature::Signer as _;

/// Signs `message`; returns the ASN.1 DER signature.
pub fn sign(key: &p256::ecdsa::SigningKey, message: &[u8]) -> Vec<u8> {
    let sig: p256::ecdsa::Signature = key.sign(message);
    sig.to_der().as_bytes().to_vec()
}
