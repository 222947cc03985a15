//! `signedIdentity`: whether the `docker-reference` a signature names is acceptable for the reference pulled.

use gantry_registry::Reference;

use crate::policy::SignedIdentity;

/// Whether a signature naming `signed` satisfies `rule` for the pulled reference `pulled`.
/// Returns `Err(reason)` naming both sides when it does not.
pub fn check(rule: &SignedIdentity, pulled: &Reference, signed: &str) -> Result<(), String> {
    let parsed = Reference::parse(signed)
        .map_err(|e| format!("the signature's docker-reference {signed:?} is invalid: {e}"))?;
    // A repository name alone (what cosign signs) stays untagged: it matches no tag, `latest` included.
    let s = Signed {
        name_only: name_only(signed),
        r: parsed,
    };
    let ok = match rule {
        SignedIdentity::MatchExact => exact(pulled, &s),
        SignedIdentity::MatchRepoDigestOrExact => repo_digest_or_exact(pulled, &s),
        SignedIdentity::MatchRepository => pulled.name() == s.r.name(),
        SignedIdentity::ExactReference(want) => !s.name_only && &s.r.to_string() == want,
        SignedIdentity::ExactRepository(want) => &s.r.name() == want,
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
        let shown = if s.name_only {
            s.r.name()
        } else {
            s.r.to_string()
        };
        Err(format!(
            "the signature is for {shown} but {pulled} was pulled (signedIdentity {})",
            describe(rule)
        ))
    }
}

/// A signature's normalised docker-reference, and whether it named a repository only (no tag, no digest).
struct Signed {
    r: Reference,
    name_only: bool,
}

/// Whether a reference string has neither a digest nor a tag (a `:` after its last `/`).
fn name_only(reference: &str) -> bool {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    !reference.contains('@') && !last.contains(':')
}

/// Same repository and same tag; a digest-only or name-only reference never matches exactly.
fn exact(pulled: &Reference, s: &Signed) -> bool {
    pulled.tag().is_some()
        && pulled.digest().is_none()
        && !s.name_only
        && pulled.to_string() == s.r.to_string()
}

/// Tagged: exact; pinned by digest: same repository (the digest itself is checked against the payload).
fn repo_digest_or_exact(pulled: &Reference, s: &Signed) -> bool {
    if pulled.digest().is_some() {
        pulled.name() == s.r.name()
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
        // cosign signs the repository name alone: never a tag, not even `latest`.
        let latest = r("quay.io/ns/app:latest");
        let e = check(&MatchExact, &latest, "quay.io/ns/app").unwrap_err();
        assert!(
            e.starts_with("the signature is for quay.io/ns/app but"),
            "{e}"
        );
        assert!(check(&MatchRepoDigestOrExact, &latest, "quay.io/ns/app").is_err());
        assert!(check(&MatchRepoDigestOrExact, &pinned, "quay.io/ns/app").is_ok());
        assert!(check(&MatchRepository, &latest, "quay.io/ns/app").is_ok());
        assert!(check(
            &ExactReference("quay.io/ns/app:latest".into()),
            &latest,
            "quay.io/ns/app"
        )
        .is_err());
        assert!(check(
            &ExactRepository("quay.io/ns/app".into()),
            &latest,
            "quay.io/ns/app"
        )
        .is_ok());
        assert!(check(
            &MatchExact,
            &r("localhost:5000/app:latest"),
            "localhost:5000/app"
        )
        .is_err());
    }
}
