//! The engine's signature check for registry pulls. The policy is consulted before any network access
//! ([`decide`]): a rejected scope fails at once, an accepted one pulls unchecked. When signatures are required,
//! the pull runs through [`gantry_registry::pull_verified`] with [`verifier`]: the registry client resolves the
//! reference to its manifest digest, fetches that digest's signatures in the same session and calls the
//! verifier before any layer is fetched, unpacked or recorded.

use std::path::PathBuf;

use anyhow::{Context, Result};
use gantry_registry::{Reference, Refused, Signatures};
use gantry_trust::{Plan, Policy, PolicyLocation};

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct TrustOptions {
    /// `--policy FILE` (global).
    pub policy: Option<PathBuf>,
    /// `--insecure-skip-verify` (per command).
    pub skip_verify: bool,
}

/// How a pull proceeds.
#[derive(Debug)]
pub enum Decision {
    /// Pull without checking signatures (the policy accepts anything here, or `--insecure-skip-verify`).
    Unchecked,
    /// Signatures must satisfy this policy.
    Verify(Policy),
}

/// Applies the policy to `reference` before anything is fetched: refuses a rejected scope, warns loudly about
/// `--insecure-skip-verify`.
pub fn decide(reference: &Reference, trust: &TrustOptions) -> Result<Decision> {
    let loc = PolicyLocation::system(trust.policy.as_deref());
    let policy = loc.load().context("load the signature policy")?;
    let plan = gantry_trust::plan(&policy, reference);
    if trust.skip_verify {
        let what = match &plan {
            Plan::Accept { scope } => format!("nothing to skip: {scope} accepts it unsigned"),
            Plan::Reject(r) => format!(
                "the policy would refuse it ({}, scope {}): {}",
                r.origin, r.scope, r.reason
            ),
            Plan::Verify { scope } => format!(
                "the policy ({}, scope {scope}) requires a verified sigstore signature",
                policy.origin
            ),
        };
        eprintln!(
            "gantry: WARNING: --insecure-skip-verify: NOT checking the signature of {reference}; {what}"
        );
        return Ok(Decision::Unchecked);
    }
    match plan {
        Plan::Accept { .. } => Ok(Decision::Unchecked),
        Plan::Reject(r) => Err(anyhow::Error::new(r)),
        Plan::Verify { .. } => Ok(Decision::Verify(policy)),
    }
}

/// The check [`gantry_registry::pull_verified`] runs on the signatures of the resolved digest.
pub fn verifier<'a>(
    policy: &'a Policy,
    reference: &'a Reference,
    quiet: bool,
) -> impl Fn(&Signatures) -> Result<(), Refused> + Sync + 'a {
    move |found: &Signatures| {
        let sigs: Vec<gantry_trust::Signature> = found
            .signatures
            .iter()
            .map(|s| gantry_trust::Signature {
                payload: s.payload.clone(),
                annotations: s.annotations.clone(),
                bundle: None,
            })
            .chain(found.bundles.iter().map(|b| gantry_trust::Signature {
                bundle: Some(b.clone()),
                ..Default::default()
            }))
            .collect();
        let where_ = if found.tag_found {
            format!(
                "tag {} has no signature layers and no Sigstore bundle or cosign signature refers to the digest",
                found.tag
            )
        } else {
            format!(
                "no tag {} in {} and no Sigstore bundle or cosign signature refers to the digest",
                found.tag,
                reference.name()
            )
        };
        let accepted =
            gantry_trust::verify(policy, reference, &found.digest.to_string(), &sigs, &where_)?;
        if !quiet {
            eprintln!(
                "{reference}: signature verified for {} (scope {}, policy {})",
                found.digest, accepted.scope, policy.origin
            );
        }
        Ok(())
    }
}
