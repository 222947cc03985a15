//! Which policy applies: `--policy FILE` if given, else gantry's own `/etc/gantry/policy.json`, else the
//! containers tools' `/etc/containers/policy.json` read unchanged, else gantry's built-in default (reject).

use std::path::{Path, PathBuf};

use crate::error::TrustError;
use crate::policy::Policy;

/// Gantry's own policy file.
pub const GANTRY_POLICY: &str = "/etc/gantry/policy.json";
/// The file podman, skopeo and buildah read.
pub const CONTAINERS_POLICY: &str = "/etc/containers/policy.json";

/// Where the effective policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyLocation {
    /// Named with `--policy`.
    Explicit(PathBuf),
    /// `/etc/gantry/policy.json`.
    Gantry(PathBuf),
    /// `/etc/containers/policy.json` (gantry's file is absent).
    Containers(PathBuf),
    /// No file: the built-in default.
    BuiltIn,
}

impl PolicyLocation {
    /// Finds the policy file: `explicit`, else the first of `search` that exists (gantry's, then containers').
    pub fn find(explicit: Option<&Path>, search: [&Path; 2]) -> PolicyLocation {
        if let Some(p) = explicit {
            return PolicyLocation::Explicit(p.to_path_buf());
        }
        if search[0].exists() {
            return PolicyLocation::Gantry(search[0].to_path_buf());
        }
        if search[1].exists() {
            return PolicyLocation::Containers(search[1].to_path_buf());
        }
        PolicyLocation::BuiltIn
    }

    /// The system search order.
    pub fn system(explicit: Option<&Path>) -> PolicyLocation {
        PolicyLocation::find(
            explicit,
            [Path::new(GANTRY_POLICY), Path::new(CONTAINERS_POLICY)],
        )
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            PolicyLocation::Explicit(p)
            | PolicyLocation::Gantry(p)
            | PolicyLocation::Containers(p) => Some(p),
            PolicyLocation::BuiltIn => None,
        }
    }

    /// Loads the policy it names.
    pub fn load(&self) -> Result<Policy, TrustError> {
        match self.path() {
            Some(p) => Policy::load(p),
            None => Ok(Policy::default_reject()),
        }
    }
}

/// Loads the effective policy (see [`PolicyLocation::system`]).
pub fn load_effective(explicit: Option<&Path>) -> Result<(PolicyLocation, Policy), TrustError> {
    let loc = PolicyLocation::system(explicit);
    let p = loc.load()?;
    Ok((loc, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_order() {
        let d = tempfile::tempdir().unwrap();
        let g = d.path().join("gantry.json");
        let c = d.path().join("containers.json");
        assert_eq!(
            PolicyLocation::find(None, [&g, &c]),
            PolicyLocation::BuiltIn
        );
        assert_eq!(
            PolicyLocation::find(None, [&g, &c]).load().unwrap(),
            Policy::default_reject()
        );
        std::fs::write(&c, r#"{"default":[{"type":"insecureAcceptAnything"}]}"#).unwrap();
        assert_eq!(
            PolicyLocation::find(None, [&g, &c]),
            PolicyLocation::Containers(c.clone())
        );
        std::fs::write(&g, r#"{"default":[{"type":"reject"}]}"#).unwrap();
        assert_eq!(
            PolicyLocation::find(None, [&g, &c]),
            PolicyLocation::Gantry(g.clone())
        );
        assert_eq!(
            PolicyLocation::find(Some(&c), [&g, &c]),
            PolicyLocation::Explicit(c.clone())
        );
        let missing = d.path().join("nope.json");
        let e = PolicyLocation::find(Some(&missing), [&g, &c])
            .load()
            .unwrap_err();
        assert!(e.to_string().contains("nope.json"), "{e}");
    }
}
