//! `checkpoint` and `restore`: parsed so scripts get a clear "not supported" rather than a
//! usage error; the runtime refuses both (Gantry has no CRIU integration).

use std::path::PathBuf;

use clap::Args;

/// Flags common to checkpoint and restore.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CriuOpts {
    /// path for saving (checkpoint) or reading (restore) criu image files
    #[arg(long, value_name = "value")]
    pub image_path: Option<PathBuf>,
    /// path for saving work files and logs
    #[arg(long, value_name = "value")]
    pub work_path: Option<PathBuf>,
    /// allow open tcp connections
    #[arg(long)]
    pub tcp_established: bool,
    /// allow external unix sockets
    #[arg(long)]
    pub ext_unix_sk: bool,
    /// allow shell jobs
    #[arg(long)]
    pub shell_job: bool,
    /// use userfaultfd to lazily restore memory pages
    #[arg(long)]
    pub lazy_pages: bool,
    /// handle file locks, for safety
    #[arg(long)]
    pub file_locks: bool,
    /// cgroups mode: 'soft' (default), 'full' and 'strict'
    #[arg(long, value_name = "value")]
    pub manage_cgroups_mode: Option<String>,
    /// create a namespace, but don't restore its properties
    #[arg(long, value_name = "value")]
    pub empty_ns: Vec<String>,
    /// enable auto deduplication of memory images
    #[arg(long)]
    pub auto_dedup: bool,
}

/// `checkpoint [flags] ID`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Checkpoint {
    /// Flags shared with restore.
    #[command(flatten)]
    pub criu: CriuOpts,
    /// path for previous criu image files in pre-dump
    #[arg(long, value_name = "value")]
    pub parent_path: Option<PathBuf>,
    /// leave the process running after checkpointing
    #[arg(long)]
    pub leave_running: bool,
    /// criu writes \0 to this FD once lazy-pages is ready
    #[arg(long, value_name = "value", default_value_t = -1, allow_negative_numbers = true)]
    pub status_fd: i32,
    /// ADDRESS:PORT of the page server
    #[arg(long, value_name = "value")]
    pub page_server: Option<String>,
    /// dump container's memory information only, leave the container running after this
    #[arg(long)]
    pub pre_dump: bool,
    /// the container id
    #[arg(value_name = "container-id")]
    pub id: String,
}

/// `restore [flags] ID`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Restore {
    /// Flags shared with checkpoint.
    #[command(flatten)]
    pub criu: CriuOpts,
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long, value_name = "value")]
    pub console_socket: Option<PathBuf>,
    /// path to the root of the bundle directory
    #[arg(short, long, value_name = "value")]
    pub bundle: Option<PathBuf>,
    /// detach from the container's process
    #[arg(short, long)]
    pub detach: bool,
    /// specify the file to write the process id to
    #[arg(long, value_name = "value")]
    pub pid_file: Option<PathBuf>,
    /// disable the use of the subreaper used to reap reparented processes
    #[arg(long)]
    pub no_subreaper: bool,
    /// do not use pivot root to jail process inside rootfs
    #[arg(long)]
    pub no_pivot: bool,
    /// Specify an LSM profile to be used during restore in the form of TYPE:NAME
    #[arg(long, value_name = "value")]
    pub lsm_profile: Option<String>,
    /// Specify an LSM mount context to be used during restore
    #[arg(long, value_name = "value")]
    pub lsm_mount_context: Option<String>,
    /// the container id
    #[arg(value_name = "container-id")]
    pub id: String,
}
