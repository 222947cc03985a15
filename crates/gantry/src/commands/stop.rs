//! `gantry stop [-t SECS] POD...`: SIGTERM to every app of the pod, SIGKILL after the timeout; the supervisor
//! records each app's exit code (143 after SIGTERM, 137 after SIGKILL) and the pod's.

use std::time::Duration;

use super::pod::record::Pods;
use crate::Global;

/// Arguments of `gantry stop`.
#[derive(Debug, Clone, clap::Args)]
pub struct StopArgs {
    /// Seconds to wait after SIGTERM before SIGKILL.
    #[arg(short = 't', long = "time", default_value_t = 10)]
    pub time: u64,
    /// Pods, by name, ID or unique ID prefix.
    #[arg(required = true)]
    pub pods: Vec<String>,
}

/// Runs `gantry stop`: every pod is tried; exit 1 if any failed.
pub fn run(g: &Global, a: &StopArgs) -> anyhow::Result<i32> {
    let pods = Pods::open(&g.root)?;
    let mut failed = false;
    for key in &a.pods {
        let r = pods
            .get(key)
            .and_then(|rec| super::pod::ops::stop(&pods, &rec, Duration::from_secs(a.time)));
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
