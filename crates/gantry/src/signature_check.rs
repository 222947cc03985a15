//! The engine's signature check for registry pulls: runs after the reference is resolved to a manifest digest and
//! before any layer is fetched, unpacked or recorded. The verified digest is returned so that the pull is pinned
//! to it (a tag moved between the check and the pull cannot slip another image in).

use std::path::PathBuf;

use anyhow::{Context, Result};
use gantry_registry::{Digest, PullOptions, Reference, RegistryConfig};
use gantry_trust::{Plan, PolicyLocation};

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct TrustOptions {
    /// `--policy FILE` (global).
    pub policy: Option<PathBuf>,
    /// `--insecure-skip-verify` (per command).
    pub skip_verify: bool,
}

/// Applies the policy to `reference`. Returns the digest to pin the pull to when signatures were verified,
/// `None` when the policy (or `--insecure-skip-verify`) accepts the image unchecked; an error when refused.
pub fn check(
    reference: &Reference,
    trust: &TrustOptions,
    config: &RegistryConfig,
    quiet: bool,
) -> Result<Option<Digest>> {
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
        eprintln!("gantry: WARNING: --insecure-skip-verify: NOT checking the signature of {reference}; {what}");
        return Ok(None);
    }
    match plan {
        Plan::Accept { .. } => Ok(None),
        Plan::Reject(r) => Err(anyhow::Error::new(r)),
        Plan::Verify { .. } => {
            let mut opts = PullOptions::new(reference.clone());
            opts.config = config.clone();
            opts.progress = gantry_registry::ProgressMode::Quiet;
            let found = gantry_registry::fetch_signatures(&opts)
                .with_context(|| format!("fetch the signatures of {reference}"))?;
            let sigs: Vec<gantry_trust::Signature> = found
                .signatures
                .into_iter()
                .map(|s| gantry_trust::Signature {
                    payload: s.payload,
                    annotations: s.annotations,
                })
                .collect();
            let where_ = if found.tag_found {
                format!("tag {} has no signature layers", found.tag)
            } else {
                format!("no tag {} in {}", found.tag, reference.name())
            };
            let accepted = gantry_trust::verify(
                &policy,
                reference,
                &found.digest.to_string(),
                &sigs,
                &where_,
            )
            .map_err(anyhow::Error::new)?;
            if !quiet {
                eprintln!(
                    "{reference}: {} signature requirement(s) met for {} (scope {}, policy {})",
                    accepted.verified, found.digest, accepted.scope, policy.origin
                );
            }
            Ok(Some(found.digest))
        }
    }
}
