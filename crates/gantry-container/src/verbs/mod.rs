//! The lifecycle operations of runtime.md, one file each.

pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod exec_process;
pub mod exec_tty;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod start;
pub mod state;
pub mod update;
