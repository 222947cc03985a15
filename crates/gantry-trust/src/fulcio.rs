//! Keyless (Fulcio certificate) and Rekor checks.

use crate::keys::PublicKey;
use crate::policy::{Fulcio, Material};
use crate::verify::Signature;

/// The public key of the Fulcio certificate that made `sig`, once the certificate is verified against the CA
/// and carries the required identity.
pub fn signer_key(_f: &Fulcio, _rekor: &[Material], _sig: &Signature) -> Result<PublicKey, String> {
    Err("Fulcio (keyless) verification is not implemented in this gantry build".into())
}

/// Checks the Rekor signed entry timestamp of `sig` with the policy's Rekor keys.
pub fn check_rekor_set(_rekor: &[Material], _sig: &Signature, _raw: &[u8]) -> Result<(), String> {
    Err("Rekor verification is not implemented in this gantry build".into())
}
