//! `gantry status POD`: the pod's state and each app's (phase, PID, exit code, restarts). Exit code 0 while the
//! pod runs, 1 once it has exited.

use super::pod::record::{Phase, Pods};
use crate::Global;

/// Arguments of `gantry status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Pod, by name, ID or unique ID prefix.
    pub pod: String,
}

/// Runs `gantry status`.
pub fn run(g: &Global, a: &StatusArgs) -> anyhow::Result<i32> {
    let rec = Pods::open(&g.root)?.get(&a.pod)?;
    let phase = rec.live_phase();
    println!("pod={} name={}", rec.plan.id, rec.plan.name);
    println!("state={}", phase.as_str());
    if let Some(pid) = rec.supervisor_pid.filter(|_| phase != Phase::Exited) {
        println!("supervisor-pid={pid}");
    }
    if let Some(c) = rec.exit_code {
        println!("exit-code={c}");
    }
    for app in &rec.apps {
        let app_phase = if phase == Phase::Exited {
            Phase::Exited
        } else {
            app.phase
        };
        let mut line = format!(
            "app={} state={} restarts={}",
            app.name,
            app_phase.as_str(),
            app.restarts
        );
        if let (Some(pid), false) = (app.pid, app_phase == Phase::Exited) {
            line.push_str(&format!(" pid={pid}"));
        }
        if let Some(c) = app.exit_code.filter(|_| app_phase != Phase::Running) {
            line.push_str(&format!(" exit-code={c}"));
        }
        println!("{line}");
    }
    Ok(i32::from(phase == Phase::Exited))
}
