//! Test harness for runtime-agnostic integration and conformance tests.
//!
//! The runtime under test comes from `GANTRY_TEST_RUNTIME` (default: the workspace's
//! `target/debug/gantry-runtime`). Every test builds a [`TestCtx`], which owns a temp dir,
//! a private `--root` state dir and a cleanup guard that removes every container, process,
//! cgroup, mount and netns the test made, also when the test panics.
#![forbid(unsafe_code)]

pub mod bundle;
pub mod cleanup;
pub mod console;
pub mod ctx;
pub mod deviation;
pub mod host;
pub mod rootfs;
pub mod runtime;
pub mod testbed;

pub use bundle::Bundle;
pub use ctx::TestCtx;
pub use deviation::known_deviation;
pub use runtime::{Output, RunOpts, Runtime};
pub use serde_json::{json, Value};
