//! The runtime's side of the process model: clone the init and drive it to the start gate.

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{self as rfs, Mode, OFlags};

use super::driver::{self, Sequence};
use super::init::{self, InitConfig};
use super::sync::{Channel, ToChild, ToParent};
use crate::error::{Error, Result};
use crate::namespaces::{Join, Plan};

/// Callbacks the parent runs at the points the spec names.
pub trait ParentHooks {
    /// Runs `prestart` and `createRuntime` hooks for the init with host PID `pid`.
    fn runtime_hooks(&mut self, pid: i32) -> Result<()>;
    /// Hands the seccomp notify fd (number `fd` in the init `pid`) to `linux.seccomp.listenerPath`.
    fn seccomp_listener(&mut self, pid: i32, fd: i32) -> Result<()>;
    /// The init with host PID `pid` reached the start gate: record the container. Only after this returns may the
    /// init outlive the runtime (it exits if the runtime dies first).
    fn ready(&mut self, pid: i32) -> Result<()>;
}

/// Clones the container's init and drives it until it waits at the start gate. Returns its host PID.
/// On error the init has been killed and reaped.
pub fn spawn(cfg: &InitConfig<'_>, plan: &Plan, hooks: &mut dyn ParentHooks) -> Result<i32> {
    if plan.fork_again {
        // The init will be a grandchild: become its reaper when the intermediate child exits, so `run` can wait
        // for it.
        rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
            .map_err(|e| Error::sys("become a child subreaper", e))?;
    }
    let (parent, child) = Channel::pair().map_err(|e| Error::sys("create sync socket", e))?;
    let own_join = match cfg.cgroup.filter(|_| joins_after_clone(cfg, plan)) {
        Some((_, cg)) => cg.open_self_join()?,
        None => None,
    };
    let restore = enter_for_children(plan, cfg.spec)?;
    let into = cfg
        .cgroup
        .and_then(|(_, cg)| cg.clone_into_dir())
        .or_else(|| own_join.as_ref().and_then(|j| j.clone_into_dir()));
    let target = clone_target(into)?;
    // The runtime is single-threaded (checked by `fork`), and the child only runs `init::run`, which ends in execve
    // or _exit.
    let cloned =
        gantry_sys::clone::fork(plan.clone_flags as u64, target.as_ref().map(|f| f.as_fd()));
    let (pid, placed) = match cloned {
        Ok((gantry_sys::clone::Cloned::Child, placed)) => {
            drop(parent);
            init::run(cfg, child, cgroup_join(cfg, plan, own_join, placed))
        }
        Ok((gantry_sys::clone::Cloned::Parent(pid), placed)) => (pid, placed),
        Err(e) => {
            restore_after(restore)?;
            return Err(Error::sys("clone the container init", e));
        }
    };
    drop(child);
    restore_after(restore)?;
    let join = cgroup_join(cfg, plan, own_join, placed);
    let mut init_pid = pid;
    match drive(cfg, plan, &parent, &mut init_pid, placed, join, hooks) {
        Ok(()) => Ok(init_pid),
        Err(e) => {
            kill_and_reap(init_pid);
            if init_pid != pid {
                kill_and_reap(pid);
            }
            Err(e)
        }
    }
}

fn drive(
    cfg: &InitConfig<'_>,
    plan: &Plan,
    chan: &Channel,
    init_pid: &mut i32,
    placed: bool,
    join: init::CgroupJoin,
    hooks: &mut dyn ParentHooks,
) -> Result<()> {
    let pid = *init_pid;
    if plan.new_user && !plan.staged {
        write_id_maps(cfg, pid)?;
    }
    let late_join = matches!(join, init::CgroupJoin::AfterGo);
    match join {
        init::CgroupJoin::Before => {
            if let Some((_, cg)) = cfg.cgroup.filter(|_| !placed) {
                cg.enter(pid, cfg.id)?;
            }
        }
        // The init moves itself into its v1 cgroups; on a hybrid host without clone3 the runtime adds it to the
        // unified one.
        init::CgroupJoin::Itself(own) if !placed => own.add_to_unified(pid)?,
        init::CgroupJoin::Itself(_) | init::CgroupJoin::AfterGo => {}
    }
    crate::net::devices::move_into(cfg.spec, plan, pid)?;
    let seq = Sequence::create(
        plan.staged && plan.child_new_user,
        plan.fork_again,
        cfg.runtime_hooks,
        cfg.seccomp.is_some_and(|s| s.has_listener()),
    );
    let mut parent = CreateParent {
        cfg,
        first: pid,
        init_pid,
        hooks,
        late_join,
    };
    driver::drive(chan, pid, &seq, &mut parent)
}

