//! `exec`: run a new process in a created, running (or, with `--ignore-paused`, paused) container, inside all of
//! its namespaces and its cgroup, confined like its init. See [`crate::process::exec_init`] for the child side.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Process, Spec};
use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::thread::LinkNameSpaceType as Ns;

use crate::error::{Error, Result};
use crate::namespaces::Kind;
use crate::process::driver::{self, Sequence};
use crate::process::exec_init::{self, ExecConfig};
use crate::process::spawn::kill_and_reap;
use crate::process::sync::{Channel, ToParent};
use crate::state::{ContainerDir, State, StateRoot, Status, CONFIG_FILE};
use crate::verbs::run::{forwarded_signals, wait_forwarding};
use gantry_sys::exec::CStringArray;
use gantry_sys::signal::{self, SigSet};

/// Where the exec process comes from.
#[derive(Debug, Clone)]
pub enum ProcessSource {
    /// `--process FILE` (`-` is not accepted: the file is read as is).
    File(PathBuf),
    /// The container's own process with these overrides.
    Flags(super::exec_process::ProcessFlags),
}

/// Options of `exec`.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Container id.
    pub id: String,
    /// The process.
    pub process: ProcessSource,
    /// `--cap` (added to every set but inheritable).
    pub caps: Vec<String>,
    /// `--apparmor`.
    pub apparmor: Option<String>,
    /// `--process-label`.
    pub process_label: Option<String>,
    /// `--console-socket`.
    pub console_socket: Option<PathBuf>,
    /// `--detach`.
    pub detach: bool,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--preserve-fds`.
    pub preserve_fds: u32,
    /// `--cgroup [CONTROLLER:]PATH` sub-cgroups of the container's cgroup.
    pub cgroups: Vec<String>,
    /// `--ignore-paused`.
    pub ignore_paused: bool,
}

/// Runs the exec; returns the process's exit code (128+N when killed by N), or 0 once started with `--detach`.
pub fn exec(root: &StateRoot, opts: &ExecOptions) -> Result<i32> {
    let dir = root.open(&opts.id)?;
    let state = dir.read_state()?.ok_or_else(|| Error::WrongState {
        id: opts.id.clone(),
        status: Status::Creating.as_str(),
        op: "exec",
    })?;
    let status = dir.status(Some(&state));
    match status {
        Status::Created | Status::Running => {}
        Status::Paused if opts.ignore_paused => {}
        Status::Paused => {
            return Err(Error::WrongState {
                id: opts.id.clone(),
                status: status.as_str(),
                op: "exec (resume it first, or pass --ignore-paused)",
            })
        }
        _ => {
            return Err(Error::WrongState {
                id: opts.id.clone(),
                status: status.as_str(),
                op: "exec",
            })
        }
    }
    let spec = stored_spec(&dir, &state)?;
    let mut process = build_process(&spec, opts)?;
    if opts.apparmor.is_some() {
        process.set_apparmor_profile(opts.apparmor.clone());
    }
    if opts.process_label.is_some() {
        process.set_selinux_label(opts.process_label.clone());
    }
    super::exec_process::check_lsm(&process)?;
    crate::process::extras::check_process(&process)?;
    let caps = super::exec_process::caps_plan(&process, &opts.caps)?;
    let linux = spec.linux().as_ref();
    let seccomp = match linux.and_then(|l| l.seccomp().as_ref()) {
        Some(s) if s.listener_path().is_some() => {
            return Err(Error::Unsupported {
                field: "linux.seccomp.listenerPath".into(),
                reason: "exec into a container whose seccomp profile notifies a listener is not supported yet"
                    .into(),
            })
        }
        Some(s) => Some(crate::seccomp_cache::program(root.path(), s)?),
        None => None,
    };
    let bad = |field: &str, e: String| Error::Unsupported {
        field: field.into(),
        reason: e,
    };
    let argv =
        CStringArray::new(process.args().iter().flatten()).map_err(|e| bad("process.args", e))?;
    let envp =
        CStringArray::new(process.env().iter().flatten()).map_err(|e| bad("process.env", e))?;
    let joins = Joins::open(state.pid)?;
    // A container without a mount namespace of its own runs chrooted in ours: follow it there.
    let chroot = if joins.child.iter().any(|(_, kind)| *kind == Ns::Mount) {
        None
    } else {
        let path = format!("/proc/{}/root", state.pid);
        Some(
            rfs::open(
                path.as_str(),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| Error::path("open the container's root", &path, e.into()))?,
        )
    };
    // Without --console-socket the runtime itself relays the terminal (foreground only).
    let (console_socket, relay) = match (&opts.console_socket, process.terminal().unwrap_or(false))
    {
        (Some(path), true) => (Some(super::create::connect_unix(path)?), None),
        (None, true) if opts.detach => return Err(bad(
            "--tty",
            "a detached terminal needs a console socket: pass --console-socket (it receives the pty master)"
                .into(),
        )),
        (None, true) => {
            let (ours, theirs) = super::exec_tty::console_pair()?;
            (Some(theirs), Some(ours))
        }
        _ => (None, None),
    };
    let cfg = ExecConfig {
        process: &process,
        namespaces: &joins.child,
        in_user_ns: joins.in_user_ns,
        console_socket: console_socket.as_ref(),
        preserve_fds: opts.preserve_fds,
        argv: &argv,
        envp: &envp,
        sigmask: SigSet::empty(),
        seccomp: seccomp.as_ref(),
        caps: caps.as_ref(),
        chroot: chroot.as_ref(),
        cgroup_join: None,
    };
    drop(dir);
    crate::process::extras::apply_exec_parent(&spec, &process)?;
    let set = forwarded_signals();
    let old = signal::block(&set).map_err(|e| Error::sys("block signals", e))?;
    let result = spawn_and_wait(
        ExecConfig {
            sigmask: old,
            ..cfg
        },
        &joins,
        &state,
        opts,
        status == Status::Paused,
        &set,
        relay.as_ref(),
    );
    let _ = signal::set_mask(&old);
    result
}

fn build_process(spec: &Spec, opts: &ExecOptions) -> Result<Process> {
    match &opts.process {
        ProcessSource::File(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::path("read --process", path, e))?;
            super::exec_process::from_json(&bytes, path)
        }
        ProcessSource::Flags(f) => super::exec_process::from_flags(spec, f),
    }
}

/// The container's config as kept at create (or, for containers made before that, the bundle's).
fn stored_spec(dir: &ContainerDir, state: &State) -> Result<Spec> {
    let kept = dir.path().join(CONFIG_FILE);
    let path = if kept.exists() {
        kept
    } else {
        state.bundle.join("config.json")
    };
    let bytes =
        std::fs::read(&path).map_err(|e| Error::path("read the container's config", &path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::BadState {
        id: state.id.clone(),
        path,
        reason: e.to_string(),
    })
}

fn spawn_and_wait(
    cfg: ExecConfig<'_>,
    joins: &Joins,
    state: &State,
    opts: &ExecOptions,
    paused: bool,
    set: &SigSet,
    relay: Option<&OwnedFd>,
) -> Result<i32> {
    let (parent, child) = Channel::pair().map_err(|e| Error::sys("create sync socket", e))?;
    // PID and time namespaces apply to children: enter them here so the child is born inside (no second fork).
    for fd in &joins.parent {
        rustix::thread::move_into_link_name_space(fd.0.as_fd(), Some(fd.1))
            .map_err(|e| Error::sys("enter the container's PID or time namespace", e))?;
    }
    // On v1 and hybrid hosts the process moves itself into the container's v1 cgroups (no RCU grace period, see
    // gantry_cgroups::SelfJoin), unless it goes on into --cgroup sub-cgroups, which the runtime moves it into after
    // the container's own.
    let own_join = match state.cgroup.as_ref().filter(|_| opts.cgroups.is_empty()) {
        Some(cg) => cg.open_self_join()?,
        None => None,
    };
    // On a pure v2 host the process is born in the container's cgroup (CLONE_INTO_CGROUP), on a hybrid one in its
    // unified part.
    let into = state
        .cgroup
        .as_ref()
        .and_then(|cg| cg.clone_into_dir())
        .or_else(|| own_join.as_ref().and_then(|j| j.clone_into_dir()));
    let target = crate::process::spawn::clone_target(into)?;
    // The runtime is single-threaded (checked by `fork`), and the child only runs `exec_init::run`, which ends in
    // execve or _exit.
    let cloned = gantry_sys::clone::fork(0, target.as_ref().map(|f| f.as_fd()));
    let (pid, placed) = match cloned {
        Ok((gantry_sys::clone::Cloned::Child, _)) => {
            drop(parent);
            exec_init::run(
                &ExecConfig {
                    cgroup_join: own_join.as_ref(),
                    ..cfg
                },
                child,
            )
        }
        Ok((gantry_sys::clone::Cloned::Parent(pid), placed)) => (pid, placed),
        Err(e) => return Err(Error::sys("clone the exec process", e)),
    };
    drop(child);
    let notify = cfg.seccomp.is_some_and(|s| s.has_listener());
    let joined = move_into_cgroup(pid, placed, own_join.as_ref(), state, opts);
    if let Err(e) = joined.and_then(|()| drive(&parent, pid, paused, notify)) {
        kill_and_reap(pid);
        return Err(e);
    }
    if let Some(p) = &opts.pid_file {
        if let Err(e) = super::create::write_pid_file(p, pid) {
            kill_and_reap(pid);
            return Err(e);
        }
    }
    if opts.detach {
        return Ok(0);
    }
    if let Some(ours) = relay {
        if let Err(e) = super::exec_tty::relay(ours) {
            kill_and_reap(pid);
            return Err(e);
        }
    }
    wait_forwarding(pid, set)
}

/// The runtime's part of getting the exec process `pid` into the container's cgroup, before `Go`: nothing when the
/// clone placed it and it moves itself (`own`) into the v1 hierarchies; otherwise `cgroup.procs`, then the
/// `--cgroup` sub-cgroups.
fn move_into_cgroup(
    pid: i32,
    placed: bool,
    own: Option<&gantry_cgroups::SelfJoin>,
    state: &State,
    opts: &ExecOptions,
) -> Result<()> {
    let Some(cg) = &state.cgroup else {
        return Ok(());
    };
    match own {
        Some(own) if !placed => own.add_to_unified(pid)?,
        Some(_) => {}
        None if !placed => cg.add_process(pid)?,
        None => {}
    }
    for sub in &opts.cgroups {
        join_sub_cgroup(cg, sub, pid)?;
    }
    Ok(())
}

fn drive(chan: &Channel, pid: i32, paused: bool, notify: bool) -> Result<()> {
    let seq = Sequence::exec(notify, paused);
    driver::drive(chan, pid, &seq, &mut ExecParent { pid })
}

/// The runtime's answers to an exec process's requests.
struct ExecParent {
    pid: i32,
}

impl driver::Handler for ExecParent {
    fn pid(&self) -> i32 {
        self.pid
    }

    fn handle(&mut self, req: &ToParent) -> Result<()> {
        match req {
            ToParent::NotifyFd(_) => Err(Error::Unsupported {
                field: "linux.seccomp".into(),
                reason: "SCMP_ACT_NOTIFY is not supported for exec processes".into(),
            }),
            _ => Ok(()),
        }
    }
}

/// `--cgroup [CONTROLLER:]PATH`: moves `pid` into PATH below the container's cgroup (in the hierarchy of
/// CONTROLLER, or in all of them).
fn join_sub_cgroup(cg: &gantry_cgroups::Cgroup, spec: &str, pid: i32) -> Result<()> {
    let (controller, sub) = match spec.split_once(':') {
        Some((c, p)) => (Some(c), p),
        None => (None, spec),
    };
    let rel = Path::new(sub.trim_start_matches('/'));
    if rel.as_os_str().is_empty()
        || rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(Error::Unsupported {
            field: format!("--cgroup {spec}"),
            reason:
                "the sub-cgroup must be a relative path below the container's cgroup, without `..`"
                    .into(),
        });
    }
    let dirs: Vec<&Path> = match controller {
        Some(c) => cg
            .v1_dir(c)
            .or(cg
                .unified_dir()
                .filter(|_| cg.mode() == gantry_cgroups::Mode::V2))
            .into_iter()
            .collect(),
        None => cg.dirs().collect(),
    };
    if dirs.is_empty() {
        return Err(Error::Unsupported {
            field: format!("--cgroup {spec}"),
            reason: "no hierarchy of the container's cgroup has that controller".into(),
        });
    }
    for d in dirs {
        let file = d.join(rel).join("cgroup.procs");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .map_err(|e| Error::path("join sub-cgroup (create it first)", &file, e))?;
        use std::io::Write;
        (&f).write_all(pid.to_string().as_bytes())
            .map_err(|e| Error::path("join sub-cgroup", &file, e))?;
    }
    Ok(())
}

/// The container's namespaces that differ from ours, opened from `/proc/<init>/ns/*`.
struct Joins {
    /// Joined by the child, user namespace first.
    child: Vec<(OwnedFd, Ns)>,
    /// Entered by the runtime before cloning (PID, time: they apply to children).
    parent: Vec<(OwnedFd, Ns)>,
    in_user_ns: bool,
}

impl Joins {
    fn open(pid: i32) -> Result<Joins> {
        let mut j = Joins {
            child: Vec::new(),
            parent: Vec::new(),
            in_user_ns: false,
        };
        // In join order: the user namespace first.
        for kind in Kind::ALL {
            let Some(fd) = open_if_different(pid, kind.proc_name())? else {
                continue;
            };
            if kind.for_children() {
                j.parent.push((fd, kind.link_type()));
            } else {
                j.in_user_ns |= kind == Kind::User;
                j.child.push((fd, kind.link_type()));
            }
        }
        Ok(j)
    }
}

/// Opens `/proc/<pid>/ns/<name>` unless it is the namespace we are in already (joining our own user namespace
/// would fail; the others would be no-ops). `None` too when the kernel lacks the namespace type.
fn open_if_different(pid: i32, name: &str) -> Result<Option<OwnedFd>> {
    let path = format!("/proc/{pid}/ns/{name}");
    let fd = match rfs::open(
        path.as_str(),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) if name == "time" => return Ok(None),
        Err(e) => {
            return Err(Error::path(
                "open the container's namespace",
                &path,
                e.into(),
            ))
        }
    };
    let theirs = rfs::fstat(&fd).map_err(|e| Error::path("stat", &path, e.into()))?;
    let own = format!("/proc/self/ns/{name}");
    let ours = rfs::stat(own.as_str()).map_err(|e| Error::path("stat", &own, e.into()))?;
    if theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev {
        return Ok(None);
    }
    Ok(Some(fd))
}
