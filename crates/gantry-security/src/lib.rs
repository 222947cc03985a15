//! Capabilities and seccomp: turn the OCI spec's confinement settings into kernel state.
//!
//! Everything that can fail on bad input happens in the runtime **before** the container is cloned; the child
//! only executes the prepared plan. The order below is runc's (`libcontainer/standard_init_linux.go` and
//! `finalizeNamespace` in `init_linux.go`) and is required by the kernel's rules:
//!
//! ```text
//! runtime (host side, before clone)
//!   let plan   = caps::plan(process.capabilities)?;        // names vs cap_last_cap; log plan.warnings()
//!   let filter = seccomp::compile(linux.seccomp)?;         // libseccomp filter; log filter.unknown_syscalls()
//! container init (single-threaded child)
//!   ... namespaces, rootfs, sysctls, masked paths ...
//!   if noNewPrivileges { prctl(PR_SET_NO_NEW_PRIVS) }      // runtime (rustix::thread::set_no_new_privs)
//!   if !noNewPrivileges { fd = filter.load()? }            // needs CAP_SYS_ADMIN: before any capability goes
//!   plan.drop_bounding()?;                                 // needs CAP_SETPCAP: before the uid change
//!   prctl(PR_SET_KEEPCAPS, 1); setgroups; setresgid; setresuid; prctl(PR_SET_KEEPCAPS, 0)   // runtime
//!   plan.apply()?;                                         // effective+permitted+inheritable, then ambient
//!   ... last checks (executable lookup) ...
//!   if noNewPrivileges { fd = filter.load()? }             // as late as the create process is still there
//!   report fd (if any) to the create process, which takes it with seccomp::fetch_notify_fd
//!   block on the start gate (exec.fifo); startContainer hooks; execve(process.args)
//! runtime (host side, the create process), when the profile uses SCMP_ACT_NOTIFY
//!   seccomp::fetch_notify_fd(pidfd, n) → seccomp::process_state_json → seccomp::send_to_listener(listenerPath)
//! ```
//!
//! Loading the filter early (no `noNewPrivileges`) means every later syscall of the init must pass the filter;
//! loading it late keeps the number of syscalls a profile has to allow small. It cannot move past the start gate:
//! the notify fd must reach the agent while the `create` process lives (runc does the same), so the gate, the
//! startContainer hooks and execve run under the filter. For `exec`, build the plan the same way and add `--cap`
//! names with [`caps::CapPlan::add_exec_caps`] (never inheritable), and load the filter the same way.
#![forbid(unsafe_code)]

pub mod caps;
mod error;
pub mod seccomp;
#[cfg(test)]
mod testutil;

pub use error::SecurityError;
