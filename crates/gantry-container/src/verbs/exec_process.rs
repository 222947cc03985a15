//! The process an `exec` runs: `--process` JSON as given, or the container's own `process` (from the config.json
//! kept in the state directory at create) with runc's per-flag overrides. Pure: unit-tested without root.

use std::path::PathBuf;

use oci_spec::runtime::{Process, Spec};

use crate::error::{Error, Result};

/// The `exec` flags that shape the process (when no `--process` file is given).
#[derive(Debug, Default, Clone)]
pub struct ProcessFlags {
    /// The command and its arguments.
    pub args: Vec<String>,
    /// `--env KEY=VALUE` (replace the container's value of KEY, or are added).
    pub env: Vec<String>,
    /// `--cwd`.
    pub cwd: Option<PathBuf>,
    /// `--user UID[:GID]`.
    pub user: Option<(u32, Option<u32>)>,
    /// `--additional-gids`.
    pub additional_gids: Vec<u32>,
    /// `--tty`.
    pub tty: bool,
    /// `--no-new-privs`.
    pub no_new_privs: bool,
}

/// Builds the exec process from the container's spec and the flags.
pub fn from_flags(spec: &Spec, flags: &ProcessFlags) -> Result<Process> {
    let mut p = spec.process().clone().ok_or_else(|| Error::Unsupported {
        field: "process".into(),
        reason: "the container's config has no process to base exec on (pass --process)".into(),
    })?;
    if flags.args.is_empty() {
        return Err(Error::Unsupported {
            field: "exec".into(),
            reason: "no command given: pass the command after the container id, or --process FILE"
                .into(),
        });
    }
    p.set_args(Some(flags.args.clone()));
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &flags.env {
        let key = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(cwd) = &flags.cwd {
        p.set_cwd(cwd.clone());
    }
    let mut user = p.user().clone();
    if let Some((uid, gid)) = flags.user {
        user.set_uid(uid);
        if let Some(g) = gid {
            user.set_gid(g);
        }
    }
    if !flags.additional_gids.is_empty() {
        user.set_additional_gids(Some(flags.additional_gids.clone()));
    }
    p.set_user(user);
    p.set_terminal(Some(flags.tty));
    p.set_console_size(None);
    if flags.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    Ok(p)
}

/// Parses a `--process` JSON document.
pub fn from_json(bytes: &[u8], path: &std::path::Path) -> Result<Process> {
    serde_json::from_slice(bytes).map_err(|e| Error::Unsupported {
        field: format!("--process {}", path.display()),
        reason: format!("not a valid OCI process JSON: {e}"),
    })
}

/// Refuses what this host cannot apply to an exec process: an AppArmor profile or an SELinux label.
pub fn check_lsm(p: &Process) -> Result<()> {
    if p.apparmor_profile()
        .as_deref()
        .is_some_and(|s| !s.is_empty())
        && !crate::process::lsm::apparmor_enabled()
    {
        return Err(Error::Unsupported {
            field: "process.apparmorProfile (--apparmor)".into(),
            reason:
                "AppArmor profiles are not supported on this host (it has no AppArmor); omit it"
                    .into(),
        });
    }
    if p.selinux_label().as_deref().is_some_and(|s| !s.is_empty())
        && !crate::process::lsm::selinux_enabled()
    {
        return Err(Error::Unsupported {
            field: "process.selinuxLabel (--process-label)".into(),
            reason:
                "SELinux labels are not supported on this host (SELinux is not enabled); omit it"
                    .into(),
        });
    }
    Ok(())
}

/// The capability plan for the exec process plus `--cap` names. These go to bounding, effective, permitted and
/// ambient, never inheritable (CVE-2022-29162). `None` when the process names no capabilities: like the init, it
/// then keeps the runtime's own.
pub fn caps_plan(p: &Process, extra: &[String]) -> Result<Option<gantry_security::caps::CapPlan>> {
    let Some(c) = p.capabilities() else {
        return Ok(None);
    };
    let mut plan = gantry_security::caps::plan(c)?;
    plan.add_exec_caps(extra)?;
    Ok(Some(plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        let mut s = Spec::default();
        let mut p = Process::default();
        p.set_env(Some(vec!["PATH=/bin".into(), "A=1".into()]));
        p.set_terminal(Some(true));
        s.set_process(Some(p));
        s
    }

    #[test]
    fn flags_override_the_containers_process() {
        let f = ProcessFlags {
            args: vec!["ls".into()],
            env: vec!["A=2".into(), "B=3".into()],
            cwd: Some("/tmp".into()),
            user: Some((1000, None)),
            additional_gids: vec![5],
            tty: false,
            no_new_privs: true,
        };
        let p = from_flags(&spec(), &f).unwrap();
        assert_eq!(p.args().as_deref(), Some(&["ls".to_string()][..]));
        assert_eq!(
            p.env().as_deref(),
            Some(&["PATH=/bin".to_string(), "A=2".into(), "B=3".into()][..])
        );
        assert_eq!(p.cwd(), std::path::Path::new("/tmp"));
        assert_eq!(p.user().uid(), 1000);
        assert_eq!(p.user().additional_gids().as_deref(), Some(&[5u32][..]));
        assert_eq!(p.terminal(), Some(false));
        assert_eq!(p.no_new_privileges(), Some(true));
    }

    #[test]
    fn exec_without_a_command_is_refused() {
        let e = from_flags(&spec(), &ProcessFlags::default()).unwrap_err();
        assert!(e.to_string().contains("no command"), "{e}");
    }

    #[test]
    fn lsm_options_are_refused_with_the_field() {
        let mut p = Process::default();
        p.set_apparmor_profile(Some("x".into()));
        assert!(check_lsm(&p)
            .unwrap_err()
            .to_string()
            .contains("--apparmor"));
    }
}
