//! `gantry exec [-i] [-t] POD [--app NAME] CMD...`: runs a command in a running app of a pod (or in a single
//! container). gantry first enters the pod's network, IPC and UTS namespaces (which its apps inherit from the
//! supervisor rather than list in their specs), then the runtime joins the app's own namespaces and cgroup and
//! confines the process like the app; with `-t` the runtime relays a pty to gantry's stdio. The command's exit
//! code is gantry's.

use anyhow::Context;
use gantry_container::namespaces::Kind;
use gantry_container::verbs::exec::{exec, ExecOptions, ProcessSource};
use gantry_container::verbs::exec_process::ProcessFlags;

use super::container::record::Records;
use super::container::runtime_root;
use super::container::stdio::exec_error;
use super::pod::record::{Phase, Pods};
use crate::Global;

/// Arguments of `gantry exec`.
#[derive(Debug, Clone, clap::Args)]
#[command(trailing_var_arg = true)]
pub struct ExecArgs {
    /// Keep stdin open.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a terminal (the runtime relays it to gantry's stdio; raw mode while stdin is a terminal).
    #[arg(short = 't', long)]
    pub tty: bool,
    /// The app to run in (default: the first).
    #[arg(long)]
    pub app: Option<String>,
    /// Set an environment variable.
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Pod (or single container), by name, ID or unique ID prefix.
    pub pod: String,
    /// Command and arguments.
    #[arg(required = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// The container to exec in and its init's PID: an app of a pod, or a single container.
fn target(g: &Global, a: &ExecArgs) -> anyhow::Result<(String, i32)> {
    let Some(rec) = Pods::open(&g.root)?.find(&a.pod)? else {
        anyhow::ensure!(a.app.is_none(), "--app: {} is not a pod", a.pod);
        let c = Records::open(&g.root)?
            .find(&a.pod)
            .map_err(|e| e.context("no pod or container has this name or ID"))?;
        let dir = runtime_root(&g.state_root).open(&c.id)?;
        let state = dir.read_state()?;
        let pid = state
            .as_ref()
            .filter(|s| dir.status(Some(s)) == gantry_container::Status::Running)
            .map(|s| s.pid)
            .ok_or_else(|| anyhow::anyhow!("container {} is not running", a.pod))?;
        return Ok((c.id, pid));
    };
    anyhow::ensure!(
        rec.live_phase() != Phase::Exited,
        "pod {} is not running (gantry status {})",
        rec.plan.name,
        rec.plan.name
    );
    let i = match &a.app {
        Some(n) => rec
            .plan
            .apps
            .iter()
            .position(|x| &x.name == n)
            .ok_or_else(|| anyhow::anyhow!("--app {n:?}: pod {} has no such app", rec.plan.name))?,
        None => 0,
    };
    let app = &rec.plan.apps[i];
    let pid = rec.apps[i]
        .pid
        .filter(|_| rec.apps[i].phase == Phase::Running)
        .ok_or_else(|| {
            anyhow::anyhow!("app {} of pod {} is not running", app.name, rec.plan.name)
        })?;
    Ok((app.id.clone(), pid))
}

/// Runs `gantry exec`.
pub fn run(g: &Global, a: &ExecArgs) -> anyhow::Result<i32> {
    let (id, pid) = target(g, a)?;
    for kind in [Kind::Network, Kind::Ipc, Kind::Uts] {
        let (ns, ty) = (kind.proc_name(), kind.link_type());
        let p = format!("/proc/{pid}/ns/{ns}");
        let f = std::fs::File::open(&p).with_context(|| format!("opening {p}"))?;
        rustix::thread::move_into_link_name_space(std::os::fd::AsFd::as_fd(&f), Some(ty))
            .with_context(|| format!("entering the {ns} namespace of {} ({p})", a.pod))?;
    }
    if !a.interactive && !a.tty {
        let null = std::fs::File::open("/dev/null").context("opening /dev/null")?;
        rustix::stdio::dup2_stdin(&null).context("redirecting stdin")?;
    }
    let opts = ExecOptions {
        id,
        process: ProcessSource::Flags(ProcessFlags {
            args: a.command.clone(),
            env: a.env.clone(),
            tty: a.tty,
            ..Default::default()
        }),
        caps: Vec::new(),
        apparmor: None,
        process_label: None,
        console_socket: None,
        detach: false,
        pid_file: None,
        preserve_fds: 0,
        cgroups: Vec::new(),
        ignore_paused: false,
    };
    match exec(&runtime_root(&g.state_root), &opts) {
        Ok(code) => Ok(code),
        Err(e) => {
            let e = exec_error(e);
            if let Some(x) = e.downcast_ref::<super::container::stdio::ExecFailed>() {
                eprintln!("gantry: {x}");
                return Ok(x.code);
            }
            Err(e)
        }
    }
}
