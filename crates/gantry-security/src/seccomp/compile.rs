//! `linux.seccomp` → a libseccomp filter, with runc's semantics. Runs in the runtime before the clone.

use super::convert::{action, arch, compare, json_name};
use super::{enosys, Filter};
use crate::SecurityError;
use libseccomp::{ScmpAction, ScmpArgCompare, ScmpFilterContext, ScmpSyscall, ScmpVersion};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompFilterFlag as Flag, LinuxSyscall};

/// A syscall has at most six arguments.
const MAX_ARGS: usize = 6;

/// Above this many syscall entries libseccomp's binary-tree layout is cheaper than its linear one (runc's
/// threshold; libseccomp <= 2.5.4 also misbehaves with the tree and no rules).
const TREE_THRESHOLD: usize = 32;

fn libseccomp_version() -> String {
    match ScmpVersion::current() {
        Ok(v) => format!("{}.{}.{}", v.major, v.minor, v.micro),
        Err(_) => "(unknown version)".to_owned(),
    }
}

fn lib_err(
    field: impl Into<String>,
    op: impl Into<String>,
) -> impl FnOnce(libseccomp::error::SeccompError) -> SecurityError {
    move |source| SecurityError::Libseccomp {
        field: field.into(),
        op: op.into(),
        source,
    }
}

/// Compiles `linux.seccomp` into a [`Filter`] ready to [`Filter::load`].
///
/// Semantics follow runc's, so profiles written for runc behave the same:
/// - the filter always covers the native architecture; `architectures` adds more;
/// - `SCMP_ACT_ERRNO`/`SCMP_ACT_TRACE` without `errnoRet` return EPERM; `errnoRet` on any other action is refused;
/// - a rule whose action equals the default action is skipped (libseccomp refuses it);
/// - a syscall name this libseccomp does not know for the architectures is skipped, and reported by
///   [`Filter::unknown_syscalls`] (runc logs it at debug level);
/// - `args` are ANDed in one rule, unless two of them test the same argument index: then each becomes its own
///   rule, so they are ORed;
/// - `SECCOMP_FILTER_FLAG_TSYNC` is accepted and ignored (the init is single-threaded);
/// - the filter does not set no_new_privs itself: the runtime does that when `process.noNewPrivileges` is set.
///
/// # Errors
/// A [`SecurityError`] naming the field: an architecture or flag this libseccomp cannot handle, an `errnoRet` on
/// an action without errno, an argument index above 5, `SCMP_ACT_NOTIFY` as the default action, for `write`
/// (the runtime needs `write` to hand the notify fd over) or without `listenerPath`, or libseccomp refusing a
/// rule.
pub fn compile(s: &LinuxSeccomp) -> Result<Filter, SecurityError> {
    let default = action(s.default_action(), s.default_errno_ret(), || {
        "linux.seccomp.defaultErrnoRet".to_owned()
    })?;
    if default == ScmpAction::Notify {
        return Err(SecurityError::NotifyNotAllowed {
            field: "linux.seccomp.defaultAction".to_owned(),
            reason: "cannot be the default action: the runtime itself must be able to run syscalls such as write \
                     after loading the filter; use it for specific syscalls",
        });
    }
    let mut ctx = ScmpFilterContext::new(default).map_err(lib_err(
        "linux.seccomp.defaultAction",
        "creating the filter",
    ))?;
    // Report the kernel's errno from seccomp_load instead of libseccomp's generic ECANCELED (libseccomp >= 2.5).
    if let Err(e) = ctx.set_api_sysrawrc(true) {
        tracing::debug!("libseccomp cannot report raw errnos: {e}");
    }
    // The runtime decides about no_new_privs (process.noNewPrivileges); libseccomp would set it on load.
    ctx.set_ctl_nnp(false).map_err(lib_err(
        "linux.seccomp",
        "clearing the no_new_privs attribute",
    ))?;

    if let Some(archs) = s.architectures() {
        for (i, a) in archs.iter().enumerate() {
            add_arch(&mut ctx, i, *a)?;
        }
    }
    if let Some(flags) = s.flags() {
        for (i, f) in flags.iter().enumerate() {
            set_flag(&mut ctx, i, *f)?;
        }
    }
    let syscalls = s.syscalls().as_deref().unwrap_or(&[]);
    if syscalls.len() > TREE_THRESHOLD {
        // Not fatal: an older libseccomp just keeps the linear layout.
        if let Err(e) = ctx.set_ctl_optimize(2) {
            tracing::debug!("seccomp binary tree optimization not available: {e}");
        }
    }

    let mut filter = Filter::new(ctx);
    for (i, call) in syscalls.iter().enumerate() {
        add_syscall_rules(&mut filter, i, call, default)?;
    }
    // runc only notices this after the container's init loaded the filter; refuse it before anything exists.
    if filter.uses_notify
        && s.listener_path()
            .as_ref()
            .is_none_or(|p| p.as_os_str().is_empty())
    {
        return Err(SecurityError::NotifyNotAllowed {
            field: "linux.seccomp.listenerPath".to_owned(),
            reason: "is used by a rule, but no listenerPath is set: set it to the unix socket of the seccomp \
                     agent that will receive the notify fd",
        });
    }
    if enosys::wanted(default) {
        filter.last_syscalls = Some(enosys::LastSyscalls::of(s));
    }
    Ok(filter)
}

