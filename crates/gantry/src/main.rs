//! gantry: a daemonless container engine. Every command is an ordinary process (no daemon): it pulls and stores
//! images, and `gantry run` supervises one container in the foreground, passing its exit code and signals
//! through, so it runs well under systemd or any supervisor.
#![forbid(unsafe_code)]

mod commands;
mod lookup;
mod signature_check;
mod store_sink;
mod table;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Flags that apply to every command.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Image store and engine metadata.
    #[arg(long, global = true, default_value = "/var/lib/gantry")]
    pub root: PathBuf,
    /// Runtime state of running containers (tmpfs).
    #[arg(long, global = true, default_value = "/run/gantry/engine")]
    pub state_root: PathBuf,
    /// Less output (no progress bars).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Signature policy file (containers-policy.json format). Default: /etc/gantry/policy.json, else
    /// /etc/containers/policy.json, else refuse remote images until a scope is trusted (`gantry trust`).
    /// `$GANTRY_POLICY` sets it too.
    #[arg(long, global = true)]
    pub policy: Option<PathBuf>,
}

/// `gantry [FLAGS] COMMAND`.
#[derive(Debug, Parser)]
#[command(name = "gantry", version, about = "A daemonless container engine")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pull an image from a registry.
    Pull(commands::pull::PullArgs),
    /// List images.
    Images(commands::images::ImagesArgs),
    /// Show an image's manifest and configuration.
    Inspect(commands::inspect::InspectArgs),
    /// Remove images.
    Rmi(commands::rmi::RmiArgs),
    /// Give an image another name.
    Tag(commands::tag::TagArgs),
    /// Load images from an OCI archive or a `docker save` tarball.
    Load(commands::load::LoadArgs),
    /// Save images to an OCI archive.
    Save(commands::save::SaveArgs),
    /// Import an OCI image layout directory.
    Import(commands::import::ImportArgs),
    /// Push an image to a registry.
    Push(commands::push::PushArgs),
    /// Remove unreferenced blobs, snapshots and dead containers.
    Gc(commands::gc::GcArgs),
    /// Verify the image store (blob hashes, snapshots, records); --repair removes damage.
    Fsck(commands::fsck::FsckArgs),
    /// Run a container, or a pod of apps separated by `---`, in the foreground (or detached).
    Run(Box<commands::run::RunArgs>),
    /// List containers and pods' apps.
    Ps(commands::ps::PsArgs),
    /// Remove containers and pods.
    Rm(commands::rm::RmArgs),
    /// Stop pods (SIGTERM, then SIGKILL after a timeout).
    Stop(commands::stop::StopArgs),
    /// Show a pod's state and its apps'.
    Status(commands::status::StatusArgs),
    /// Print the output of a detached pod's apps.
    Logs(commands::logs::LogsArgs),
    /// Run a command in a running app of a pod.
    Exec(commands::exec::ExecArgs),
    /// Generate files for other tools (a systemd unit for a pod).
    Generate(commands::generate::GenerateArgs),
    /// Supervise a detached pod (started by `gantry run -d`).
    #[command(hide = true)]
    Supervise(commands::supervise::SuperviseArgs),
    /// Manage the image signature policy and signing keys.
    #[command(subcommand)]
    Trust(commands::trust::TrustCommand),
}

fn main() {
    // rkt's `---` separates a pod's apps: cut there before clap sees the arguments.
    let (args, extra_apps) = commands::pod::argv::split(std::env::args().collect());
    let mut cli = Cli::parse_from(args);
    if cli.global.policy.is_none() {
        cli.global.policy = std::env::var_os("GANTRY_POLICY").map(PathBuf::from);
    }
    // Commands that start processes in containers protect the binary first (CVE-2019-5736): a container must
    // not reach a writable gantry through /proc/PID/exe. In place where the kernel allows it, else by a re-exec.
    if matches!(
        cli.command,
        Command::Run(_) | Command::Exec(_) | Command::Supervise(_)
    ) {
        if let Err(e) = gantry_sys::exe::seal() {
            eprintln!("gantry: {e}");
            std::process::exit(125);
        }
    }
    let g = &cli.global;
    let result = match &cli.command {
        Command::Pull(a) => commands::pull::run(g, a),
        Command::Images(a) => commands::images::run(g, a),
        Command::Inspect(a) => commands::inspect::run(g, a),
        Command::Rmi(a) => commands::rmi::run(g, a),
        Command::Tag(a) => commands::tag::run(g, a),
        Command::Load(a) => commands::load::run(g, a),
        Command::Save(a) => commands::save::run(g, a),
        Command::Import(a) => commands::import::run(g, a),
        Command::Push(a) => commands::push::run(g, a),
        Command::Gc(a) => commands::gc::run(g, a),
        Command::Fsck(a) => commands::fsck::run(g, a),
        Command::Run(a) => commands::run::run(g, a, &extra_apps),
        Command::Ps(a) => commands::ps::run(g, a),
        Command::Rm(a) => commands::rm::run(g, a),
        Command::Trust(a) => commands::trust::run(g, a),
        Command::Stop(a) => commands::stop::run(g, a),
        Command::Status(a) => commands::status::run(g, a),
        Command::Logs(a) => commands::logs::run(g, a),
        Command::Exec(a) => commands::exec::run(g, a),
        Command::Generate(a) => commands::generate::run(g, a),
        Command::Supervise(a) => commands::supervise::run(g, a),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("gantry: {e:#}");
            std::process::exit(125);
        }
    }
}
