//! Pods, as rkt ran them: several apps sharing network, IPC and UTS namespaces (and with `--pid pod` a PID
//! namespace), each with its own rootfs, mounts, environment, user, capabilities and limits, under one pod
//! cgroup with a child per app — supervised by a `gantry` process, never by a daemon.

pub mod app;
pub mod argv;
pub mod cgroup;
pub mod launch;
pub mod log;
pub mod net;
pub mod notify;
pub mod ops;
pub mod plan;
pub mod record;
pub mod supervisor;
pub mod tty;
