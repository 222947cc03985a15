//! Platforms (`os/arch[/variant]`) as in OCI index entries, and how well one fits another.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An image platform as in an OCI index entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    /// Operating system, e.g. `linux`.
    pub os: String,
    /// CPU architecture in OCI (Go) naming, e.g. `amd64`, `arm64`, `arm`, `386`, `ppc64le`.
    pub architecture: String,
    /// CPU variant, e.g. `v7` for `arm`, `v8` for `arm64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// Why a platform string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("platform {input:?} is invalid: {reason} (expected os/arch[/variant], e.g. linux/arm64)")]
pub struct PlatformError {
    /// The input.
    pub input: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl Platform {
    /// The platform this process runs on, in OCI naming.
    pub fn host() -> Platform {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "x86" => ("386", None),
            "aarch64" => ("arm64", None),
            "arm" => ("arm", Some("v7")),
            "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
            "loongarch64" => ("loong64", None),
            other => (other, None),
        };
        Platform {
            os: std::env::consts::OS.to_string(),
            architecture: architecture.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// Parses `os/arch[/variant]`, accepting common aliases (`x86_64`, `aarch64`, `armhf`).
    pub fn parse(input: &str) -> Result<Platform, PlatformError> {
        let err = |reason| PlatformError {
            input: input.to_string(),
            reason,
        };
        let parts: Vec<&str> = input.split('/').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(err("needs 2 or 3 '/'-separated parts"));
        }
        let ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if !parts.iter().all(|p| ok(p)) {
            return Err(err("parts must be non-empty [A-Za-z0-9_-]"));
        }
        let os = parts[0].to_ascii_lowercase();
        let (architecture, mut variant) = match parts[1].to_ascii_lowercase().as_str() {
            "x86_64" | "x86-64" => ("amd64".to_string(), None),
            "aarch64" => ("arm64".to_string(), None),
            "armhf" => ("arm".to_string(), Some("v7".to_string())),
            "armel" => ("arm".to_string(), Some("v6".to_string())),
            "i386" | "i686" => ("386".to_string(), None),
            a => (a.to_string(), None),
        };
        if let Some(v) = parts.get(2) {
            variant = Some(v.to_ascii_lowercase());
        }
        Ok(Platform {
            os,
            architecture,
            variant,
        })
    }

    /// True if an index entry for `candidate` can run here: same OS and architecture, and the same
    /// variant when one is asked for (`arm64` without a variant counts as `v8`).
    pub fn matches(&self, candidate: &Platform) -> bool {
        if self.os != candidate.os || self.architecture != candidate.architecture {
            return false;
        }
        match &self.variant {
            None => true,
            Some(want) => {
                let have = candidate
                    .variant
                    .as_deref()
                    .or(match candidate.architecture.as_str() {
                        "arm64" => Some("v8"),
                        _ => None,
                    });
                have == Some(want.as_str())
            }
        }
    }

    /// How well a candidate (`os`, `arch`, `variant`) fits: `None` if it cannot run here, higher
    /// is better (2: exact variant; 1: compatible, one side names no variant). `arm64` without a
    /// variant counts as `v8` on both sides.
    pub fn score(&self, os: &str, arch: &str, variant: Option<&str>) -> Option<u8> {
        if os != self.os || arch != self.architecture {
            return None;
        }
        let norm = |v: Option<&str>| -> Option<String> {
            match (arch, v) {
                ("arm64", None) => Some("v8".into()),
                (_, v) => v.map(str::to_owned),
            }
        };
        match (norm(self.variant.as_deref()), norm(variant)) {
            (Some(w), Some(c)) if w == c => Some(2),
            (Some(_), Some(_)) => None,
            (_, None) | (None, Some(_)) => Some(1),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = PlatformError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    #[test]
    fn parse_and_aliases() {
        assert_eq!(p("linux/amd64").to_string(), "linux/amd64");
        assert_eq!(p("linux/x86_64").to_string(), "linux/amd64");
        assert_eq!(p("linux/aarch64").to_string(), "linux/arm64");
        assert_eq!(p("linux/armhf").to_string(), "linux/arm/v7");
        assert_eq!(p("linux/arm/v6").to_string(), "linux/arm/v6");
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", "linux/am d64", ""] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching() {
        assert!(p("linux/arm64").matches(&p("linux/arm64/v8")));
        assert!(p("linux/arm64/v8").matches(&p("linux/arm64")));
        assert!(!p("linux/arm/v7").matches(&p("linux/arm/v6")));
        assert!(!p("linux/amd64").matches(&p("windows/amd64")));
        assert!(!p("linux/amd64").matches(&p("linux/arm64")));
    }

    #[test]
    fn scoring() {
        let arm64 = p("linux/arm64");
        assert_eq!(arm64.score("linux", "arm64", Some("v8")), Some(2));
        assert_eq!(arm64.score("linux", "arm64", None), Some(2));
        assert_eq!(arm64.score("linux", "amd64", None), None);
        let v7 = p("linux/arm/v7");
        assert_eq!(v7.score("linux", "arm", Some("v6")), None);
        assert_eq!(v7.score("linux", "arm", Some("v7")), Some(2));
        assert_eq!(v7.score("linux", "arm", None), Some(1));
        assert_eq!(p("linux/arm").score("linux", "arm", Some("v7")), Some(1));
    }

    #[test]
    fn host_is_sane() {
        let h = Platform::host();
        assert_eq!(h.os, "linux");
        assert!(!h.architecture.is_empty());
        assert!(h.matches(&h));
        assert!(h
            .score(&h.os, &h.architecture, h.variant.as_deref())
            .is_some());
    }
}
