//! gantry: a daemonless container engine. Every command is an ordinary process (no daemon): it pulls and stores
//! images, and `gantry run` supervises one container in the foreground, passing its exit code and signals
//! through, so it runs well under systemd or any supervisor.
#![forbid(unsafe_code)]

mod commands;
mod lookup;
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
    /// Run a container from an image, in the foreground (or detached).
    Run(commands::run::RunArgs),
    /// List containers.
    Ps(commands::ps::PsArgs),
    /// Remove containers.
    Rm(commands::rm::RmArgs),
}

fn main() {
    let cli = Cli::parse();
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
        Command::Run(a) => commands::run::run(g, a),
        Command::Ps(a) => commands::ps::run(g, a),
        Command::Rm(a) => commands::rm::run(g, a),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("gantry: {e:#}");
            std::process::exit(125);
        }
    }
}
