//! `linux.namespaces`: config-linux.md "Namespaces".
//!
//! - Unknown `type`s are refused by the parser ("If a namespace type is not supported, the
//!   runtime MUST generate an error" is about the host; the type list is closed by the spec).
//! - "If a namespace type is specified more than once, the runtime MUST generate an error"
//!   (duplicates would also make the setns/clone order ambiguous).
//! - `path` MUST be an absolute path to a namespace file (opened later by the runtime, which
//!   checks its type: that needs I/O and is not done here).

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::paths;
use crate::{Problem, SpecError};

/// How the container gets one namespace type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceMode {
    /// Not listed: the container shares the runtime's namespace.
    Shared,
    /// Listed without `path`: a new namespace is created.
    New,
    /// Listed with `path`: an existing namespace is joined.
    Join,
}

/// The namespace set of a spec, indexed by type (a summary built once for the other checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespaces {
    modes: [NamespaceMode; 8],
}

/// Every namespace type, in the order of [`Namespaces`]' table.
const TYPES: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::Mount,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::User,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Time,
];

fn index(t: LinuxNamespaceType) -> usize {
    TYPES.iter().position(|x| *x == t).unwrap_or(0)
}

/// The JSON spelling of a namespace type (the one owner of these names; [`crate::features::ALL_NAMESPACES`] is
/// checked against it).
pub fn json_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

impl Namespaces {
    /// Summarises and checks `linux.namespaces` (duplicates, path syntax).
    pub fn of(spec: &Spec) -> Result<Namespaces, SpecError> {
        let mut modes = [NamespaceMode::Shared; 8];
        let mut first = [0usize; 8];
        let list = spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_deref())
            .unwrap_or(&[]);
        for (i, ns) in list.iter().enumerate() {
            let k = index(ns.typ());
            if modes[k] != NamespaceMode::Shared {
                return Err(SpecError::invalid(
                    format!("linux.namespaces[{i}].type"),
                    Problem::DuplicateNamespace {
                        kind: json_name(ns.typ()),
                        first: format!("linux.namespaces[{}]", first[k]),
                    },
                ));
            }
            first[k] = i;
            modes[k] = match ns.path() {
                None => NamespaceMode::New,
                Some(p) => {
                    paths::absolute(|| format!("linux.namespaces[{i}].path"), p)?;
                    NamespaceMode::Join
                }
            };
        }
        Ok(Namespaces { modes })
    }

    /// How the container gets namespace type `t`.
    pub fn mode(&self, t: LinuxNamespaceType) -> NamespaceMode {
        self.modes[index(t)]
    }

    /// Whether `t` is listed (new or joined), i.e. not shared with the runtime.
    pub fn private(&self, t: LinuxNamespaceType) -> bool {
        self.mode(t) != NamespaceMode::Shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_features_list_is_every_type_by_its_json_name() {
        let mut names: Vec<&str> = TYPES.iter().map(|t| json_name(*t)).collect();
        names.sort_unstable();
        assert_eq!(names, crate::features::ALL_NAMESPACES);
    }
}
