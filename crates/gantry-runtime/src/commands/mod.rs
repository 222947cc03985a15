//! One file per verb; each parses nothing itself (the CLI crate did) and calls one library function.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;

use anyhow::bail;
use gantry_container::StateRoot;
use gantry_oci_cli::{Cli, Command};

/// Flags gantry-runtime parses but refuses, with the reason.
const REFUSED: &[(&str, &str)] = &[
    ("--criu", "checkpoint/restore is not supported"),
    (
        "--kernel-memory",
        "kernel memory limits are not supported (deprecated in the kernel)",
    ),
    (
        "--kernel-memory-tcp",
        "kernel memory limits are not supported (deprecated in the kernel)",
    ),
    (
        "--l3-cache-schema",
        "Intel RDT is not supported yet (issue #3)",
    ),
    (
        "--mem-bw-schema",
        "Intel RDT is not supported yet (issue #3)",
    ),
];

/// Runs the verb; returns the process exit status.
pub fn dispatch(cli: &Cli) -> anyhow::Result<i32> {
    let names: Vec<&str> = REFUSED.iter().map(|(n, _)| *n).collect();
    if let Some(flag) = cli.unsupported_flags(&names).first() {
        let why = REFUSED
            .iter()
            .find(|(n, _)| n == flag)
            .map_or("", |(_, w)| *w);
        bail!("{flag}: {why}");
    }
    if cli.global.rootless == gantry_oci_cli::Rootless::True {
        bail!(
            "--rootless true: rootless mode (ignoring cgroup permission errors) is not supported yet; run as root, \
             or omit the flag"
        );
    }
    let root = StateRoot::new(&cli.global.root);
    let Some(cmd) = &cli.command else {
        bail!("no command given (see --help)");
    };
    match cmd {
        Command::Create(c) => create::run(&root, &c.opts, cli.global.systemd_cgroup).map(|()| 0),
        Command::Start(c) => start::run(&root, &c.id).map(|()| 0),
        Command::Run(r) => run::run(&root, r, cli.global.systemd_cgroup),
        Command::State(c) => state::run(&root, &c.id).map(|()| 0),
        Command::Kill(k) => kill::run(&root, k).map(|()| 0),
        Command::Delete(d) => delete::run(&root, d).map(|()| 0),
        Command::List(l) => list::run(&root, l).map(|()| 0),
        Command::Spec(s) => spec::run(s).map(|()| 0),
        Command::Features => features::run().map(|()| 0),
        Command::Exec(e) => exec::run(&root, e),
        Command::Ps(p) => ps::run(&root, p).map(|()| 0),
        Command::Pause(c) => pause::pause(&root, &c.id).map(|()| 0),
        Command::Resume(c) => pause::resume(&root, &c.id).map(|()| 0),
        Command::Update(u) => update::run(&root, u).map(|()| 0),
        Command::Events(e) => events::run(&root, e).map(|()| 0),
        Command::Checkpoint(_) | Command::Restore(_) => {
            bail!("checkpoint/restore is not supported")
        }
    }
}

/// The library's create options from the CLI's.
fn create_options(
    o: &gantry_oci_cli::CreateOpts,
    systemd_cgroup: bool,
) -> gantry_container::verbs::create::CreateOptions {
    gantry_container::verbs::create::CreateOptions {
        id: o.id.clone(),
        bundle: o.bundle.clone(),
        console_socket: o.console_socket.clone(),
        pid_file: o.pid_file.clone(),
        no_pivot: o.no_pivot,
        preserve_fds: o.preserve_fds,
        no_new_keyring: o.no_new_keyring,
        // runc semantics: a container outlives the runtime process that created it.
        kill_with_parent: false,
        systemd_cgroup,
    }
}
