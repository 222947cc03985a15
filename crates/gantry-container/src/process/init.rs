//! The container's init, in the cloned child: every setup step in order, then the start gate, then `execve`.
//! Runs single-threaded in a fresh copy of the runtime; any failure is sent to the parent as
//! [`Msg::Failed`](super::sync::Msg) and the child exits.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{PosixRlimitType, Process, Spec};
use rustix::fs::{self as rfs, Mode, OFlags};

use super::fail::{invalid, Context, StepError, StepResult};
use super::sync::{Channel, Msg};
use crate::namespaces::Plan;
use crate::rootfs::{self, pivot, resolve, RootfsCtx};
use gantry_sys::exec::CStringArray;
use gantry_sys::signal::SigSet;

/// Everything the init needs, prepared by the parent before cloning (the child only reads it).
pub struct InitConfig<'a> {
    /// Container id.
    pub id: &'a str,
    /// The validated spec.
    pub spec: &'a Spec,
    /// Absolute bundle path.
    pub bundle: &'a Path,
    /// Absolute rootfs path.
    pub rootfs: &'a Path,
    /// The namespace plan.
    pub plan: &'a Plan,
    /// Host cgroup layout and the container's cgroup.
    pub cgroup: Option<(&'a gantry_cgroups::Layout, &'a gantry_cgroups::Cgroup)>,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// The connected `--console-socket`, when `process.terminal` is true.
    pub console_socket: Option<&'a OwnedFd>,
    /// The start gate (read end).
    pub exec_fifo: &'a OwnedFd,
    /// `--preserve-fds`: descriptors 3..3+N stay open in the container.
    pub preserve_fds: u32,
    /// `process.args`.
    pub argv: &'a CStringArray,
    /// `process.env` (plus LISTEN_FDS when preserving fds).
    pub envp: &'a CStringArray,
    /// Whether there are prestart/createRuntime hooks for the parent to run.
    pub runtime_hooks: bool,
    /// The signal mask the runtime was started with (restored before exec).
    pub sigmask: SigSet,
}

/// Runs the init to the end: `execve` of the user process, or `_exit(1)` after reporting a failure.
pub fn run(cfg: &InitConfig<'_>, chan: Channel) -> ! {
    let err = match setup(cfg, &chan) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = chan.send(&Msg::Failed {
        errno: err.source.raw_os_error().unwrap_or(libc::EINVAL),
        context: if err.source.raw_os_error().is_none() {
            format!("{}: {}", err.context, err.source)
        } else {
            err.context
        },
    });
    gantry_sys::clone::exit_immediately(1)
}

