//! `ociVersion`: config.md "Specification version": REQUIRED, MUST be SemVer 2.0.0.
//! Compatibility is kept within a major version, so any 1.x is accepted; a minor above the one
//! implemented (1.3) is accepted with a warning because its new fields would be ignored.

use crate::{Problem, SpecError};

/// Highest minor version of runtime-spec 1.x this runtime implements.
const IMPLEMENTED_MINOR: u64 = 3;

pub(super) fn check(v: &str) -> Result<(), SpecError> {
    if v.is_empty() {
        return Err(SpecError::invalid(
            "ociVersion",
            Problem::Required {
                hint: "set it to the runtime-spec version the bundle follows, e.g. \"1.3.0\"",
            },
        ));
    }
    let Some((major, minor)) = semver_major_minor(v) else {
        return Err(SpecError::invalid(
            "ociVersion",
            Problem::NotSemver {
                found: v.to_owned(),
            },
        ));
    };
    if major != 1 {
        return Err(SpecError::invalid(
            "ociVersion",
            Problem::UnsupportedVersion {
                found: v.to_owned(),
            },
        ));
    }
    if minor > IMPLEMENTED_MINOR {
        tracing::warn!(
            "ociVersion {v:?} is newer than the implemented 1.{IMPLEMENTED_MINOR}: fields added since are ignored"
        );
    }
    Ok(())
}

/// Parses a SemVer 2.0.0 string; returns its major and minor numbers.
fn semver_major_minor(v: &str) -> Option<(u64, u64)> {
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let mut parts = core.split('.');
    let major = numeric(parts.next()?)?;
    let minor = numeric(parts.next()?)?;
    numeric(parts.next()?)?;
    if parts.next().is_some() {
        return None;
    }
    if let Some(pre) = pre {
        for id in pre.split('.') {
            if !identifier(id) || (id.bytes().all(|b| b.is_ascii_digit()) && numeric(id).is_none())
            {
                return None;
            }
        }
    }
    if let Some(build) = build {
        if !build.split('.').all(identifier) {
            return None;
        }
    }
    Some((major, minor))
}

/// A numeric identifier: digits, no leading zero unless it is "0".
fn numeric(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

fn identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_1x() {
        for v in [
            "1.0.0",
            "1.0.2-dev",
            "1.2.0",
            "1.3.0",
            "1.3.1",
            "1.3.0-rc.1",
            "1.1.0-rc.1",
            "1.0.0+build.5",
            "1.9.0",
        ] {
            check(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        }
    }

    #[test]
    fn rejects_others() {
        let e = check("2.0.0").unwrap_err().to_string();
        assert_eq!(
            e,
            "ociVersion: \"2.0.0\" is not supported: this runtime implements 1.0.0–1.3.x; regenerate the bundle for a 1.x runtime"
        );
        for v in [
            "0.5.0", "1.0", "01.0.0", "1.0.0-", "1.0.0-01", "1.0.0+", "x", "1.0.0.0", "1..0",
        ] {
            assert!(check(v).is_err(), "{v}");
        }
        assert!(check("")
            .unwrap_err()
            .to_string()
            .starts_with("ociVersion: is required"));
    }
}
