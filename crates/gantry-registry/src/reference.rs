//! Image references (`[registry/]repository[:tag][@digest]`), normalised the way Docker does and validated
//! against the grammar of the OCI distribution spec / distribution's `reference` package.
//!
//! Normalisation: a first path component is a registry host only if it contains `.` or `:`, is
//! `localhost`, or has an uppercase letter; otherwise the registry is `docker.io`, and a single-component
//! Docker Hub repository gets the `library/` prefix. Without tag and digest the tag is `latest`.

use std::fmt;
use std::str::FromStr;

use crate::digest::{Digest, DigestError};

/// The registry assumed when a reference names none.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// The host that actually serves Docker Hub's API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// The tag assumed when a reference has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest repository name (registry excluded) the distribution grammar allows.
pub const MAX_NAME_LEN: usize = 255;
/// Longest tag allowed.
pub const MAX_TAG_LEN: usize = 128;

/// Why a reference string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Empty input.
    #[error("image reference is empty")]
    Empty,
    /// The registry part is not a valid `host[:port]`.
    #[error("image reference {input:?}: registry {registry:?} is not a valid host[:port]")]
    BadRegistry {
        /// The whole input.
        input: String,
        /// The registry part.
        registry: String,
    },
    /// A repository path component breaks the grammar.
    #[error(
        "image reference {input:?}: repository component {component:?} is invalid \
         (lowercase letters and digits, separated by '.', '_', '__' or '-')"
    )]
    BadComponent {
        /// The whole input.
        input: String,
        /// The offending component.
        component: String,
    },
    /// Repository name longer than 255 characters.
    #[error("image reference {input:?}: repository name is {len} characters, at most 255 allowed")]
    NameTooLong {
        /// The whole input.
        input: String,
        /// Its length.
        len: usize,
    },
    /// The tag breaks `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    #[error("image reference {input:?}: tag {tag:?} is invalid (1-128 of [A-Za-z0-9_.-], not starting with '.' or '-')")]
    BadTag {
        /// The whole input.
        input: String,
        /// The tag.
        tag: String,
    },
    /// The digest part is invalid.
    #[error("image reference {input:?}: {source}")]
    BadDigest {
        /// The whole input.
        input: String,
        /// What is wrong with the digest.
        source: DigestError,
    },
}

/// A normalised, validated image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises `input` (e.g. `busybox` → `docker.io/library/busybox:latest`).
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, d)) => {
                let digest = Digest::parse(d).map_err(|source| ReferenceError::BadDigest {
                    input: input.to_string(),
                    source,
                })?;
                (rest, Some(digest))
            }
            None => (input, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(ReferenceError::BadTag {
                    input: input.to_string(),
                    tag: t.to_string(),
                });
            }
        }
        let (registry, path) = split_registry(name);
        if !valid_registry(registry) {
            return Err(ReferenceError::BadRegistry {
                input: input.to_string(),
                registry: registry.to_string(),
            });
        }
        let registry = if registry == "index.docker.io" {
            DEFAULT_REGISTRY
        } else {
            registry
        };
        let mut repository = path.to_string();
        if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        for component in repository.split('/') {
            if !valid_component(component) {
                return Err(ReferenceError::BadComponent {
                    input: input.to_string(),
                    component: component.to_string(),
                });
            }
        }
        if repository.len() > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong {
                input: input.to_string(),
                len: repository.len(),
            });
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            registry: registry.to_string(),
            repository,
            tag,
            digest,
        })
    }

    /// The registry as named (`docker.io`, `127.0.0.1:5000`, `[::1]:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The `host[:port]` serving the registry API (`registry-1.docker.io` for `docker.io`).
    pub fn api_host(&self) -> &str {
        if self.registry == DEFAULT_REGISTRY {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }

    /// The repository path (`library/busybox`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if any (always set unless the reference is by digest only).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference pins one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to ask the registry for: the digest if pinned (it wins over a tag), else the tag.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// The same repository pinned to `digest` (tag dropped).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// `registry/repository` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The equivalent `oci-client` reference.
    pub(crate) fn to_oci(&self) -> oci_client::Reference {
        let registry = self.registry.clone();
        let repository = self.repository.clone();
        match (&self.tag, &self.digest) {
            (Some(t), Some(d)) => oci_client::Reference::with_tag_and_digest(
                registry,
                repository,
                t.clone(),
                d.to_string(),
            ),
            (None, Some(d)) => {
                oci_client::Reference::with_digest(registry, repository, d.to_string())
            }
            (Some(t), None) => oci_client::Reference::with_tag(registry, repository, t.clone()),
            (None, None) => {
                oci_client::Reference::with_tag(registry, repository, DEFAULT_TAG.to_string())
            }
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// Splits `name` into (registry, path) using Docker's rule for the first component.
fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DEFAULT_REGISTRY, name),
    }
}