fn setup(cfg: &InitConfig<'_>, chan: &Channel) -> StepResult<Infallible> {
    let spec = cfg.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| invalid("process: missing".into()))?;
    // Die with the runtime while it still drives us; keep other container processes from ptracing us or reading
    // our (host) descriptors (CVE-2016-9962).
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .ctx(|| "set parent-death signal".into())?;
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .ctx(|| "make init non-dumpable".into())?;
    let host_pid = match chan.recv().ctx(|| "wait for the runtime".into())? {
        Some(Msg::Go(pid)) => pid,
        other => return Err(invalid(format!("sync: expected Go, got {other:?}"))),
    };
    join_namespaces(cfg.plan)?;
    if let Some(oom) = process.oom_score_adj() {
        set_oom_score_adj(oom)?;
    }
    if cfg.plan.new_uts {
        if let Some(h) = spec.hostname() {
            rustix::system::sethostname(h.as_bytes()).ctx(|| format!("hostname {h:?}"))?;
        }
        if let Some(d) = spec.domainname() {
            rustix::system::setdomainname(d.as_bytes()).ctx(|| format!("domainname {d:?}"))?;
        }
    }
    set_rlimits(process)?;
    let rctx = RootfsCtx {
        spec,
        bundle: cfg.bundle,
        rootfs: cfg.rootfs,
        in_user_ns: cfg.plan.in_user_ns,
        new_cgroup_ns: cfg.plan.new_cgroup,
        cgroup: cfg.cgroup,
    };
    let root = rootfs::prepare(&rctx)?;
    if cfg.runtime_hooks {
        chan.send(&Msg::RunHooks).ctx(|| "sync".into())?;
        chan.expect(&Msg::HooksDone)
            .ctx(|| "sync: wait for createRuntime hooks".into())?;
    }
    let hooks = spec.hooks().as_ref();
    if let Some(h) = hooks.and_then(|h| h.create_container().as_ref()) {
        let state = hook_state(cfg, host_pid, "created");
        crate::hooks::run_all("createContainer", h, &state).map_err(|e| invalid(e.to_string()))?;
    }
    let dev_null = rootfs::paths::open_dev_null()?;
    rootfs::protect(&root, spec, &dev_null)?;
    drop(dev_null);
    if cfg.no_pivot {
        pivot::move_root(root.as_fd())?;
    } else {
        pivot::pivot(root.as_fd())?;
    }
    drop(root);
    if process.terminal().unwrap_or(false) {
        let socket = cfg.console_socket.ok_or_else(|| {
            invalid("process.terminal is true but no --console-socket was given".into())
        })?;
        let size = process
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16));
        super::console::setup(socket.as_fd(), size)?;
    }
    rootfs::finish(spec)?;
    enter_cwd(process.cwd())?;
    let exe = find_executable(cfg.argv, cfg.envp)?;
    set_user(process, cfg.plan)?;
    if process.no_new_privileges().unwrap_or(false) {
        rustix::thread::set_no_new_privs(true).ctx(|| "process.noNewPrivileges".into())?;
    }
    // Nothing of the runtime's may cross exec: mark every descriptor above stdio (and the preserved ones)
    // close-on-exec, and clear it on the preserved ones (CVE-2024-21626).
    for fd in 3..3 + cfg.preserve_fds as i32 {
        gantry_sys::fd::clear_cloexec(fd).ctx(|| format!("--preserve-fds: fd {fd}"))?;
    }
    gantry_sys::fd::cloexec_from(3 + cfg.preserve_fds)
        .ctx(|| "mark descriptors close-on-exec".into())?;
    rustix::process::set_parent_process_death_signal(None)
        .ctx(|| "clear parent-death signal".into())?;
    chan.send(&Msg::Ready).ctx(|| "sync".into())?;
    // Start gate: `start` writes one byte. EOF or an error means the runtime gave up on us.
    let mut byte = [0u8; 1];
    match rustix::io::read(cfg.exec_fifo, &mut byte) {
        Ok(1) => {}
        _ => gantry_sys::clone::exit_immediately(1),
    }
    if let Some(h) = hooks.and_then(|h| h.start_container().as_ref()) {
        let state = hook_state(cfg, host_pid, "running");
        if let Err(e) = crate::hooks::run_all("startContainer", h, &state) {
            eprintln!("gantry-runtime: {e}");
            gantry_sys::clone::exit_immediately(1);
        }
    }
    gantry_sys::signal::set_default(libc::SIGPIPE);
    let _ = gantry_sys::signal::set_mask(&cfg.sigmask);
    let err = gantry_sys::exec::execve(&exe, cfg.argv, cfg.envp);
    eprintln!("gantry-runtime: exec {:?}: {err}", exe);
    gantry_sys::clone::exit_immediately(127)
}

