//! One file per command: its clap arguments and a `run` returning the exit status.

pub mod container;
pub mod exec;
pub mod fsck;
pub mod gc;
pub mod generate;
pub mod images;
pub mod import;
pub mod inspect;
pub mod load;
pub mod logs;
pub mod pod;
pub mod ps;
pub mod pull;
pub mod push;
pub mod rm;
pub mod rmi;
pub mod run;
pub mod save;
pub mod status;
pub mod stop;
pub mod supervise;
pub mod tag;
pub mod trust;