/// The runtime's answers to the container init's requests.
struct CreateParent<'a, 'c> {
    cfg: &'a InitConfig<'c>,
    /// The cloned child (the intermediate one when the init forks again).
    first: i32,
    /// The init's host PID, updated when it forks again.
    init_pid: &'a mut i32,
    hooks: &'a mut dyn ParentHooks,
    /// The runtime moves the init into its cgroup after `Go` ([`init::CgroupJoin::AfterGo`]).
    late_join: bool,
}

impl driver::Handler for CreateParent<'_, '_> {
    fn pid(&self) -> i32 {
        *self.init_pid
    }

    fn after_go(&mut self) -> Result<Option<ToChild>> {
        match self.cfg.cgroup.filter(|_| self.late_join) {
            Some((_, cg)) => {
                cg.enter(self.first, self.cfg.id)?;
                Ok(Some(ToChild::Joined))
            }
            None => Ok(None),
        }
    }

    fn handle(&mut self, req: &ToParent) -> Result<()> {
        match *req {
            ToParent::MapsNeeded(_) => write_id_maps(self.cfg, self.first),
            ToParent::Forked(grandchild) => {
                // The intermediate child exits right after the fork: reap it; the grandchild is the init.
                let _ = rustix::process::waitpid(
                    rustix::process::Pid::from_raw(self.first),
                    rustix::process::WaitOptions::empty(),
                );
                *self.init_pid = grandchild;
                Ok(())
            }
            ToParent::RunHooks => self.hooks.runtime_hooks(*self.init_pid),
            ToParent::NotifyFd(fd) => self.hooks.seccomp_listener(*self.init_pid, fd),
            ToParent::Ready => self.hooks.ready(*self.init_pid),
            ToParent::Failed { .. } => Ok(()),
        }
    }
}

/// Whether the init may get into its cgroup after the clone (by itself, or moved by the runtime after
/// [`ToChild::Go`]): not when it forks (staged mode, whose grandchild must be born inside), nor with the systemd
/// driver (the scope is made for the process).
fn joins_after_clone(cfg: &InitConfig<'_>, plan: &Plan) -> bool {
    !plan.staged
        && !plan.fork_again
        && cfg
            .cgroup
            .is_some_and(|(_, cg)| cg.systemd_unit().is_none())
}

/// How the init gets into its cgroup; `own` is what [`gantry_cgroups::Cgroup::open_self_join`] opened (on v1
/// and hybrid hosts, when [`joins_after_clone`]), `placed` whether the clone put it in its cgroup (v2, hybrid).
///
/// On v1 and hybrid hosts the init moves itself ([`init::CgroupJoin::Itself`]): a `cgroup.procs` write by the
/// runtime would wait for an RCU grace period (8-16 ms after a quiet spell; see [`gantry_cgroups::SelfJoin`]).
/// When the clone did not place it and it cannot move itself (a v2 host without clone3), the runtime moves it
/// right after Go ([`init::CgroupJoin::AfterGo`]), unless the init unshares a cgroup namespace, whose root is
/// the cgroup it is in then; otherwise the runtime moves it before Go.
fn cgroup_join(
    cfg: &InitConfig<'_>,
    plan: &Plan,
    own: Option<gantry_cgroups::SelfJoin>,
    placed: bool,
) -> init::CgroupJoin {
    match own {
        Some(own) => init::CgroupJoin::Itself(own),
        None if !placed && !plan.new_cgroup && joins_after_clone(cfg, plan) => {
            init::CgroupJoin::AfterGo
        }
        None => init::CgroupJoin::Before,
    }
}

/// Opens `dir` (the container's cgroup v2 directory, on hosts where that is the only hierarchy) for
/// `CLONE_INTO_CGROUP`, so the child is born in its cgroup rather than moved there after the clone.
pub fn clone_target(dir: Option<&std::path::Path>) -> Result<Option<OwnedFd>> {
    dir.map(|d| {
        rfs::open(
            d,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("open the cgroup to clone into", d, e.into()))
    })
    .transpose()
}

