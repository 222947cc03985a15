//! Global flags (before the verb), as `runc --help` lists them.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Default state directory of gantry-runtime (runc's is /run/runc).
pub const DEFAULT_ROOT: &str = "/run/gantry";

/// Flags that apply to every verb.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct GlobalOpts {
    /// root directory for storage of container state (this should be located in tmpfs)
    #[arg(long, value_name = "value", default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// set the log file to write runtime logs to (default is '/dev/stderr')
    #[arg(long, value_name = "value")]
    pub log: Option<PathBuf>,
    /// set the log format ('text' (default), or 'json')
    #[arg(long, value_name = "value", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// enable debug logging
    #[arg(long)]
    pub debug: bool,
    /// ignore cgroup permission errors ('true', 'false', or 'auto')
    #[arg(long, value_name = "value", value_enum, default_value_t = Rootless::Auto)]
    pub rootless: Rootless,
    /// enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name"
    #[arg(long)]
    pub systemd_cgroup: bool,
    /// path to the criu binary used for checkpoint and restore (accepted; checkpoint/restore are not supported)
    #[arg(long, value_name = "value")]
    pub criu: Option<PathBuf>,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (logfmt-like, as runc's logrus text format).
    Text,
    /// One JSON object per line: {"level","msg","time"} (what containerd and podman parse).
    Json,
}

/// `--rootless`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Rootless {
    /// Treat cgroup permission errors as fatal.
    False,
    /// Ignore cgroup permission errors.
    True,
    /// Decide from the euid and the user namespace we run in.
    Auto,
}
