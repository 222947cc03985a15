//! Platforms (`os/arch[/variant]`) and choosing a manifest from an index.

use std::fmt;

/// A target platform for image selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`, ...
    pub os: String,
    /// OCI architecture name (`amd64`, `arm64`, `arm`, `386`, `ppc64le`, `s390x`, `riscv64`).
    pub architecture: String,
    /// CPU variant (`v7`, `v8`), if any.
    pub variant: Option<String>,
}

impl Platform {
    /// The platform this process runs on, in OCI names.
    pub fn host() -> Platform {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", Some("v8")),
            "arm" => ("arm", Some("v7")),
            "x86" => ("386", None),
            "powerpc64" => ("ppc64le", None),
            "loongarch64" => ("loong64", None),
            other => (other, None),
        };
        Platform {
            os: std::env::consts::OS.to_owned(),
            architecture: arch.to_owned(),
            variant: variant.map(str::to_owned),
        }
    }

    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut it = s.split('/');
        let os = it.next().filter(|x| !x.is_empty())?;
        let arch = it.next().filter(|x| !x.is_empty())?;
        let variant = it.next().map(str::to_owned);
        if it.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.to_owned(),
            architecture: arch.to_owned(),
            variant,
        })
    }

    /// How well a candidate matches: `None` if not at all, higher is better.
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
            (_, None) => Some(1),
            (None, Some(_)) => Some(1),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        let p = Platform::parse("linux/arm64").unwrap();
        assert_eq!(p.score("linux", "arm64", Some("v8")), Some(2));
        assert_eq!(p.score("linux", "amd64", None), None);
        let v7 = Platform::parse("linux/arm/v7").unwrap();
        assert_eq!(v7.score("linux", "arm", Some("v6")), None);
        assert!(Platform::parse("linux").is_none());
    }
}
