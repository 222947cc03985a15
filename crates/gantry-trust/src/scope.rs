//! Scopes of the `docker` transport and how a reference finds its requirements: the most specific scope wins,
//! as in containers/image — the exact reference (`host/repo:tag` or `host/repo@digest`), then the repository,
//! then each parent namespace up to the bare host, then wildcard parent domains of the host (`reg.example.com` → `*.example.com`, `*.com`), then the
//! transport's `""` scope, then the policy's `default`.

use gantry_registry::Reference;

use crate::policy::{Policy, Requirement, DOCKER_TRANSPORT};

/// The requirements chosen for a reference and the scope that chose them.
#[derive(Debug, Clone, Copy)]
pub struct Chosen<'a> {
    /// The matching scope, described for messages (`scope "quay.io/ns"`, `transport default`, `policy default`).
    pub scope: &'a str,
    /// Whether `scope` is a literal scope key (as opposed to a default).
    pub explicit: bool,
    /// Its requirements.
    pub requirements: &'a [Requirement],
}

/// Checks a `docker` scope key: `""`, `*.domain`, or `host[:port][/path...][:tag|@digest]` with an explicit host.
pub fn validate_docker_scope(scope: &str) -> Result<(), String> {
    if scope.is_empty() {
        return Ok(());
    }
    if let Some(domain) = scope.strip_prefix("*.") {
        let ok = !domain.is_empty()
            && domain
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        return if ok {
            Ok(())
        } else {
            Err("a wildcard scope must be *.DOMAIN (e.g. *.example.com)".into())
        };
    }
    if scope.contains(char::is_whitespace)
        || scope.starts_with('/')
        || scope.ends_with('/')
        || scope.contains("//")
    {
        return Err("not a valid scope (host[:port][/namespace[/repo]][:tag|@digest])".into());
    }
    let host = scope.split('/').next().unwrap_or_default();
    let host = host.split('@').next().unwrap_or_default();
    if !(host.contains('.') || host.contains(':') || host == "localhost") {
        return Err(format!(
            "scope must start with a registry host (e.g. docker.io/library/{host}, not {host})"
        ));
    }
    if scope.contains('/') {
        Reference::parse(scope).map_err(|e| format!("not a valid scope: {e}"))?;
    }
    Ok(())
}

/// Scopes a reference matches, most specific first (excluding the transport and policy defaults).
pub fn candidate_scopes(r: &Reference) -> Vec<String> {
    let repo = r.name();
    let mut out = Vec::new();
    if let Some(d) = r.digest() {
        out.push(format!("{repo}@{d}"));
    } else if let Some(t) = r.tag() {
        out.push(format!("{repo}:{t}"));
    }
    let mut ns = repo.as_str();
    out.push(ns.to_string());
    while let Some(i) = ns.rfind('/') {
        ns = &ns[..i];
        out.push(ns.to_string());
    }
    // Wildcards on the host name (without port): *.a.b.c, *.b.c, *.c.
    let host = r
        .registry()
        .rsplit_once(':')
        .map_or(r.registry(), |(h, _)| h);
    if !host.starts_with('[') {
        let mut rest = host;
        while let Some(i) = rest.find('.') {
            rest = &rest[i + 1..];
            out.push(format!("*.{rest}"));
        }
    }
    out
}

impl Policy {
    /// The requirements that apply to a registry image `r`.
    pub fn requirements_for(&self, r: &Reference) -> Chosen<'_> {
        if let Some(scopes) = self.transports.get(DOCKER_TRANSPORT) {
            for c in candidate_scopes(r) {
                if let Some((k, v)) = scopes.get_key_value(c.as_str()) {
                    return Chosen {
                        scope: k,
                        explicit: true,
                        requirements: v,
                    };
                }
            }
            if let Some(v) = scopes.get("") {
                return Chosen {
                    scope: "docker transport default",
                    explicit: false,
                    requirements: v,
                };
            }
        }
        Chosen {
            scope: "policy default",
            explicit: false,
            requirements: &self.default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_most_specific_first() {
        let r = Reference::parse("reg.example.com:5000/a/b/c:v1").unwrap();
        assert_eq!(
            candidate_scopes(&r),
            [
                "reg.example.com:5000/a/b/c:v1",
                "reg.example.com:5000/a/b/c",
                "reg.example.com:5000/a/b",
                "reg.example.com:5000/a",
                "reg.example.com:5000",
                "*.example.com",
                "*.com",
            ]
        );
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(
            candidate_scopes(&r),
            [
                "docker.io/library/busybox:latest",
                "docker.io/library/busybox",
                "docker.io/library",
                "docker.io",
                "*.io",
            ]
        );
    }

    #[test]
    fn scope_validation() {
        for ok in [
            "",
            "docker.io",
            "localhost/a",
            "127.0.0.1:5000/x/y:t",
            "*.example.com",
            "quay.io/ns/r@sha256:0123456789012345678901234567890123456789012345678901234567890123",
        ] {
            assert!(validate_docker_scope(ok).is_ok(), "{ok}");
        }
        for bad in [
            "busybox",
            "library/busybox",
            "*.",
            "*.a..b",
            "quay.io/",
            "/x",
            "a b.io/c",
            "quay.io/UPPER",
        ] {
            assert!(validate_docker_scope(bad).is_err(), "{bad}");
        }
    }
}