/// `host[:port]` where host is a DNS name, an IPv4 address or a bracketed IPv6 address.
fn valid_registry(registry: &str) -> bool {
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match registry.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (registry, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    if registry.starts_with('[') {
        return true;
    }
    !host.is_empty() && host.len() <= 253 && host.split('.').all(valid_domain_component)
}

fn valid_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty()
        && b.len() <= MAX_TAG_LEN
        && word(b[0])
        && b.iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn norm(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn docker_hub_normalisation() {
        assert_eq!(norm("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(norm("user/img"), "docker.io/user/img:latest");
        assert_eq!(
            norm("docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            norm("index.docker.io/library/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(norm("a/b/c/d"), "docker.io/a/b/c/d:latest");
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/busybox");
    }

    #[test]
    fn registries_with_ports_and_ips() {
        assert_eq!(norm("host:5000/a/b:tag"), "host:5000/a/b:tag");
        assert_eq!(
            norm("127.0.0.1:5000/testbed/busybox"),
            "127.0.0.1:5000/testbed/busybox:latest"
        );
        assert_eq!(norm("localhost/x"), "localhost/x:latest");
        assert_eq!(norm("localhost:5000/x:v1"), "localhost:5000/x:v1");
        assert_eq!(norm("[::1]:5000/x"), "[::1]:5000/x:latest");
        assert_eq!(norm("[::1]/x"), "[::1]/x:latest");
        assert_eq!(norm("quay.io/single"), "quay.io/single:latest");
        assert_eq!(norm("Foo/bar"), "Foo/bar:latest");
        let r = Reference::parse("quay.io/single").unwrap();
        assert_eq!(r.api_host(), "quay.io");
    }

    #[test]
    fn digests() {
        let r = Reference::parse(&format!("busybox@sha256:{HEX}")).unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().unwrap().hex(), HEX);
        assert_eq!(r.manifest_ref(), format!("sha256:{HEX}"));
        assert_eq!(
            r.to_string(),
            format!("docker.io/library/busybox@sha256:{HEX}")
        );

        let r = Reference::parse(&format!("h:1/a:t@sha256:{HEX}")).unwrap();
        assert_eq!(r.tag(), Some("t"));
        assert_eq!(r.manifest_ref(), format!("sha256:{HEX}"));
        assert_eq!(r.to_string(), format!("h:1/a:t@sha256:{HEX}"));
        assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn round_trip_is_stable() {
        for s in [
            "busybox",
            "user/img:1",
            "h:5000/a/b:tag",
            "a__b/c-d/e.f_g:T_1.x-y",
            "[::1]:5000/x",
        ] {
            let once = norm(s);
            assert_eq!(norm(&once), once, "{s}");
        }
    }

    #[test]
    fn refuses_invalid() {
        let bad = [
            "",
            "Busybox",
            "busybox:",
            "busybox:-tag",
            "busybox:.tag",
            "busybox@sha256:abc",
            "busybox@sha256:",
            "busybox@md5:abc",
            "busybox@",
            "-a/b",
            "a//b",
            "a/b/",
            "/a",
            "a..b",
            "a___b",
            "a_-b",
            "a/B",
            "host:port/a",
            "host:/a",
            "host:123456/a",
            "-host.io/a",
            "host-.io/a",
            "[::1/a",
            "[zz]:5000/a",
            "a b",
            "a\nb",
            "busybox:tag:tag",
            "a/b:t@sha256:ABCDEF",
        ];
        for s in bad {
            assert!(Reference::parse(s).is_err(), "{s:?} should be refused");
        }
        let long_tag = format!("busybox:{}", "a".repeat(129));
        assert!(matches!(
            Reference::parse(&long_tag),
            Err(ReferenceError::BadTag { .. })
        ));
        assert!(Reference::parse(&format!("busybox:{}", "a".repeat(128))).is_ok());
        let long_name = format!("x.io/{}", "a".repeat(256));
        assert!(matches!(
            Reference::parse(&long_name),
            Err(ReferenceError::NameTooLong { .. })
        ));
        let bad_hex = format!("busybox@sha256:{}", &HEX[..63]);
        assert!(matches!(
            Reference::parse(&bad_hex),
            Err(ReferenceError::BadDigest { .. })
        ));
    }

    #[test]
    fn separators() {
        for ok in ["a.b", "a_b", "a__b", "a-b", "a---b", "a1.b2_c3__d4-e5"] {
            assert!(valid_component(ok), "{ok}");
        }
        for bad in ["a..b", "a._b", "a___b", "_a", "a_", "a-", ".a", "A"] {
            assert!(!valid_component(bad), "{bad}");
        }
    }

    /// Fuzz-style: mutate valid references byte by byte with a deterministic generator; parsing
    /// must never panic, and whatever parses must re-parse to the same value.
    #[test]
    fn fuzz_malformed_inputs() {
        let seeds = [
            "busybox",
            "user/img:tag",
            "127.0.0.1:5000/testbed/busybox:latest",
            "[::1]:5000/a/b@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "quay.io/a__b/c-d:v1.2-rc_3",
        ];
        let alphabet: &[u8] = b"aZ09:/@._-[]%\0 \xff\xc3\xa9sha256:";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let seed = seeds[(next() % seeds.len() as u64) as usize];
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..(next() % 4 + 1) {
                let pos = (next() % (bytes.len() as u64 + 1)) as usize;
                let c = alphabet[(next() % alphabet.len() as u64) as usize];
                match next() % 3 {
                    0 if pos < bytes.len() => bytes[pos] = c,
                    1 if pos < bytes.len() => {
                        bytes.remove(pos);
                    }
                    _ => bytes.insert(pos, c),
                }
            }
            let s = String::from_utf8_lossy(&bytes);
            if let Ok(r) = Reference::parse(&s) {
                let again = Reference::parse(&r.to_string()).expect("normalised form must parse");
                assert_eq!(again, r, "input {s:?}");
                assert!(r.repository().len() <= MAX_NAME_LEN);
                assert!(
                    !s.contains(char::is_whitespace),
                    "accepted whitespace in {s:?}"
                );
            }
        }
    }
}
