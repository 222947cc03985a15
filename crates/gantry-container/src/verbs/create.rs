//! `create` (runtime.md "Create"): everything up to the start gate. On any error nothing is left behind: no state
//! directory, cgroup, mount or process.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use gantry_spec::Bundle;

use crate::error::{Error, Result};
use crate::namespaces;
use crate::process::init::InitConfig;
use crate::process::spawn::{self, ParentHooks};
use crate::state::{ContainerDir, LaterHooks, SpecState, State, StateRoot, Status};
use gantry_sys::exec::CStringArray;
use gantry_sys::signal::SigSet;

/// Options of `create` (and `run`).
#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    /// Container id.
    pub id: String,
    /// Bundle directory.
    pub bundle: PathBuf,
    /// `--console-socket`.
    pub console_socket: Option<PathBuf>,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--preserve-fds`.
    pub preserve_fds: u32,
    /// `--no-new-keyring`: keep the caller's session keyring instead of giving the container a new one.
    pub no_new_keyring: bool,
    /// Keep a SIGKILL parent-death signal on the container's init, so it dies with the process that created it
    /// (for a foreground supervisor such as `gantry run`: if it is killed, its container must not outlive it).
    pub kill_with_parent: bool,
    /// `--systemd-cgroup`: the cgroup is a transient systemd scope named by `linux.cgroupsPath`
    /// (`slice:prefix:name`).
    pub systemd_cgroup: bool,
}

/// A container that reached the start gate. Dropping it releases the state directory's lock; the container stays
/// created (`start` opens its gate later), unless [`Created::open_gate`] started it.
pub struct Created {
    /// Its state directory (locked).
    pub(crate) dir: ContainerDir,
    /// Its recorded state.
    pub state: State,
    /// The start gate, open read-write.
    pub(crate) exec_fifo: OwnedFd,
}

impl Created {
    /// Starts the container in this process (as `run` does): opens its start gate. The poststart hooks are the
    /// caller's to run (`state.hooks.poststart`).
    pub fn open_gate(&self) -> Result<()> {
        crate::gate::open(&self.dir, &self.exec_fifo)
    }
}

/// Creates the container; `sigmask` is the mask the init restores before exec (callers that block signals pass
/// the mask they had before).
pub fn create(root: &StateRoot, opts: &CreateOptions, sigmask: SigSet) -> Result<Created> {
    crate::id::validate(&opts.id)?;
    let bundle = Bundle::load(&opts.bundle)?;
    let dir = root.create(&opts.id)?;
    let mut cleanup = Cleanup {
        dir: Some(dir),
        cgroup: None,
    };
    let (state, exec_fifo) = create_in(
        &bundle,
        opts,
        cleanup.dir.as_ref().expect("dir"),
        &mut cleanup.cgroup,
        sigmask,
    )?;
    let dir = cleanup.dir.take().expect("dir");
    cleanup.cgroup = None;
    Ok(Created {
        dir,
        state,
        exec_fifo,
    })
}

/// Removes what a failed create made.
struct Cleanup {
    dir: Option<ContainerDir>,
    cgroup: Option<gantry_cgroups::Cgroup>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(cg) = self.cgroup.take() {
            let _ = cg.kill_all(libc::SIGKILL);
            let _ = cg.destroy();
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.remove();
        }
    }
}

struct RuntimeHooks<'a> {
    spec: &'a oci_spec::runtime::Spec,
    id: &'a str,
    bundle: &'a Path,
    /// What `ready` records.
    record: Record<'a>,
}

/// The final record of the container, written when the init reaches the start gate.
struct Record<'a> {
    dir: &'a ContainerDir,
    raw_config: &'a [u8],
    return_net_devices: bool,
    pid_file: Option<&'a Path>,
    /// The state to complete with the init's PID; `creating` is false in it.
    state: State,
    /// Set once written.
    written: bool,
}

impl Record<'_> {
    fn write(&mut self, pid: i32) -> Result<()> {
        let start_time = match crate::procfs::stat(pid) {
            Ok(Some(s)) => s.start_time,
            _ => return Err(Error::InitDied("gone right after setup".into())),
        };
        self.state.pid = pid;
        self.state.pid_start_time = start_time;
        // exec builds its process from the container's config, independent of the bundle from now on.
        self.dir.keep_config(self.raw_config)?;
        if self.return_net_devices {
            self.dir.touch(crate::net::devices::RETURN_MARKER)?;
        }
        self.dir.write_state(&self.state)?;
        if let Some(p) = self.pid_file {
            write_pid_file(p, pid)?;
        }
        self.written = true;
        Ok(())
    }
}

impl RuntimeHooks<'_> {
    /// The state given to the create-time hooks and the seccomp listener.
    fn creating(&self, pid: i32) -> SpecState<'_> {
        SpecState::during_create(
            self.id,
            Status::Creating,
            pid,
            self.bundle,
            &self.record.state.annotations,
        )
    }
}

impl ParentHooks for RuntimeHooks<'_> {
    fn runtime_hooks(&mut self, pid: i32) -> Result<()> {
        let Some(h) = self.spec.hooks() else {
            return Ok(());
        };
        let state = self.creating(pid).to_json();
        #[allow(deprecated)]
        if let Some(pre) = h.prestart() {
            crate::hooks::run_all("prestart", pre, &state)?;
        }
        if let Some(cr) = h.create_runtime() {
            crate::hooks::run_all("createRuntime", cr, &state)?;
        }
        Ok(())
    }

    fn seccomp_listener(&mut self, pid: i32, fd: i32) -> Result<()> {
        use gantry_security::seccomp;
        let sc = self
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref());
        let Some(path) = sc.and_then(|s| s.listener_path().as_ref()) else {
            return Err(Error::Unsupported {
                field: "linux.seccomp.listenerPath".into(),
                reason: "SCMP_ACT_NOTIFY needs a listener".into(),
            });
        };
        let p =
            rustix::process::Pid::from_raw(pid).ok_or_else(|| Error::InitDied("bad pid".into()))?;
        let pidfd = rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty())
            .map_err(|e| Error::sys("open a pidfd for the container init", e))?;
        let notify = seccomp::fetch_notify_fd(&pidfd, fd)?;
        let state = self.creating(pid).to_oci();
        let metadata = sc.and_then(|s| s.listener_metadata().as_deref());
        let json = seccomp::process_state_json(&state, pid, metadata)?;
        use std::os::fd::AsFd;
        seccomp::send_to_listener(path, &[notify.as_fd()], &json)?;
        Ok(())
    }

    fn ready(&mut self, pid: i32) -> Result<()> {
        self.record.write(pid)
    }
}

/// create's three steps: [`prepare`] (checks, plan, provisional record, cgroup, everything the init reads), then
/// [`spawn_init`] (clone and drive the init to its start gate; it records the container when the init is ready),
/// then [`finish`] (limits of a systemd scope, and the record's check).
fn create_in(
    bundle: &Bundle,
    opts: &CreateOptions,
    dir: &ContainerDir,
    cgroup_slot: &mut Option<gantry_cgroups::Cgroup>,
    sigmask: SigSet,
) -> Result<(State, OwnedFd)> {
    let (prep, state) = prepare(bundle, opts, dir, cgroup_slot)?;
    let cg = cgroup_slot.as_ref().expect("prepare made the cgroup");
    let (pid, record) = spawn_init(&prep, state, bundle, opts, dir, cg, sigmask)?;
    let state = finish(&prep, &bundle.spec, cg, pid, record)?;
    Ok((state, prep.exec_fifo))
}

/// What [`prepare`] made for the clone: everything the init's config borrows, and the provisional record.
struct Prepared {
    plan: namespaces::Plan,
    layout: gantry_cgroups::Layout,
    idmapped: crate::rootfs::idmap::Prepared,
    caps: Option<gantry_security::caps::CapPlan>,
    seccomp: Option<gantry_security::seccomp::Program>,
    exec_fifo: OwnedFd,
    console_socket: Option<OwnedFd>,
    argv: CStringArray,
    envp: CStringArray,
    /// `LISTEN_FDS` passed through plus `--preserve-fds`.
    preserve_fds: u32,
    /// Whether there are prestart/createRuntime hooks.
    runtime_hooks: bool,
    /// The cgroup is a systemd scope: it exists, and takes limits, only once it holds the init.
    systemd_scope: bool,
}

/// Checks what can be checked before anything is made, records the container provisionally, makes its cgroup
/// (into `cgroup_slot`, which the caller's cleanup owns) and prepares what the init will read. Returns that and
/// the record so far (`creating`, with `create`'s own PID).
fn prepare(
    bundle: &Bundle,
    opts: &CreateOptions,
    dir: &ContainerDir,
    cgroup_slot: &mut Option<gantry_cgroups::Cgroup>,
) -> Result<(Prepared, State)> {
    let spec = &bundle.spec;
    let process = spec.process().as_ref().ok_or_else(|| Error::Unsupported {
        field: "process".into(),
        reason: "create needs a process to run".into(),
    })?;
    let linux = spec.linux().as_ref();
    let plan = namespaces::plan(linux.and_then(|l| l.namespaces().as_deref()).unwrap_or(&[]));
    crate::process::extras::check(spec)?;
    crate::net::devices::check(spec, &plan)?;
    let idmapped = crate::rootfs::idmap::prepare(spec, &bundle.dir)?;
    let layout = gantry_cgroups::Layout::detect()?;
    let cgroups_path = linux
        .and_then(|l| l.cgroups_path().as_ref())
        .and_then(|p| p.to_str());
    let cg = if opts.systemd_cgroup {
        gantry_cgroups::Cgroup::resolve_systemd(&layout, cgroups_path, &opts.id)?
    } else {
        gantry_cgroups::Cgroup::resolve(&layout, cgroups_path, &opts.id)?
    };
    let mut state = State {
        oci_version: crate::OCI_VERSION.into(),
        id: opts.id.clone(),
        pid: 0,
        pid_start_time: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        annotations: spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        created: crate::time::rfc3339(std::time::SystemTime::now()),
        owner: owner_name(),
        cgroup: Some(cg.clone()),
        hooks: LaterHooks::default(),
        creating: true,
    };
    record_provisional(dir, &mut state)?;
    cg.create()?;
    let cg = cgroup_slot.insert(cg);
    // A systemd scope exists only once it holds the init; its limits are written then, before `start`.
    let systemd_scope = cg.systemd_unit().is_some();
    if !systemd_scope {
        apply_resources(spec, cg)?;
    }
    let caps = match process.capabilities() {
        Some(c) => {
            let plan = gantry_security::caps::plan(c)?;
            for w in plan.warnings() {
                tracing::warn!("process.capabilities: {w:?}");
            }
            Some(plan)
        }
        None => None,
    };
    let seccomp = match linux.and_then(|l| l.seccomp().as_ref()) {
        Some(s) => {
            let state_root = dir.path().parent().unwrap_or(dir.path());
            Some(crate::seccomp_cache::program(state_root, s)?)
        }
        None => None,
    };
    let exec_fifo = dir.make_exec_fifo()?;
    let console_socket = match (&opts.console_socket, process.terminal().unwrap_or(false)) {
        (Some(path), true) => Some(connect_unix(path)?),
        (None, true) => {
            return Err(Error::Unsupported {
                field: "process.terminal".into(),
                reason: "a terminal needs --console-socket (or set process.terminal to false)"
                    .into(),
            })
        }
        _ => None,
    };
    let bad_arg = |field: &str, e: String| Error::Unsupported {
        field: field.into(),
        reason: e,
    };
    let argv = CStringArray::new(process.args().iter().flatten())
        .map_err(|e| bad_arg("process.args", e))?;
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    // systemd socket activation: the caller's LISTEN_FDS pass through (fds 3..), then --preserve-fds.
    let listen_fds = listen_fds();
    if listen_fds > 0 {
        env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
        env.push(format!("LISTEN_FDS={listen_fds}"));
        env.push("LISTEN_PID=1".into());
    }
    let envp = CStringArray::new(&env).map_err(|e| bad_arg("process.env", e))?;
    let hooks = spec.hooks().as_ref();
    #[allow(deprecated)]
    let runtime_hooks = hooks.is_some_and(|h| {
        h.prestart().as_ref().is_some_and(|v| !v.is_empty())
            || h.create_runtime().as_ref().is_some_and(|v| !v.is_empty())
    });
    let prep = Prepared {
        plan,
        layout,
        idmapped,
        caps,
        seccomp,
        exec_fifo,
        console_socket,
        argv,
        envp,
        preserve_fds: listen_fds + opts.preserve_fds,
        runtime_hooks,
        systemd_scope,
    };
    Ok((prep, state))
}

/// Clones the init and drives it to its start gate; the container is recorded (state.json, kept config,
/// --pid-file) when the init reports ready. Returns the init's host PID and the record.
fn spawn_init<'a>(
    prep: &Prepared,
    mut state: State,
    bundle: &'a Bundle,
    opts: &'a CreateOptions,
    dir: &'a ContainerDir,
    cg: &gantry_cgroups::Cgroup,
    sigmask: SigSet,
) -> Result<(i32, Record<'a>)> {
    let spec = &bundle.spec;
    let cfg = InitConfig {
        id: &opts.id,
        spec,
        bundle: &bundle.dir,
        rootfs: &bundle.rootfs,
        plan: &prep.plan,
        cgroup: Some((&prep.layout, cg)),
        no_pivot: opts.no_pivot,
        console_socket: prep.console_socket.as_ref(),
        exec_fifo: &prep.exec_fifo,
        preserve_fds: prep.preserve_fds,
        argv: &prep.argv,
        envp: &prep.envp,
        runtime_hooks: prep.runtime_hooks,
        sigmask,
        close_fds: &[dir.raw_fd()],
        new_keyring: !opts.no_new_keyring,
        kill_with_parent: opts.kill_with_parent,
        caps: prep.caps.as_ref(),
        seccomp: prep.seccomp.as_ref(),
        idmapped: &prep.idmapped,
    };
    state.creating = false;
    // Again, not redundant: `create()` recorded in the cgroup which directories it made, and `delete` removes those.
    state.cgroup = Some(cg.clone());
    let hooks = spec.hooks().as_ref();
    state.hooks = LaterHooks {
        poststart: hooks
            .and_then(|h| h.poststart().clone())
            .unwrap_or_default(),
        poststop: hooks.and_then(|h| h.poststop().clone()).unwrap_or_default(),
    };
    let mut parent_hooks = RuntimeHooks {
        spec,
        id: &opts.id,
        bundle: &bundle.dir,
        record: Record {
            dir,
            raw_config: &bundle.raw_config,
            return_net_devices: crate::net::devices::must_return(spec, &prep.plan),
            pid_file: opts.pid_file.as_deref(),
            state,
            written: false,
        },
    };
    let pid = spawn::spawn(&cfg, &prep.plan, &mut parent_hooks)?;
    Ok((pid, parent_hooks.record))
}

/// Writes a systemd scope's limits (it holds the init only now, still before `start`) and checks the container
/// was recorded; returns its state.
fn finish(
    prep: &Prepared,
    spec: &oci_spec::runtime::Spec,
    cg: &gantry_cgroups::Cgroup,
    pid: i32,
    record: Record<'_>,
) -> Result<State> {
    if prep.systemd_scope {
        if let Err(e) = apply_resources(spec, cg) {
            spawn::kill_and_reap(pid);
            return Err(e);
        }
    }
    if !record.written {
        return Err(Error::InitDied("the container was not recorded".into()));
    }
    Ok(record.state)
}

/// Applies `linux.resources` of `spec` to `cg` (device rules made effective with `linux.devices`).
fn apply_resources(spec: &oci_spec::runtime::Spec, cg: &gantry_cgroups::Cgroup) -> Result<()> {
    let linux = spec.linux().as_ref();
    if let Some(r) = linux.and_then(|l| l.resources().as_ref()) {
        let mut r = r.clone();
        if let Some(rules) = r.devices().as_ref() {
            let devices = linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]);
            r.set_devices(Some(crate::device_rules::effective(rules, devices)));
        }
        cg.apply(&r)?;
    }
    Ok(())
}

/// Records the container before anything is made for it, with `create`'s own PID (see [`State::creating`]), so
/// that `delete` can remove what a `create` killed midway left behind.
fn record_provisional(dir: &ContainerDir, state: &mut State) -> Result<()> {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    state.pid = me;
    state.pid_start_time = match crate::procfs::stat(me) {
        Ok(Some(s)) => s.start_time,
        _ => 0,
    };
    dir.write_state(state)
}

fn owner_name() -> String {
    let uid = rustix::process::geteuid().as_raw();
    if uid == 0 {
        "root".into()
    } else {
        uid.to_string()
    }
}

/// Writes `pid` to `path` atomically (as runc: temporary file in the same directory, then rename).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("pid")
    ));
    std::fs::write(&tmp, pid.to_string()).map_err(|e| Error::path("write --pid-file", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::path("write --pid-file", path, e))
}

/// Connects to the `--console-socket` at `path`.
pub(crate) fn connect_unix(path: &Path) -> Result<OwnedFd> {
    let sock = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| Error::path("connect to --console-socket", path, e))?;
    Ok(OwnedFd::from(sock))
}

/// Number of socket-activation descriptors the caller passed (`LISTEN_FDS`, for this process's `LISTEN_PID`;
/// descriptors 3 and up), which `create` passes on to the container's process.
pub fn listen_fds() -> u32 {
    let Some(n) = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    else {
        return 0;
    };
    match std::env::var("LISTEN_PID")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    {
        Some(pid) if pid != std::process::id() => 0,
        _ => n,
    }
}
