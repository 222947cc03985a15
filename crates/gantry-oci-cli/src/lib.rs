//! The runc-compatible command-line surface (clap structs only, no behaviour).
//!
//! `gantry-runtime` parses its argv with [`Cli::parse_args`] and dispatches on [`Command`]. The
//! structs mirror runc 1.1's flags (names, short forms, defaults, value syntax) so podman,
//! containerd's shim and scripts can call either binary. Flags runc has that Gantry does not
//! implement are still parsed, and [`Cli::unsupported_flags`] names them so the runtime refuses
//! them instead of ignoring them silently.
#![forbid(unsafe_code)]

mod argv;
mod checkpoint;
mod exec;
mod flags;
mod global;
mod inspect;
mod lifecycle;
mod signal;
mod update;
mod values;

use clap::{Parser, Subcommand};

pub use argv::normalize_single_dash;
pub use checkpoint::{Checkpoint, CriuOpts, Restore};
pub use exec::Exec;
pub use flags::NOT_IMPLEMENTED;
pub use global::{GlobalOpts, LogFormat, Rootless, DEFAULT_ROOT};
pub use inspect::{Events, Format, List, Ps, SpecCmd};
pub use lifecycle::{Create, CreateOpts, Delete, IdOnly, Kill, Run};
pub use signal::{parse_signal, SignalError, SIGMAX};
pub use update::Update;
pub use values::{parse_go_duration, parse_mem_bytes, parse_user, UserSpec, ValueError};

/// The runtime-spec version `--version` reports.
pub const SPEC_VERSION: &str = "1.2.0";

/// `gantry-runtime [GLOBAL FLAGS] VERB [FLAGS] [ARGS]`.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(
    name = "gantry-runtime",
    about = "Open Container Initiative runtime (runc-compatible)",
    disable_version_flag = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Flags before the verb.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// print the version
    #[arg(short = 'v', long)]
    pub version: bool,
    /// The verb; absent when only global flags were given (`--version`, or a usage error the
    /// runtime reports by printing help).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The verbs of runc 1.1.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// create a container
    Create(Create),
    /// executes the user defined process in a created container
    Start(IdOnly),
    /// create and run a container
    Run(Run),
    /// output the state of a container
    State(IdOnly),
    /// kill sends the specified signal (default: SIGTERM) to the container's init process
    Kill(Kill),
    /// delete any resources held by the container often used with detached container
    Delete(Delete),
    /// lists containers started by runc with the given root
    List(List),
    /// create a new specification file
    Spec(SpecCmd),
    /// show the enabled features
    Features,
    /// execute new process inside the container
    Exec(Exec),
    /// ps displays the processes running inside a container
    Ps(Ps),
    /// pause suspends all processes inside the container
    Pause(IdOnly),
    /// resumes all processes that have been previously paused
    Resume(IdOnly),
    /// update container resource constraints
    Update(Update),
    /// display container events such as OOM notifications, cpu, memory, and IO usage statistics
    Events(Events),
    /// checkpoint a running container (not supported)
    Checkpoint(Checkpoint),
    /// restore a container from a previous checkpoint (not supported)
    Restore(Restore),
}

impl Cli {
    /// Parses argv (including argv[0]) after rewriting Go-style `-root` into `--root`.
    pub fn parse_args<I>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = std::ffi::OsString>,
    {
        Cli::try_parse_from(normalize_single_dash(args))
    }

    /// The verb's container id, for verbs that take one.
    pub fn container_id(&self) -> Option<&str> {
        Some(match self.command.as_ref()? {
            Command::Create(c) => &c.opts.id,
            Command::Run(r) => &r.opts.id,
            Command::Start(c) | Command::State(c) | Command::Pause(c) | Command::Resume(c) => &c.id,
            Command::Kill(k) => &k.id,
            Command::Delete(d) => &d.id,
            Command::Exec(e) => &e.id,
            Command::Ps(p) => &p.id,
            Command::Update(u) => &u.id,
            Command::Events(e) => &e.id,
            Command::Checkpoint(c) => &c.id,
            Command::Restore(r) => &r.id,
            Command::List(_) | Command::Spec(_) | Command::Features => return None,
        })
    }
}

/// What `--version` prints (runc prints `runc version X`, `commit:`, `spec: X`, ...).
pub fn version_text() -> String {
    format!(
        "gantry-runtime version {}\nspec: {SPEC_VERSION}\n",
        env!("CARGO_PKG_VERSION")
    )
}
