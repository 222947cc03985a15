//! `process`: config.md "Process" and "POSIX process" / "Linux process".

use oci_spec::runtime::{PosixRlimitType, Process};

use super::paths;
use crate::{Problem, SpecError};

pub(super) fn check(p: &Process) -> Result<(), SpecError> {
    // config.md Process: args "extends the IEEE standard in that at least one entry is REQUIRED".
    match p.args() {
        Some(args) if !args.is_empty() => {
            for (i, a) in args.iter().enumerate() {
                if a.as_bytes().contains(&0) {
                    return Err(SpecError::invalid(
                        format!("process.args[{i}]"),
                        Problem::NulByte,
                    ));
                }
            }
        }
        _ => return Err(SpecError::invalid("process.args", Problem::EmptyArgs)),
    }
    // config.md Process: cwd "This value MUST be an absolute path."
    paths::absolute(|| "process.cwd".into(), p.cwd())?;
    if let Some(env) = p.env() {
        check_env(env, "process.env")?;
    }
    if let Some(rlimits) = p.rlimits() {
        check_rlimits(rlimits)?;
    }
    if let Some(adj) = p.oom_score_adj() {
        // The kernel's OOM_SCORE_ADJ_MIN..=OOM_SCORE_ADJ_MAX; anything else fails with EINVAL later.
        if !(-1000..=1000).contains(&adj) {
            return Err(SpecError::invalid(
                "process.oomScoreAdj",
                Problem::OutOfRange {
                    found: adj.into(),
                    min: -1000,
                    max: 1000,
                },
            ));
        }
    }
    if let Some(io) = p.io_priority() {
        // config-linux.md/config.md ioPriority: priority is 0 (highest) to 7 (lowest).
        let prio = io.priority();
        if !(0..=7).contains(&prio) {
            return Err(SpecError::invalid(
                "process.ioPriority.priority",
                Problem::OutOfRange {
                    found: prio,
                    min: 0,
                    max: 7,
                },
            ));
        }
    }
    Ok(())
}

/// `env` has environ(7) semantics: every entry is NAME=VALUE with a non-empty NAME (runc
/// refuses the same; an entry without '=' would be invisible to getenv(3) anyway).
pub(super) fn check_env(env: &[String], field: &str) -> Result<(), SpecError> {
    for (i, e) in env.iter().enumerate() {
        let ok = matches!(e.find('='), Some(pos) if pos > 0);
        if !ok {
            return Err(SpecError::invalid(
                format!("{field}[{i}]"),
                Problem::EnvWithoutEquals { found: e.clone() },
            ));
        }
        if e.as_bytes().contains(&0) {
            return Err(SpecError::invalid(
                format!("{field}[{i}]"),
                Problem::NulByte,
            ));
        }
    }
    Ok(())
}

/// config.md POSIX process rlimits: "If rlimits contains duplicated entries with same type,
/// the runtime MUST generate an error." Unknown types are refused by the parser already.
/// soft > hard would make setrlimit(2) fail with EINVAL inside the container: refuse it here.
/// The spec's name of an rlimit type (`RLIMIT_NOFILE`).
fn rlimit_name(t: oci_spec::runtime::PosixRlimitType) -> String {
    serde_json::to_string(&t)
        .map(|s| s.trim_matches('"').to_owned())
        .unwrap_or_default()
}

fn check_rlimits(rlimits: &[oci_spec::runtime::PosixRlimit]) -> Result<(), SpecError> {
    let mut seen: [Option<usize>; 16] = [None; 16];
    for (i, r) in rlimits.iter().enumerate() {
        let slot = &mut seen[rlimit_index(r.typ())];
        if let Some(first) = *slot {
            return Err(SpecError::invalid(
                format!("process.rlimits[{i}].type"),
                Problem::DuplicateRlimit {
                    first: format!("process.rlimits[{first}] ({})", rlimit_name(r.typ())),
                },
            ));
        }
        *slot = Some(i);
        if r.soft() > r.hard() {
            return Err(SpecError::invalid(
                format!("process.rlimits[{i}].soft"),
                Problem::SoftAboveHard {
                    soft: r.soft(),
                    hard: r.hard(),
                },
            ));
        }
    }
    Ok(())
}

fn rlimit_index(t: PosixRlimitType) -> usize {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => 0,
        RlimitFsize => 1,
        RlimitData => 2,
        RlimitStack => 3,
        RlimitCore => 4,
        RlimitRss => 5,
        RlimitNproc => 6,
        RlimitNofile => 7,
        RlimitMemlock => 8,
        RlimitAs => 9,
        RlimitLocks => 10,
        RlimitSigpending => 11,
        RlimitMsgqueue => 12,
        RlimitNice => 13,
        RlimitRtprio => 14,
        RlimitRttime => 15,
    }
}
