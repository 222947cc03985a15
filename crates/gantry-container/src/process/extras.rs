//! The per-process attributes beyond credentials and confinement: `linux.personality`, `linux.memoryPolicy`,
//! `process.scheduler`, `process.ioPriority`, `process.execCPUAffinity` and the LSM labels. [`check`] runs in the
//! runtime before anything is created, so a value that cannot be honoured fails `create` with one line naming the
//! field; [`apply_init`] and [`apply_exec`] run in the child after its setup steps, before capabilities are dropped
//! and seccomp is loaded (raising a scheduling priority may need CAP_SYS_NICE; the filter may forbid these calls).

use oci_spec::runtime::{Process, Spec};

use super::fail::{invalid, Context, StepResult};
use super::lsm::ExecAttr;
use super::{affinity, lsm, mempolicy, personality, sched};
use crate::error::{Error, Result};

fn unsupported(msg: String) -> Error {
    match msg.split_once(": ") {
        Some((field, reason)) => Error::Unsupported {
            field: field.into(),
            reason: reason.into(),
        },
        None => Error::Unsupported {
            field: "config".into(),
            reason: msg,
        },
    }
}

/// Checks, before clone, everything of the process's attributes that can be checked without applying it.
pub fn check_process(p: &Process) -> Result<()> {
    if let Some(s) = p.scheduler() {
        sched::sched_attr(s).map_err(unsupported)?;
    }
    if let Some(io) = p.io_priority() {
        sched::io_priority(io).map_err(unsupported)?;
    }
    affinity::lists(p).map_err(unsupported)?;
    lsm::check_process(p).map_err(unsupported)
}

/// Checks, before clone, the container-wide attributes of `spec` (and its process).
pub fn check(spec: &Spec) -> Result<()> {
    if let Some(p) = spec.process() {
        check_process(p)?;
    }
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    if let Some(pers) = linux.personality() {
        personality::persona(pers).map_err(unsupported)?;
    }
    if let Some(mp) = linux.memory_policy() {
        mempolicy::plan(mp).map_err(unsupported)?;
    }
    lsm::check_mount_label(linux.mount_label().as_deref()).map_err(unsupported)?;
    if linux.intel_rdt().is_some() {
        return Err(Error::Unsupported {
            field: "linux.intelRdt".into(),
            reason: if resctrl_mounted() {
                "Intel RDT (resctrl) groups are not supported by this runtime yet; omit linux.intelRdt".into()
            } else {
                "resctrl is not mounted at /sys/fs/resctrl on this host (Intel RDT unavailable); omit \
                 linux.intelRdt"
                    .into()
            },
        });
    }
    Ok(())
}

/// Whether the resctrl filesystem is mounted at `/sys/fs/resctrl`.
pub fn resctrl_mounted() -> bool {
    const RDTGROUP_SUPER_MAGIC: u64 = 0x0765_5821;
    rustix::fs::statfs("/sys/fs/resctrl").is_ok_and(|s| s.f_type as u64 == RDTGROUP_SUPER_MAGIC)
}

/// What the child opens before its first setup step (the LSM attribute directory, while `/proc` is still the
/// runtime's).
pub struct Early {
    attr: Option<ExecAttr>,
}

/// Opens what [`apply_init`] / [`apply_exec`] will need, before any container mount exists.
pub fn open_early(p: &Process) -> StepResult<Early> {
    Ok(Early {
        attr: ExecAttr::open(p)?,
    })
}

/// In the container's init: personality, memory policy, scheduler, I/O priority, then the LSM labels for exec.
pub fn apply_init(early: &Early, spec: &Spec, p: &Process) -> StepResult {
    if let Some(linux) = spec.linux() {
        if let Some(pers) = linux.personality() {
            let v = personality::persona(pers).map_err(invalid)?;
            gantry_sys::sched::set_personality(v).ctx(|| format!("linux.personality ({v:#x})"))?;
        }
        if let Some(mp) = linux.memory_policy() {
            let (mode, nodes) = mempolicy::plan(mp).map_err(invalid)?;
            gantry_sys::sched::set_mempolicy(mode, &nodes)
                .ctx(|| format!("linux.memoryPolicy ({} {:?})", mp.mode(), mp.nodes()))?;
        }
    }
    apply_common(early, p)
}

/// In `exec`'s child: scheduler, I/O priority, `execCPUAffinity.final`, then the LSM labels for exec.
pub fn apply_exec(early: &Early, p: &Process) -> StepResult {
    let (_, last) = affinity::lists(p).map_err(invalid)?;
    if let Some(set) = last {
        rustix::thread::sched_setaffinity(None, &set)
            .ctx(|| "process.execCPUAffinity.final".into())?;
    }
    apply_common(early, p)
}

/// In the runtime just before it clones `exec`'s child, on itself, so that the child is born with them:
/// `execCPUAffinity.initial` (before the child joins the container's cgroup, as the spec asks), and the
/// container-wide `linux.personality` and `linux.memoryPolicy` (inherited across clone, as the init's are by
/// everything it forks). The runtime only waits for the child afterwards; none of these changes how it does that.
pub fn apply_exec_parent(spec: &Spec, p: &Process) -> Result<()> {
    let (initial, _) = affinity::lists(p).map_err(unsupported)?;
    if let Some(set) = initial {
        rustix::thread::sched_setaffinity(None, &set)
            .map_err(|e| Error::sys("process.execCPUAffinity.initial", e))?;
    }
    if let Some(linux) = spec.linux() {
        if let Some(pers) = linux.personality() {
            let v = personality::persona(pers).map_err(unsupported)?;
            gantry_sys::sched::set_personality(v)
                .map_err(|e| Error::sys("linux.personality", e))?;
        }
        if let Some(mp) = linux.memory_policy() {
            let (mode, nodes) = mempolicy::plan(mp).map_err(unsupported)?;
            gantry_sys::sched::set_mempolicy(mode, &nodes)
                .map_err(|e| Error::sys("linux.memoryPolicy", e))?;
        }
    }
    Ok(())
}

fn apply_common(early: &Early, p: &Process) -> StepResult {
    if let Some(s) = p.scheduler() {
        let attr = sched::sched_attr(s).map_err(invalid)?;
        gantry_sys::sched::sched_setattr_self(&attr)
            .ctx(|| format!("process.scheduler ({:?})", s.policy()))?;
    }
    if let Some(io) = p.io_priority() {
        let (class, prio) = sched::io_priority(io).map_err(invalid)?;
        gantry_sys::sched::ioprio_set_self(class, prio)
            .ctx(|| format!("process.ioPriority ({} {prio})", io.class()))?;
    }
    if let Some(attr) = &early.attr {
        attr.apply(p)?;
    }
    Ok(())
}
