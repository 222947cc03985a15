//! gantry-runtime: an OCI runtime, drop-in for runc.

fn main() {}
