//! `exec`: run a new process inside a running container.

use std::path::PathBuf;

use clap::Args;

use crate::values::{parse_user, UserSpec};

/// `exec [flags] ID [COMMAND [ARG...]]` (the command is ignored when --process is given).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Exec {
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long, value_name = "value")]
    pub console_socket: Option<PathBuf>,
    /// current working directory in the container
    #[arg(long, value_name = "value")]
    pub cwd: Option<PathBuf>,
    /// set environment variables (repeatable)
    #[arg(short, long, value_name = "value")]
    pub env: Vec<String>,
    /// allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// UID (format: <uid>[:<gid>])
    #[arg(short, long, value_name = "value", value_parser = parse_user)]
    pub user: Option<UserSpec>,
    /// additional gids (repeatable)
    #[arg(short = 'g', long, value_name = "value")]
    pub additional_gids: Vec<u32>,
    /// path to the process.json
    #[arg(short, long, value_name = "value")]
    pub process: Option<PathBuf>,
    /// detach from the container's process
    #[arg(short, long)]
    pub detach: bool,
    /// specify the file to write the process id to
    #[arg(long, value_name = "value")]
    pub pid_file: Option<PathBuf>,
    /// set the asm process label for the process commonly used with selinux
    #[arg(long, value_name = "value")]
    pub process_label: Option<String>,
    /// set the apparmor profile for the process
    #[arg(long, value_name = "value")]
    pub apparmor: Option<String>,
    /// set the no new privileges value for the process
    #[arg(long)]
    pub no_new_privs: bool,
    /// add a capability to the bounding set for the process (repeatable)
    #[arg(short, long, value_name = "value")]
    pub cap: Vec<String>,
    /// Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)
    #[arg(long, value_name = "value", default_value_t = 0)]
    pub preserve_fds: u32,
    /// run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.
    #[arg(long, value_name = "value")]
    pub cgroup: Vec<String>,
    /// allow exec in a paused container
    #[arg(long)]
    pub ignore_paused: bool,
    /// the container id
    #[arg(value_name = "container-id")]
    pub id: String,
    /// the command and its arguments (everything after the id is passed through)
    #[arg(
        value_name = "command",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}