/// Kills the init (if still there) and reaps it.
pub fn kill_and_reap(pid: i32) {
    if let Some(p) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        let _ = rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty());
    }
}

fn write_id_maps(cfg: &InitConfig<'_>, pid: i32) -> Result<()> {
    let linux = cfg.spec.linux().as_ref();
    let text = |m: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| {
        crate::rootfs::idmap::map_text(m.map(Vec::as_slice).unwrap_or(&[]))
    };
    let uid = text(linux.and_then(|l| l.uid_mappings().as_ref()));
    let gid = text(linux.and_then(|l| l.gid_mappings().as_ref()));
    if !rustix::process::geteuid().is_root() {
        write_proc(pid, "setgroups", "deny")?;
    }
    write_proc(pid, "uid_map", &uid)?;
    write_proc(pid, "gid_map", &gid)
}

fn write_proc(pid: i32, name: &str, content: &str) -> Result<()> {
    let path = format!("/proc/{pid}/{name}");
    let fd = rfs::open(
        path.as_str(),
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::path("open", &path, e.into()))?;
    rustix::io::write(&fd, content.as_bytes())
        .map_err(|e| Error::path("write", &path, e.into()))?;
    Ok(())
}

/// Namespaces the parent entered for its children, with handles to switch back.
struct Restore {
    saved: Vec<(OwnedFd, u32)>,
}

fn enter_for_children(plan: &Plan, spec: &oci_spec::runtime::Spec) -> Result<Restore> {
    let mut saved = Vec::new();
    let save = |kind: &str| -> Result<OwnedFd> {
        let own = format!("/proc/self/ns/{kind}");
        rfs::open(
            own.as_str(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("open", &own, e.into()))
    };
    for Join { kind, path } in &plan.parent_joins {
        let name = if *kind == crate::namespaces::Kind::Pid {
            "pid"
        } else {
            "time"
        };
        saved.push((save(name)?, kind.flag()));
        let fd = rfs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| Error::path("open namespace", path, e.into()))?;
        setns(fd.as_fd(), kind.flag()).map_err(|e| Error::path("join namespace", path, e))?;
    }
    if plan.parent_new_time {
        saved.push((save("time")?, libc::CLONE_NEWTIME as u32));
        gantry_sys::namespace::unshare_namespaces(libc::CLONE_NEWTIME as u32)
            .map_err(|e| Error::sys("unshare a time namespace", e))?;
        if let Some(offsets) = spec
            .linux()
            .as_ref()
            .and_then(|l| l.time_offsets().as_ref())
        {
            write_time_offsets(offsets)?;
        }
    }
    Ok(Restore { saved })
}

fn restore_after(r: Restore) -> Result<()> {
    for (fd, flag) in r.saved.into_iter().rev() {
        setns(fd.as_fd(), flag).map_err(|e| Error::sys("return to the runtime's namespace", e))?;
    }
    Ok(())
}

fn setns(fd: std::os::fd::BorrowedFd<'_>, _flag: u32) -> std::io::Result<()> {
    // The kind is checked when the namespace file is opened from the plan; setns(fd, 0) accepts any.
    rustix::thread::move_into_link_name_space(fd, None).map_err(Into::into)
}

/// Writes `linux.timeOffsets` for the new time namespace the parent unshared (before any process is in it).
pub fn write_time_offsets(
    offsets: &std::collections::HashMap<String, oci_spec::runtime::LinuxTimeOffset>,
) -> Result<()> {
    let mut text = String::new();
    for (clock, off) in offsets {
        let name = match clock.as_str() {
            "monotonic" | "boottime" => clock.as_str(),
            other => {
                return Err(Error::Unsupported {
                    field: format!("linux.timeOffsets.{other}"),
                    reason: "only monotonic and boottime clocks can be offset".into(),
                })
            }
        };
        text.push_str(&format!(
            "{name} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    write_self("/proc/self/timens_offsets", &text)
}

fn write_self(path: &str, content: &str) -> Result<()> {
    let fd = rfs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::path("open", path, e.into()))?;
    rustix::io::write(&fd, content.as_bytes()).map_err(|e| Error::path("write", path, e.into()))?;
    Ok(())
}