fn add_arch(
    ctx: &mut ScmpFilterContext,
    i: usize,
    a: oci_spec::runtime::Arch,
) -> Result<(), SecurityError> {
    let token = arch(a);
    let unsupported = |source| SecurityError::UnsupportedArch {
        field: format!("linux.seccomp.architectures[{i}]"),
        arch: json_name(&a),
        libseccomp: libseccomp_version(),
        source,
    };
    // The native architecture is always present; adding it twice is not an error (runc ignores EEXIST).
    if ctx.is_arch_present(token).map_err(unsupported)? {
        return Ok(());
    }
    ctx.add_arch(token).map_err(unsupported)?;
    Ok(())
}

fn set_flag(ctx: &mut ScmpFilterContext, i: usize, f: Flag) -> Result<(), SecurityError> {
    let r = match f {
        // The init is single-threaded when it loads the filter; libseccomp may still sync threads itself.
        Flag::SeccompFilterFlagTsync => return Ok(()),
        Flag::SeccompFilterFlagLog => ctx.set_ctl_log(true),
        Flag::SeccompFilterFlagSpecAllow => ctx.set_ctl_ssb(true),
        Flag::SeccompFilterFlagWaitKillableRecv => ctx.set_ctl_waitkill(true),
    };
    r.map(|_| ())
        .map_err(|source| SecurityError::UnsupportedFlag {
            field: format!("linux.seccomp.flags[{i}]"),
            flag: json_name(&f),
            libseccomp: libseccomp_version(),
            source,
        })
}

/// The conditions of one `syscalls[i]` entry, built once and shared by all its names (no heap allocation).
struct Conditions {
    list: [ScmpArgCompare; MAX_ARGS],
    len: usize,
    /// Two conditions test the same argument: add one rule per condition (OR) instead of one rule (AND).
    separate: bool,
    /// Only used when `separate`: the conditions beyond the six slots.
    overflow: Vec<ScmpArgCompare>,
}

impl Conditions {
    fn new(i: usize, call: &LinuxSyscall) -> Result<Conditions, SecurityError> {
        let mut c = Conditions {
            list: [ScmpArgCompare::new(0, libseccomp::ScmpCompareOp::Equal, 0); MAX_ARGS],
            len: 0,
            separate: false,
            overflow: Vec::new(),
        };
        let mut seen = [false; MAX_ARGS];
        for (j, a) in call.args().as_deref().unwrap_or(&[]).iter().enumerate() {
            let index = a.index();
            if index >= MAX_ARGS {
                return Err(SecurityError::ArgIndex {
                    field: format!("linux.seccomp.syscalls[{i}].args[{j}].index"),
                    index,
                });
            }
            c.separate |= seen[index];
            seen[index] = true;
            let (op, datum) = compare(a.op(), a.value(), a.value_two());
            let cmp = ScmpArgCompare::new(index as u32, op, datum);
            if c.len < MAX_ARGS {
                c.list[c.len] = cmp;
                c.len += 1;
            } else {
                c.overflow.push(cmp);
            }
        }
        Ok(c)
    }

    fn all(&self) -> impl Iterator<Item = &ScmpArgCompare> {
        self.list[..self.len].iter().chain(self.overflow.iter())
    }
}

fn add_syscall_rules(
    filter: &mut Filter,
    i: usize,
    call: &LinuxSyscall,
    default: ScmpAction,
) -> Result<(), SecurityError> {
    let act = action(call.action(), call.errno_ret(), || {
        format!("linux.seccomp.syscalls[{i}].errnoRet")
    })?;
    if act == ScmpAction::Notify && call.names().iter().any(|n| n == "write") {
        return Err(SecurityError::NotifyNotAllowed {
            field: format!("linux.seccomp.syscalls[{i}].action"),
            reason: "cannot be used for \"write\": the runtime writes to hand the notify fd over after the \
                     filter is loaded",
        });
    }
    // libseccomp refuses a rule with the default action; it would be a no-op anyway.
    if act == default {
        return Ok(());
    }
    if act == ScmpAction::Notify {
        ensure_notify_supported(i)?;
    }
    let conds = Conditions::new(i, call)?;
    for name in call.names() {
        let Ok(nr) = ScmpSyscall::from_name(name) else {
            tracing::debug!("seccomp: syscall {name:?} (linux.seccomp.syscalls[{i}]) unknown to libseccomp; ignored");
            filter.unknown_syscalls.push(name.clone());
            continue;
        };
        // Only formatted when libseccomp refuses: no allocation per rule on the normal path.
        let rule_err = |source| SecurityError::Libseccomp {
            field: format!("linux.seccomp.syscalls[{i}]"),
            op: format!("adding the rule for {name:?}"),
            source,
        };
        if conds.len == 0 {
            filter.ctx.add_rule(act, nr).map_err(rule_err)?;
        } else if conds.separate {
            for c in conds.all() {
                filter
                    .ctx
                    .add_rule_conditional(act, nr, std::slice::from_ref(c))
                    .map_err(rule_err)?;
            }
        } else {
            filter
                .ctx
                .add_rule_conditional(act, nr, &conds.list[..conds.len])
                .map_err(rule_err)?;
        }
        filter.uses_notify |= act == ScmpAction::Notify;
    }
    Ok(())
}

fn ensure_notify_supported(i: usize) -> Result<(), SecurityError> {
    let api = libseccomp::get_api();
    if api < 6 {
        return Err(SecurityError::NotifyNotAllowed {
            field: format!("linux.seccomp.syscalls[{i}].action"),
            reason: "is not supported here: it needs libseccomp >= 2.5.0 with API level 6 and Linux >= 5.7",
        });
    }
    Ok(())
}
