//! `signedIdentity`: whether the `docker-reference` a signature names is acceptable for the reference pulled.

use gantry_registry::Reference;

use crate::policy::SignedIdentity;

/// Whether a signature naming `signed` satisfies `rule` for the pulled reference `pulled`.
/// Returns `Err(reason)` naming both sides when it does not.
pub fn check(rule: &SignedIdentity, pulled: &Reference, signed: &str) -> Result<(), String> {
    let s = Reference::parse(signed)
        .map_err(|e| format!("the signature's docker-reference {signed:?} is invalid: {e}"))?;
    let ok = match rule {
        SignedIdentity::MatchExact => exact(pulled, &s),
        SignedIdentity::MatchRepoDigestOrExact => repo_digest_or_exact(pulled, &s),
        SignedIdentity::MatchRepository => pulled.name() == s.name(),
        SignedIdentity::ExactReference(want) => &s.to_string() == want,
        SignedIdentity::ExactRepository(want) => &s.name() == want,
        SignedIdentity::RemapIdentity {
            prefix,
            signed_prefix,
        } => match remap(pulled, prefix, signed_prefix) {
            Some(Ok(mapped)) => repo_digest_or_exact(&mapped, &s),
            Some(Err(e)) => return Err(e),
            None => repo_digest_or_exact(pulled, &s),
        },
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the signature is for {} but {pulled} was pulled (signedIdentity {})",
            s,
            describe(rule)
        ))
    }
}

/// Same repository and same tag; a digest-only reference never matches exactly.
fn exact(pulled: &Reference, s: &Reference) -> bool {
    pulled.tag().is_some() && pulled.digest().is_none() && pulled.to_string() == s.to_string()
}

/// Tagged: exact; pinned by digest: same repository (the digest itself is checked against the payload).
fn repo_digest_or_exact(pulled: &Reference, s: &Reference) -> bool {
    if pulled.digest().is_some() {
        pulled.name() == s.name()
    } else {
        exact(pulled, s)
    }
}

/// Rewrites a `prefix` of `pulled` to `signed_prefix`; `None` if the prefix does not apply.
fn remap(
    pulled: &Reference,
    prefix: &str,
    signed_prefix: &str,
) -> Option<Result<Reference, String>> {
    let full = pulled.to_string();
    let rest = full.strip_prefix(prefix)?;
    if !(rest.is_empty() || rest.starts_with(['/', ':', '@'])) {
        return None;
    }
    let mapped = format!("{signed_prefix}{rest}");
    Some(
        Reference::parse(&mapped)
            .map_err(|e| format!("remapIdentity turns {full} into invalid {mapped:?}: {e}")),
    )
}

/// The rule's policy name, for messages.
pub fn describe(rule: &SignedIdentity) -> String {
    match rule {
        SignedIdentity::MatchExact => "matchExact".into(),
        SignedIdentity::MatchRepoDigestOrExact => "matchRepoDigestOrExact".into(),
        SignedIdentity::MatchRepository => "matchRepository".into(),
        SignedIdentity::ExactReference(r) => format!("exactReference {r}"),
        SignedIdentity::ExactRepository(r) => format!("exactRepository {r}"),
        SignedIdentity::RemapIdentity {
            prefix,
            signed_prefix,
        } => format!("remapIdentity {prefix} → {signed_prefix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }
    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn rules() {
        let tagged = r("quay.io/ns/app:v1");
        let pinned = r(&format!("quay.io/ns/app@{D}"));
        use SignedIdentity::*;
        assert!(check(&MatchExact, &tagged, "quay.io/ns/app:v1").is_ok());
        assert!(check(&MatchExact, &tagged, "quay.io/ns/app:v2").is_err());
        assert!(check(&MatchExact, &pinned, &format!("quay.io/ns/app@{D}")).is_err());
        assert!(check(&MatchRepoDigestOrExact, &tagged, "quay.io/ns/app:v1").is_ok());
        assert!(check(&MatchRepoDigestOrExact, &tagged, "quay.io/ns/app:v2").is_err());
        assert!(check(&MatchRepoDigestOrExact, &pinned, "quay.io/ns/app:v9").is_ok());
        assert!(check(&MatchRepoDigestOrExact, &pinned, "quay.io/ns/other:v9").is_err());
        assert!(check(&MatchRepository, &tagged, "quay.io/ns/app:v7").is_ok());
        assert!(check(&MatchRepository, &tagged, "quay.io/ns/ap:v1").is_err());
        assert!(check(
            &ExactReference("docker.io/library/busybox:1".into()),
            &tagged,
            "busybox:1"
        )
        .is_ok());
        assert!(check(
            &ExactReference("docker.io/library/busybox:1".into()),
            &tagged,
            "busybox:2"
        )
        .is_err());
        assert!(check(
            &ExactRepository("docker.io/library/busybox".into()),
            &tagged,
            "busybox:2"
        )
        .is_ok());
        let remap = RemapIdentity {
            prefix: "mirror.lan/ns".into(),
            signed_prefix: "quay.io/ns".into(),
        };
        assert!(check(&remap, &r("mirror.lan/ns/app:v1"), "quay.io/ns/app:v1").is_ok());
        assert!(check(&remap, &r("mirror.lan/ns/app:v1"), "mirror.lan/ns/app:v1").is_err());
        assert!(check(&remap, &r("mirror.lan/nsx/app:v1"), "mirror.lan/nsx/app:v1").is_ok());
        assert!(check(&MatchExact, &tagged, "Not A Ref").is_err());
    }
}
