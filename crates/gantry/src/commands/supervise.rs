//! `gantry supervise POD` (hidden): the detached supervisor `gantry run -d` starts. It leaves the CLI's session,
//! runs the pod (see `pod::supervisor`), and reports `ok` or the error on its stdout, which the CLI reads.

use super::pod::record::Pods;
use super::pod::supervisor;
use crate::Global;

/// Arguments of `gantry supervise`.
#[derive(Debug, Clone, clap::Args)]
pub struct SuperviseArgs {
    /// Pod ID.
    pub pod: String,
}

/// Runs the detached supervisor; its exit code is the pod's.
pub fn run(g: &Global, a: &SuperviseArgs) -> anyhow::Result<i32> {
    // A new session: the CLI's terminal and process group signals no longer reach us.
    let _ = rustix::process::setsid();
    // Keep no directory of the caller's busy (it might be a mount someone wants to unmount).
    let _ = std::env::set_current_dir("/");
    let pods = Pods::open(&g.root)?;
    // Socket activation: `gantry run -d` received LISTEN_FDS descriptors (3...) and we inherited them; they are
    // ours now, so the first app gets them as the foreground supervisor's would (create checks LISTEN_PID).
    let listen_fds = pods.read(&a.pod).map_or(0, |r| r.plan.listen_fds);
    if listen_fds > 0 {
        std::env::set_var("LISTEN_FDS", listen_fds.to_string());
        std::env::set_var("LISTEN_PID", std::process::id().to_string());
    }
    // Our stdout is the CLI's pipe; the supervisor swaps /dev/null in once the apps run, so an error is still
    // written to the CLI.
    let ready = rustix::io::fcntl_dupfd_cloexec(rustix::stdio::stdout(), 3)?;
    match supervisor::supervise(g, &pods, &a.pod, Some(ready)) {
        Ok(code) => Ok(code),
        Err(e) => {
            println!("{e:#}");
            let _ = pods.remove(&a.pod);
            if let Some(x) = e.downcast_ref::<super::container::stdio::ExecFailed>() {
                return Ok(x.code);
            }
            Ok(125)
        }
    }
}
