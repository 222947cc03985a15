//! The staged namespace mode (see [`crate::namespaces`]): used when a user namespace is joined by path, or when a
//! new user namespace must coexist with namespaces joined by path (those joins need the host's privileges, so
//! they happen before the new user namespace exists). The child clones without namespace flags, then:
//!
//! ```text
//!  init (child)                                   runtime (parent)
//!  setns by path (user first), become root
//!  unshare(user) ── MapsNeeded ────────────────▶  write uid_map/gid_map
//!                ◀─────────────── MapsWritten ─
//!  become root, unshare(the rest, cgroup)
//!  [new pid ns: fork] ── Forked(grandchild) ───▶  reap the child; the grandchild is the init
//!                ◀───────── Adopted(grandchild) ─
//! ```
//! The grandchild is the only second fork in the runtime; the runtime is a child subreaper while it may happen,
//! so `run` can still wait for the container.

use super::fail::{invalid, Context, StepResult};
use super::sync::{Channel, ToChild, ToParent};
use crate::namespaces::{Kind, Plan};

/// Enters the container's namespaces in staged mode; returns the init's host PID (the grandchild's when a PID
/// namespace forced a fork).
pub fn enter(plan: &Plan, chan: &Channel, host_pid: i32) -> StepResult<i32> {
    // Checked before joining: a joined mount namespace may have another PID namespace's /proc.
    let single = plan
        .fork_again
        .then(gantry_sys::clone::SingleThreaded::check)
        .transpose()
        .ctx(|| "check the init is single-threaded before forking it again".into())?;
    super::init::join_namespaces(plan, false)?;
    if plan.child_joins.iter().any(|j| j.kind == Kind::User) {
        become_root()?;
    }
    if plan.child_new_user {
        gantry_sys::namespace::unshare_namespaces(Kind::User.flag())
            .ctx(|| "unshare a user namespace".into())?;
        chan.ask(&ToParent::MapsNeeded(host_pid))
            .ctx(|| "sync: wait for the id maps".into())?;
        become_root()?;
    }
    if plan.child_unshare != 0 {
        gantry_sys::namespace::unshare_namespaces(plan.child_unshare)
            .ctx(|| "unshare the container's namespaces".into())?;
    }
    let Some(single) = single else {
        return Ok(host_pid);
    };
    // The init is single-threaded (checked above; it starts no thread); the grandchild continues the init's setup,
    // which ends in execve or _exit, and this process exits at once.
    match single
        .fork(0, None)
        .ctx(|| "fork into the new PID namespace".into())?
        .0
    {
        gantry_sys::clone::Cloned::Parent(pid) => {
            let _ = chan.send(&ToParent::Forked(pid));
            gantry_sys::clone::exit_immediately(0)
        }
        gantry_sys::clone::Cloned::Child => {
            match chan.recv().ctx(|| "wait for the runtime".into())? {
                Some(ToChild::Adopted(pid)) => Ok(pid),
                other => Err(invalid(format!("sync: expected Adopted, got {other:?}"))),
            }
        }
    }
}

/// Becomes uid/gid 0 of the user namespace just entered (the runtime's host identity may not be mapped there).
pub fn become_root() -> StepResult {
    let g = rustix::process::Gid::from_raw(0);
    rustix::thread::set_thread_res_gid(g, g, g)
        .ctx(|| "become gid 0 in the user namespace (map gid 0 in linux.gidMappings)".into())?;
    let u = rustix::process::Uid::from_raw(0);
    rustix::thread::set_thread_res_uid(u, u, u)
        .ctx(|| "become uid 0 in the user namespace (map uid 0 in linux.uidMappings)".into())
}
