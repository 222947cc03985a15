//! Thin, audited wrappers over the Linux syscalls Gantry needs (the only crate with unsafe code).
//!
//! Everything here is a syscall rustix does not wrap (or wraps only as `unsafe`): `clone3`, `mount_setattr`,
//! `close_range`, `execve`/`execveat`, signal masks. Every `unsafe` block carries a `// SAFETY:` line; the rest of
//! the workspace is `#![forbid(unsafe_code)]` and goes through these wrappers or through `rustix`.

pub mod bpf;
pub mod clone;
pub mod exe;
pub mod exec;
pub mod fd;
pub mod helper;
pub mod keyring;
pub mod mount;
pub mod namespace;
pub mod netns;
pub mod sched;
pub mod seccomp;
pub mod signal;
pub mod userns;
