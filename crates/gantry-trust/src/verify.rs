//! Deciding whether a pulled image is acceptable: pick the requirements of the most specific scope, then check
//! every requirement against the image's signatures. A signature counts only if its cryptographic signature
//! verifies first; only then is its payload read, and it must name the digest actually pulled and an identity
//! that `signedIdentity` accepts.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use gantry_registry::Reference;

use crate::keys::{parse_pem_keys, PublicKey};
use crate::payload::{self, SIGNATURE_ANNOTATION};
use crate::policy::{Material, Policy, Requirement, SigstoreSigned};
use crate::scope::Chosen;

/// One signature attached to an image: the signed payload and its layer's annotations.
#[derive(Debug, Clone, Default)]
pub struct Signature {
    /// The payload bytes exactly as fetched.
    pub payload: Vec<u8>,
    /// The annotations of its layer (signature, certificate, bundle).
    pub annotations: BTreeMap<String, String>,
    /// Set for a Sigstore bundle attached as an OCI 1.1 referrer: its JSON (then `payload` and `annotations`
    /// are unused).
    pub bundle: Option<Vec<u8>>,
}

/// What the policy wants for a reference, before any signature is fetched.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Accept without checking (`insecureAcceptAnything` only).
    Accept {
        /// The scope that decided.
        scope: String,
    },
    /// Refuse outright.
    Reject(Refusal),
    /// Signatures must be fetched and checked with [`verify`].
    Verify {
        /// The scope that decided.
        scope: String,
    },
}

/// An image the policy refuses: one line naming the image, the scope and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The image reference as pulled.
    pub image: String,
    /// The policy file.
    pub origin: String,
    /// The scope whose requirements refused it.
    pub scope: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: refused by the signature policy ({}, scope {}): {}",
            self.image, self.origin, self.scope, self.reason
        )
    }
}

impl std::error::Error for Refusal {}

/// Decides what to do for `r` before fetching anything.
pub fn plan(policy: &Policy, r: &Reference) -> Plan {
    let (chosen, scope, refuse) = applicable(policy, r);
    for req in chosen.requirements {
        match req {
            Requirement::Reject => {
                return Plan::Reject(refuse(
                    "the policy rejects this scope (trust a key with `gantry trust add --key FILE SCOPE`, or pass --insecure-skip-verify once)"
                        .into(),
                ))
            }
            Requirement::SignedBy => {
                return Plan::Reject(refuse(
                    "signedBy (GPG) requirements are not supported by gantry; use sigstoreSigned".into(),
                ))
            }
            _ => {}
        }
    }
    if chosen
        .requirements
        .iter()
        .all(|q| *q == Requirement::InsecureAcceptAnything)
    {
        Plan::Accept { scope }
    } else {
        Plan::Verify { scope }
    }
}

/// What was accepted, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The scope whose requirements were met.
    pub scope: String,
    /// Signatures that satisfied a requirement.
    pub verified: usize,
}

/// Checks `signatures` of `r`, whose top manifest has `digest`, against the policy. `where_` says where the
/// signatures were looked for (used in the "no signature" reason).
pub fn verify(
    policy: &Policy,
    r: &Reference,
    digest: &str,
    signatures: &[Signature],
    where_: &str,
) -> Result<Accepted, Refusal> {
    let (chosen, scope, refuse) = applicable(policy, r);
    let mut verified = 0;
    for req in chosen.requirements {
        match req {
            Requirement::InsecureAcceptAnything => {}
            Requirement::Reject => return Err(refuse("the policy rejects this scope".into())),
            Requirement::SignedBy => {
                return Err(refuse(
                    "signedBy (GPG) requirements are not supported".into(),
                ))
            }
            Requirement::SigstoreSigned(s) => {
                if signatures.is_empty() {
                    return Err(refuse(format!("no signature found ({where_})")));
                }
                let mut reasons = Vec::new();
                let mut ok = false;
                for (i, sig) in signatures.iter().enumerate() {
                    match check_sigstore(s, r, digest, sig) {
                        Ok(()) => {
                            ok = true;
                            break;
                        }
                        Err(e) => reasons.push(format!("signature {}: {e}", i + 1)),
                    }
                }
                if !ok {
                    return Err(refuse(reasons.join("; ")));
                }
                verified += 1;
            }
        }
    }
    Ok(Accepted { scope, verified })
}

/// Checks one signature against one `sigstoreSigned` requirement.
pub fn check_sigstore(
    req: &SigstoreSigned,
    r: &Reference,
    digest: &str,
    sig: &Signature,
) -> Result<(), String> {
    if let Some(b) = &sig.bundle {
        return crate::bundle::check(req, r, digest, b);
    }
    let b64 = sig
        .annotations
        .get(SIGNATURE_ANNOTATION)
        .ok_or_else(|| format!("no {SIGNATURE_ANNOTATION} annotation"))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("{SIGNATURE_ANNOTATION} is not base64: {e}"))?;
    let keys: Vec<PublicKey> = match &req.fulcio {
        Some(f) => vec![crate::fulcio::signer_key(f, &req.rekor_keys, sig)?],
        None => keys_of(&req.keys)?,
    };
    if !keys.iter().any(|k| k.verify(&sig.payload, &raw)) {
        return Err(if req.fulcio.is_some() {
            "the signature does not verify with its Fulcio certificate".into()
        } else {
            format!("not signed by a trusted key ({})", describe(&req.keys))
        });
    }
    if req.fulcio.is_none() && !req.rekor_keys.is_empty() {
        crate::fulcio::check_rekor_set(&req.rekor_keys, sig, &raw)?;
    }
    let p = payload::parse(&sig.payload).map_err(|e| e.to_string())?;
    if p.manifest_digest != digest {
        return Err(format!(
            "the signature is for manifest {} but {digest} was pulled (a signature moved from another image, or the image was replaced)",
            p.manifest_digest
        ));
    }
    crate::identity::check(&req.signed_identity, r, &p.docker_reference)
}

/// Every public key of `materials` (key files or inline data).
pub(crate) fn keys_of(materials: &[Material]) -> Result<Vec<PublicKey>, String> {
    let mut keys = Vec::new();
    for m in materials {
        let bytes = m.bytes().map_err(|e| e.to_string())?;
        keys.extend(parse_pem_keys(&bytes, &m.describe()).map_err(|e| e.to_string())?);
    }
    Ok(keys)
}

/// Where `materials` come from, for messages.
pub(crate) fn describe(materials: &[Material]) -> String {
    materials
        .iter()
        .map(|m| m.describe())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The requirements of `policy` that apply to `r`, the label of the scope that chose them, and the maker of
/// [`Refusal`]s naming the image, the policy and that scope.
fn applicable<'p>(
    policy: &'p Policy,
    r: &Reference,
) -> (Chosen<'p>, String, impl Fn(String) -> Refusal) {
    let chosen = policy.requirements_for(r);
    let scope = scope_label(chosen.scope, chosen.explicit);
    let (image, origin, label) = (r.to_string(), policy.origin.clone(), scope.clone());
    let refuse = move |reason: String| Refusal {
        image: image.clone(),
        origin: origin.clone(),
        scope: label.clone(),
        reason,
    };
    (chosen, scope, refuse)
}

fn scope_label(scope: &str, explicit: bool) -> String {
    if explicit {
        format!("{scope:?}")
    } else {
        scope.to_string()
    }
}
