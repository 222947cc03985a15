//! seccomp profiles in podman's `seccomp.json` format — the format of gantry's default profile
//! (`seccomp_default.json`, data in this repository) and of `--security-opt seccomp=FILE` — turned into the
//! OCI `linux.seccomp` the runtime loads (and caches as BPF). The format adds to OCI's: `archMap` (the native
//! architecture and its sub-architectures), and per rule `includes`/`excludes` by capability and
//! architecture. Rules apply in order and the first rule naming a syscall wins, as in podman; a plain OCI
//! `linux.seccomp` document is read as is.

use std::collections::HashSet;

use anyhow::Context;
use oci_spec::runtime::LinuxSeccomp;
use serde::Deserialize;
use serde_json::{json, Value};

/// gantry's default profile.
pub const DEFAULT_PROFILE: &str = include_str!("seccomp_default.json");

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    default_action: String,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    arch_map: Vec<ArchMap>,
    #[serde(default)]
    architectures: Vec<String>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    syscalls: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: String,
    #[serde(default)]
    sub_architectures: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(default)]
    names: Vec<String>,
    /// Old Docker profiles name one syscall per rule.
    #[serde(default)]
    name: Option<String>,
    action: String,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Vec<Value>,
    #[serde(default)]
    includes: Filter,
    #[serde(default)]
    excludes: Filter,
}

#[derive(Debug, Default, Deserialize)]
struct Filter {
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    arches: Vec<String>,
}

/// This machine's architecture as podman's profiles name it, and as libseccomp does.
fn native_arch() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "aarch64" => ("arm64", "SCMP_ARCH_AARCH64"),
        "arm" => ("arm", "SCMP_ARCH_ARM"),
        "x86" => ("x86", "SCMP_ARCH_X86"),
        "riscv64" => ("riscv64", "SCMP_ARCH_RISCV64"),
        "s390x" => ("s390x", "SCMP_ARCH_S390X"),
        "powerpc64" => ("ppc64le", "SCMP_ARCH_PPC64LE"),
        _ => ("amd64", "SCMP_ARCH_X86_64"),
    }
}

/// Turns a profile (`what` names it in errors) into `linux.seccomp` for an app with capabilities `caps`
/// (names without `CAP_`).
pub fn to_oci(text: &str, what: &str, caps: &[String]) -> anyhow::Result<LinuxSeccomp> {
    let p: Profile = serde_json::from_str(text)
        .with_context(|| format!("parsing the seccomp profile {what}"))?;
    let (go_arch, scmp_arch) = native_arch();
    let caps: HashSet<String> = caps.iter().map(|c| format!("CAP_{c}")).collect();
    let architectures: Vec<String> = if p.arch_map.is_empty() {
        p.architectures.clone()
    } else {
        p.arch_map
            .iter()
            .filter(|m| m.architecture == scmp_arch)
            .flat_map(|m| {
                std::iter::once(m.architecture.clone()).chain(m.sub_architectures.clone())
            })
            .collect()
    };
    let mut decided: HashSet<String> = HashSet::new();
    let mut syscalls = Vec::new();
    for r in &p.syscalls {
        let applies = r.includes.caps.iter().all(|c| caps.contains(c))
            && (r.includes.arches.is_empty() || r.includes.arches.iter().any(|a| a == go_arch))
            && !r.excludes.caps.iter().any(|c| caps.contains(c))
            && !r.excludes.arches.iter().any(|a| a == go_arch);
        if !applies {
            continue;
        }
        let names: Vec<String> = r
            .names
            .iter()
            .chain(&r.name)
            .filter(|n| !decided.contains(*n))
            .cloned()
            .collect();
        if names.is_empty() {
            continue;
        }
        if r.args.is_empty() {
            decided.extend(names.iter().cloned());
        }
        let mut s = json!({ "names": names, "action": r.action });
        if let Some(e) = r.errno_ret {
            s["errnoRet"] = json!(e);
        }
        if !r.args.is_empty() {
            s["args"] = Value::Array(r.args.clone());
        }
        syscalls.push(s);
    }
    // A name with conditional rules is decided by them: drop later unconditional rules for it, which
    // libseccomp would reject as conflicting.
    let conditional: HashSet<String> = syscalls
        .iter()
        .filter(|s| s.get("args").is_some())
        .flat_map(|s| s["names"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n.as_str().map(String::from))
        .collect();
    let mut seen_conditional = HashSet::new();
    for s in &mut syscalls {
        let has_args = s.get("args").is_some();
        let names: Vec<Value> = s["names"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| {
                let n = n.as_str().unwrap_or_default().to_owned();
                if has_args {
                    seen_conditional.insert(n);
                    true
                } else {
                    !(conditional.contains(&n) && seen_conditional.contains(&n))
                }
            })
            .collect();
        s["names"] = Value::Array(names);
    }
    syscalls.retain(|s| s["names"].as_array().is_some_and(|a| !a.is_empty()));
    let mut out = json!({
        "defaultAction": p.default_action,
        "architectures": architectures,
        "syscalls": syscalls,
    });
    if let Some(e) = p.default_errno_ret {
        out["defaultErrnoRet"] = json!(e);
    }
    if !p.flags.is_empty() {
        out["flags"] = json!(p.flags);
    }
    serde_json::from_value(out)
        .with_context(|| format!("the seccomp profile {what}: not a valid linux.seccomp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_with(s: &LinuxSeccomp, action: &str) -> HashSet<String> {
        let v = serde_json::to_value(s).unwrap();
        v["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == action)
            .flat_map(|r| r["names"].as_array().unwrap().clone())
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn default_profile_follows_capabilities() {
        let plain = to_oci(DEFAULT_PROFILE, "default", &["CHOWN".into()]).unwrap();
        let allowed = names_with(&plain, "SCMP_ACT_ALLOW");
        assert!(allowed.contains("read") && allowed.contains("personality"));
        assert!(!allowed.contains("mount") && !allowed.contains("ptrace"));
        let denied = names_with(&plain, "SCMP_ACT_ERRNO");
        assert!(denied.contains("mount") && denied.contains("clone3"));
        let admin = to_oci(DEFAULT_PROFILE, "default", &["SYS_ADMIN".into()]).unwrap();
        let allowed = names_with(&admin, "SCMP_ACT_ALLOW");
        assert!(
            allowed.contains("mount") && allowed.contains("clone") && allowed.contains("clone3")
        );
        assert!(!names_with(&admin, "SCMP_ACT_ERRNO").contains("mount"));
        // Every syscall is decided by one unconditional rule at most.
        let v = serde_json::to_value(&admin).unwrap();
        let mut seen = HashSet::new();
        for r in v["syscalls"].as_array().unwrap() {
            if r.get("args").is_none() || r["args"].is_null() {
                for n in r["names"].as_array().unwrap() {
                    assert!(seen.insert(n.as_str().unwrap().to_owned()), "{n} twice");
                }
            }
        }
        assert_eq!(serde_json::to_value(&plain).unwrap()["defaultErrnoRet"], 38);
    }

    #[test]
    fn oci_documents_and_errors() {
        let s = to_oci(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
            "f",
            &[],
        )
        .unwrap();
        assert!(names_with(&s, "SCMP_ACT_ERRNO").contains("mkdir"));
        assert!(to_oci("{", "bad.json", &[])
            .unwrap_err()
            .to_string()
            .contains("bad.json"));
    }
}
