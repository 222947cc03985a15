//! The lifecycle operations of runtime.md, one file each.

pub mod create;
pub mod delete;
pub mod kill;
pub mod list;
pub mod run;
pub mod start;
pub mod state;
