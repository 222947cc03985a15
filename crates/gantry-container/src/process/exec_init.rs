//! The child side of `exec`: a clone of the runtime that joins the container's namespaces (descriptors the runtime
//! opened from `/proc/<init>/ns/*`, user namespace first; PID and time namespaces were entered by the runtime before
//! cloning, so the child is born in them), gets into the container's cgroup (moved or cloned there by the runtime
//! before `Go`, or moving itself right after it: see [`gantry_cgroups::SelfJoin`]), then is
//! confined exactly like the container's init (rlimits, capabilities, seccomp, user, no_new_privs: rkt
//! CVE-2019-10144) before `execve`.

use std::convert::Infallible;
use std::os::fd::{AsFd, OwnedFd};

use oci_spec::runtime::Process;
use rustix::thread::LinkNameSpaceType;

use super::fail::{invalid, Context, StepResult};
use super::init;
use super::sync::{Channel, ToParent};
use gantry_sys::exec::CStringArray;
use gantry_sys::signal::SigSet;

/// Everything the exec child needs, prepared by the runtime before cloning.
pub struct ExecConfig<'a> {
    /// The process to run.
    pub process: &'a Process,
    /// Namespaces to join in this order (the user namespace first), as descriptors opened by the runtime.
    pub namespaces: &'a [(OwnedFd, LinkNameSpaceType)],
    /// Whether the container runs in a user namespace (setgroups may be denied there).
    pub in_user_ns: bool,
    /// The connected `--console-socket`, when `process.terminal` is true.
    pub console_socket: Option<&'a OwnedFd>,
    /// `--preserve-fds`.
    pub preserve_fds: u32,
    /// `process.args`.
    pub argv: &'a CStringArray,
    /// `process.env`.
    pub envp: &'a CStringArray,
    /// The signal mask to restore before exec.
    pub sigmask: SigSet,
    /// The container's seccomp program.
    pub seccomp: Option<&'a gantry_security::seccomp::Program>,
    /// The capability sets (None: keep the runtime's, as the init does when the spec names none).
    pub caps: Option<&'a gantry_security::caps::CapPlan>,
    /// The container's root (`/proc/<init>/root`) when it shares the runtime's mount namespace: the init chrooted
    /// into its rootfs, and so does the exec'd process.
    pub chroot: Option<&'a OwnedFd>,
    /// The container's v1 cgroups, which the child moves itself into right after `Go` (None: the runtime moved it,
    /// or the clone placed it).
    pub cgroup_join: Option<&'a gantry_cgroups::SelfJoin>,
}

/// Runs the exec child to `execve`, or reports the failed step and exits 1.
pub fn run(cfg: &ExecConfig<'_>, chan: Channel) -> ! {
    match setup(cfg, &chan) {
        Ok(never) => match never {},
        Err(e) => init::fail(&chan, e),
    }
}

fn setup(cfg: &ExecConfig<'_>, chan: &Channel) -> StepResult<Infallible> {
    let process = cfg.process;
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .ctx(|| "set parent-death signal".into())?;
    // Other container processes must not ptrace us or reach our host descriptors while we set up (CVE-2016-9962).
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .ctx(|| "make the exec process non-dumpable".into())?;
    let extras = super::extras::open_early(process)?;
    init::wait_for_go(chan)?;
    if let Some(own) = cfg.cgroup_join {
        init::join_cgroup(own)?;
    }
    for (fd, kind) in cfg.namespaces {
        rustix::thread::move_into_link_name_space(fd.as_fd(), Some(*kind))
            .ctx(|| format!("join the container's {kind:?} namespace"))?;
    }
    init::set_rlimits(process)?;
    if process.terminal().unwrap_or(false) {
        let socket = cfg.console_socket.ok_or_else(|| {
            invalid("exec --tty needs --console-socket (where to send the pty master)".into())
        })?;
        let (master, slave) = super::console::open_pty(super::console::console_size(process))?;
        super::console::send_master(socket.as_fd(), &master)?;
        drop(master);
        super::console::make_controlling(&slave)?;
    }
    if let Some(root) = cfg.chroot {
        rustix::process::fchdir(root).ctx(|| "chdir to the container's root".into())?;
        rustix::process::chroot(".").ctx(|| "chroot to the container's root".into())?;
    }
    // We are in the container's mount namespace, whose root is the container's: resolve cwd inside it, no magic
    // links (CVE-2024-21626).
    init::enter_cwd(process.cwd(), false)?;
    let exe = init::find_executable(cfg.argv, cfg.envp)?;
    super::extras::apply_exec(&extras, process)?;
    // Before confinement: a seccomp profile need not allow close_range (see init::run).
    init::seal_fds(cfg.preserve_fds)?;
    init::confine(process, cfg.seccomp, cfg.caps, cfg.in_user_ns, chan)?;
    rustix::process::set_parent_process_death_signal(None)
        .ctx(|| "clear parent-death signal".into())?;
    chan.send(&ToParent::Ready).ctx(|| "sync".into())?;
    gantry_sys::signal::set_default(libc::SIGPIPE);
    let _ = gantry_sys::signal::set_mask(&cfg.sigmask);
    let err = gantry_sys::exec::execve(&exe, cfg.argv, cfg.envp);
    eprintln!("gantry-runtime: exec {exe:?}: {err}");
    gantry_sys::clone::exit_immediately(127)
}
