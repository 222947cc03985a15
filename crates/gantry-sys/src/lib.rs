//! Thin, audited wrappers over the Linux syscalls Gantry needs (the only crate with unsafe code).
//!
//! Every `unsafe` block carries a `// SAFETY:` line. Everything else in the workspace goes through these wrappers
//! or through `rustix`.

pub mod bpf;