fn hook_state(cfg: &InitConfig<'_>, pid: i32, status: &str) -> Vec<u8> {
    let annotations = cfg.spec.annotations().clone().unwrap_or_default();
    let v = serde_json::json!({
        "ociVersion": cfg.spec.version(),
        "id": cfg.id,
        "status": status,
        "pid": pid,
        "bundle": cfg.bundle,
        "annotations": annotations,
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

fn join_namespaces(plan: &Plan) -> StepResult {
    for j in &plan.child_joins {
        let what = || format!("join {} namespace {}", j.kind.name(), j.path.display());
        let fd = rfs::open(&j.path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ctx(what)?;
        rustix::thread::move_into_link_name_space(fd.as_fd(), None).ctx(what)?;
    }
    if plan.child_unshare != 0 {
        gantry_sys::namespace::unshare_namespaces(plan.child_unshare)
            .ctx(|| "unshare the cgroup namespace".into())?;
    }
    Ok(())
}

fn set_oom_score_adj(value: i32) -> StepResult {
    let what = || format!("process.oomScoreAdj={value}");
    let fd = rfs::open(
        "/proc/self/oom_score_adj",
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(what)?;
    match rustix::io::write(&fd, value.to_string().as_bytes()) {
        Ok(_) => Ok(()),
        Err(e @ (rustix::io::Errno::ACCESS | rustix::io::Errno::PERM)) => Err(StepError {
            context: format!(
                "{}: lowering oom_score_adj below the runtime's own value needs CAP_SYS_RESOURCE, which this \
                 runtime does not have (raise the value, or run with that capability)",
                what()
            ),
            source: e.into(),
        }),
        Err(e) => Err(e).ctx(what),
    }
}

fn rlimit_resource(t: PosixRlimitType) -> rustix::process::Resource {
    use rustix::process::Resource as R;
    use PosixRlimitType as T;
    match t {
        T::RlimitCpu => R::Cpu,
        T::RlimitFsize => R::Fsize,
        T::RlimitData => R::Data,
        T::RlimitStack => R::Stack,
        T::RlimitCore => R::Core,
        T::RlimitRss => R::Rss,
        T::RlimitNproc => R::Nproc,
        T::RlimitNofile => R::Nofile,
        T::RlimitMemlock => R::Memlock,
        T::RlimitAs => R::As,
        T::RlimitLocks => R::Locks,
        T::RlimitSigpending => R::Sigpending,
        T::RlimitMsgqueue => R::Msgqueue,
        T::RlimitNice => R::Nice,
        T::RlimitRtprio => R::Rtprio,
        T::RlimitRttime => R::Rttime,
    }
}

fn set_rlimits(process: &Process) -> StepResult {
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
        let res = rlimit_resource(r.typ());
        let limit = rustix::process::Rlimit {
            current: Some(r.soft()),
            maximum: Some(r.hard()),
        };
        let name = serde_json::to_string(&r.typ()).unwrap_or_default();
        let what = || {
            format!(
                "process.rlimits[{i}] ({name} soft={} hard={})",
                r.soft(),
                r.hard()
            )
        };
        if let Err(e) = rustix::process::setrlimit(res, limit) {
            if e == rustix::io::Errno::PERM {
                let cur = rustix::process::getrlimit(res).maximum;
                return Err(StepError {
                    context: format!(
                        "{}: raising the hard limit above the current one ({}) needs CAP_SYS_RESOURCE, which this \
                         runtime does not have (lower the limit to at most that)",
                        what(),
                        cur.map_or("unlimited".to_string(), |c| c.to_string())
                    ),
                    source: e.into(),
                });
            }
            return Err(e).ctx(what);
        }
    }
    Ok(())
}

fn enter_cwd(cwd: &Path) -> StepResult {
    let what = || format!("process.cwd {}", cwd.display());
    let root = rfs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(what)?;
    // Resolved inside the root without magic links: a cwd of /proc/self/fd/N cannot reach a host directory
    // (CVE-2024-21626).
    let dir = resolve::mkdir_all(root.as_fd(), cwd, 0o755).ctx(what)?;
    rustix::process::fchdir(&dir).ctx(what)?;
    let here = rustix::process::getcwd(Vec::new()).ctx(what)?;
    if !here.to_bytes().starts_with(b"/") {
        return Err(invalid(format!(
            "{}: resolves outside the container's root",
            what()
        )));
    }
    Ok(())
}

fn env_path(envp: &CStringArray) -> String {
    envp.strings()
        .iter()
        .filter_map(|s| s.to_str().ok())
        .find_map(|s| s.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_owned()
}

/// Finds `args[0]` as runc does (a name without `/` is searched in the container's `PATH`), so that a missing
/// executable fails `create`, not the container after `start`.
fn find_executable(argv: &CStringArray, envp: &CStringArray) -> StepResult<CString> {
    let arg0 = argv
        .strings()
        .first()
        .ok_or_else(|| invalid("process.args: empty".into()))?;
    let name = arg0.to_string_lossy();
    let ok = |p: &CString| -> bool {
        rfs::access(p.as_c_str(), rfs::Access::EXEC_OK).is_ok()
            && rfs::stat(p.as_c_str())
                .map(|st| rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::RegularFile)
                .unwrap_or(false)
    };
    if name.contains('/') {
        if ok(arg0) {
            return Ok(arg0.clone());
        }
        let e = rfs::access(arg0.as_c_str(), rfs::Access::EXEC_OK)
            .err()
            .unwrap_or(rustix::io::Errno::ACCESS);
        return Err(e).ctx(|| format!("exec: {name:?}"));
    }
    for dir in env_path(envp).split(':').filter(|d| !d.is_empty()) {
        if let Ok(c) = CString::new(format!("{dir}/{name}")) {
            if ok(&c) {
                return Ok(c);
            }
        }
    }
    Err(StepError {
        context: format!("exec: {name:?}: executable file not found in $PATH"),
        source: std::io::Error::from_raw_os_error(libc::ENOENT),
    })
}

fn set_user(process: &Process, plan: &Plan) -> StepResult {
    let user = process.user();
    let (uid, gid) = (user.uid(), user.gid());
    let gids: Vec<rustix::process::Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| rustix::process::Gid::from_raw(*g))
        .collect();
    let setgroups_denied = plan.in_user_ns
        && std::fs::read("/proc/self/setgroups")
            .map(|s| s.starts_with(b"deny"))
            .unwrap_or(false);
    if !setgroups_denied {
        rustix::thread::set_thread_groups(&gids).ctx(|| "process.user.additionalGids".into())?;
    } else if !gids.is_empty() {
        return Err(invalid(
            "process.user.additionalGids: setgroups is denied in this user namespace".into(),
        ));
    }
    let g = rustix::process::Gid::from_raw(gid);
    rustix::thread::set_thread_res_gid(g, g, g).ctx(|| format!("process.user.gid {gid}"))?;
    let u = rustix::process::Uid::from_raw(uid);
    rustix::thread::set_thread_res_uid(u, u, u).ctx(|| format!("process.user.uid {uid}"))?;
    // runc's default umask when the spec sets none.
    rustix::process::umask(Mode::from_raw_mode(user.umask().unwrap_or(0o022) & 0o777));
    Ok(())
}
