//! The process model: how `create` turns into a container init waiting at its start gate.
//!
//! ```text
//!  runtime (create / run)                                 container init (forked child)
//!  ──────────────────────                                 ─────────────────────────────
//!  validate spec, plan namespaces, make cgroup,
//!  mkfifo exec.fifo (opened O_RDWR), socketpair,
//!  [open the v1 `tasks` files (the init joins itself)]
//!  [setns pid/time by path for children]
//!  fork(CLONE_NEW* of the plan) ──────────────────────▶  pdeathsig=KILL, dumpable=0
//!  [restore own pid/time-for-children]                     wait for Go
//!  write uid_map/gid_map (new user ns)
//!  cgroup.procs ← pid   (only if it joins before Go, below)
//!  ── Go(pid) ──────────────────────────────────────────▶  setns by path, unshare(cgroup)
//!  [v2 without clone3: cgroup.procs ← pid                  hostname, rlimits, oomScoreAdj
//!   ── Joined ──▶ read by the init where it would          mounts, devices, /dev links, masked/readonly
//!   join itself]                                           paths, sysctl
//!                                                          [joins itself: "0" → each v1 `tasks`, before any
//!                                                           hook, else after pivot_root (new cgroup namespace:
//!                                                           right after Go, before the unshare)]
//!  ◀──────────────────────────────────────── RunHooks ──   (only if prestart/createRuntime hooks exist)
//!  run prestart + createRuntime hooks
//!  ── HooksRan ─────────────────────────────────────────▶  createContainer hooks
//!                                                          pivot_root, console, readonly root, cwd,
//!                                                          exec lookup, user/groups, noNewPrivileges,
//!                                                          fds CLOEXEC
//!  ◀─────────────────────────────────────────── Ready ──   block: read(exec.fifo)
//!  write state.json, --pid-file
//!  ── Recorded ─────────────────────────────────────────▶   (read only if the runtime hangs up early)
//!  exit                                                        ⋮
//!  ⋮                                                           ⋮
//!  `start`: write 1 byte to exec.fifo, unlink it ──────▶   startContainer hooks, execve(process.args)
//!           run poststart hooks
//! ```
//! `fork` is [`gantry_sys::clone::fork`]: `clone3` (born in the cgroup with `CLONE_INTO_CGROUP` on a pure v2
//! host), falling back to `clone` where `clone3` is missing, and refused unless the runtime is single-threaded.
//! Messages are [`sync::ToChild`] and [`sync::ToParent`]; each request of the child has one reply
//! ([`sync::ToParent::reply`]), and the runtime's side is one driver for create and exec ([`driver`]), which
//! expects exactly the requests the plan implies, in this order, and fails naming both messages otherwise.
//! When the init has a seccomp listener it sends `NotifyFd` after the hooks (answered `ListenerTook`).
//! Any step that fails in the child is sent as `Failed { errno, context }` instead of the next message, and the
//! child exits; the runtime then kills and reaps it, removes the cgroup and the state directory, and reports the
//! error with its errno and context. If the runtime dies mid-setup, the child dies with it (parent-death signal).
//! There is exactly one clone; a second fork happens only in the staged namespace mode (see
//! [`crate::namespaces`] and [`staged`]) when it creates a PID namespace.
//!
//! Getting into the cgroup (`spawn::cgroup_join`): a `cgroup.procs` write takes the kernel's global threadgroup
//! lock, which after a quiet spell waits for an RCU grace period (8-16 ms here). So the init is born in its cgroup
//! where it can be (`CLONE_INTO_CGROUP`: pure v2, and the unified part of a hybrid host), and on v1 hierarchies it
//! moves itself by writing `0` to their `tasks` files, which the kernel does without that lock
//! ([`gantry_cgroups::SelfJoin`]): cgroupfs driver, no staged mode; with a new cgroup namespace right after Go,
//! before it unshares it. Otherwise the runtime writes `cgroup.procs` before Go, or (v2 without clone3, no new
//! cgroup namespace) right after it, announced with `Joined`.
//!
//! `exec` uses the same socket protocol with a shorter sequence (see [`exec_init`] and `verbs::exec`):
//!
//! ```text
//!  runtime (exec)                                         exec process (forked child, no CLONE_NEW*)
//!  open /proc/<init>/ns/* that differ from ours,
//!  build process (stored config.json + flags), seccomp,
//!  block signals, setns pid/time (apply to children)
//!  fork(0) ───────────────────────────────────────────▶   pdeathsig=KILL, dumpable=0, wait for Go
//!  cgroup.procs ← pid (+ --cgroup sub-cgroups; not on
//!  v1/hybrid without --cgroup: the child joins itself)
//!  ── Go ───────────────────────────────────────────────▶  ["0" → each v1 `tasks`]
//!                                                          setns user, then mnt/net/ipc/uts/cgroup
//!                                                          rlimits, pty → --console-socket, cwd (in root,
//!                                                          no magic links), exec lookup, seccomp/caps/
//!                                                          user/noNewPrivileges as init, fds CLOEXEC
//!  ◀─────────────────────────────────────────── Ready ──   execve(process.args) (no reply)
//!  --pid-file; --detach: exit 0, else wait forwarding
//!  signals (sigwaitinfo) and exit with its status
//! ```

pub mod affinity;
pub mod console;
pub mod driver;
pub mod exec_init;
pub mod extras;
pub mod fail;
pub mod init;
pub mod lsm;
pub mod mempolicy;
pub mod personality;
pub mod sched;
pub mod spawn;
pub mod staged;
pub mod sync;
