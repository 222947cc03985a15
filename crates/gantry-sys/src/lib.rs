//! Thin, audited wrappers over the Linux syscalls Gantry needs (the only crate with unsafe code).
