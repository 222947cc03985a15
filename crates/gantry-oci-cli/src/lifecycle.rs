//! Verbs of the container lifecycle: create, run, start, state, kill, delete, pause, resume.

use std::path::PathBuf;

use clap::Args;

use crate::signal::parse_signal;

/// Flags shared by `create` and `run`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CreateOpts {
    /// path to the root of the bundle directory, defaults to the current directory
    #[arg(short, long, value_name = "value", default_value = ".")]
    pub bundle: PathBuf,
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long, value_name = "value")]
    pub console_socket: Option<PathBuf>,
    /// specify the file to write the process id to
    #[arg(long, value_name = "value")]
    pub pid_file: Option<PathBuf>,
    /// do not use pivot root to jail process inside rootfs
    #[arg(long)]
    pub no_pivot: bool,
    /// do not create a new session keyring for the container
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)
    #[arg(long, value_name = "value", default_value_t = 0)]
    pub preserve_fds: u32,
    /// the container id
    #[arg(value_name = "container-id")]
    pub id: String,
}

/// `create`: create a container and stop before running the user process.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Create {
    /// Flags and the container id.
    #[command(flatten)]
    pub opts: CreateOpts,
}

/// `run`: create and start a container.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Run {
    /// detach from the container's process
    #[arg(short, long)]
    pub detach: bool,
    /// do not delete the container after it exits
    #[arg(long)]
    pub keep: bool,
    /// disable the use of the subreaper used to reap reparented processes
    #[arg(long)]
    pub no_subreaper: bool,
    /// Flags shared with create, and the container id.
    #[command(flatten)]
    pub opts: CreateOpts,
}

/// A verb that takes only a container id (`start`, `state`, `pause`, `resume`).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct IdOnly {
    /// the container id
    #[arg(value_name = "container-id")]
    pub id: String,
}

/// `kill ID [SIGNAL]`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Kill {
    /// send the specified signal to all processes inside the container
    #[arg(short, long)]
    pub all: bool,
    /// the container id
    #[arg(value_name = "container-id")]
    pub id: String,
    /// signal number or name (with or without SIG), default SIGTERM
    #[arg(value_name = "signal", default_value = "SIGTERM", value_parser = parse_signal)]
    pub signal: i32,
}

/// `delete [--force] ID`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Delete {
    /// Forcibly deletes the container if it is still running (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    /// the container id
    #[arg(value_name = "container-id")]
    pub id: String,
}
