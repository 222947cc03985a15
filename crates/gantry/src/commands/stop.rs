//! `gantry stop [-t SECS] POD...`: SIGTERM to every app of the pod, SIGKILL after the timeout; the supervisor
//! records each app's exit code (143 after SIGTERM, 137 after SIGKILL) and the pod's. A single container (not a
//! pod) gets the same signals from here, through the runtime.

use std::time::Duration;

use gantry_container::Status;

use super::container::record::Records;
use super::container::runtime_root;
use super::pod::plan::DEFAULT_STOP_TIMEOUT;
use super::pod::record::Pods;
use crate::Global;

/// Arguments of `gantry stop`.
#[derive(Debug, Clone, clap::Args)]
pub struct StopArgs {
    /// Seconds to wait after SIGTERM before SIGKILL (default: the pod's `--stop-timeout`, 10 for a container).
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    /// Pods, by name, ID or unique ID prefix.
    #[arg(required = true)]
    pub pods: Vec<String>,
}

/// Runs `gantry stop`: every pod is tried; exit 1 if any failed.
pub fn run(g: &Global, a: &StopArgs) -> anyhow::Result<i32> {
    let pods = Pods::open(&g.root)?;
    let mut failed = false;
    for key in &a.pods {
        let secs = |default: u64| Duration::from_secs(a.time.unwrap_or(default));
        let r = match pods.find(key) {
            Ok(Some(rec)) => {
                super::pod::ops::stop(&pods, &rec, secs(rec.plan.stop_timeout)).map(|_| ())
            }
            Ok(None) => stop_container(g, key, secs(DEFAULT_STOP_TIMEOUT)),
            Err(e) => Err(e),
        };
        match r {
            Ok(_) => println!("{key}"),
            Err(e) => {
                eprintln!("gantry: stop {key}: {e:#}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}

/// SIGTERM to a single container's init, SIGKILL after `timeout`; its `gantry run` records the exit.
fn stop_container(g: &Global, key: &str, timeout: Duration) -> anyhow::Result<()> {
    let rec = Records::open(&g.root)?
        .find(key)
        .map_err(|e| e.context("no pod or container has this name or ID"))?;
    let rt = runtime_root(&g.state_root);
    let stopped = || {
        rt.open(&rec.id).map_or(true, |d| {
            d.read_state()
                .map_or(true, |s| d.status(s.as_ref()) == Status::Stopped)
        })
    };
    if stopped() {
        return Ok(());
    }
    gantry_container::verbs::kill::kill(&rt, &rec.id, libc::SIGTERM, false)?;
    let deadline = std::time::Instant::now() + timeout;
    while !stopped() {
        if std::time::Instant::now() >= deadline {
            let _ = gantry_container::verbs::kill::kill(&rt, &rec.id, libc::SIGKILL, true);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
