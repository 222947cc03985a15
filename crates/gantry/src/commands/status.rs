//! `gantry status POD`: the pod's state and each app's (phase, PID, exit code, restarts); or a single
//! container's (a foreground `gantry run` of one image). Exit code 0 while it runs, 1 once it has exited.

use super::container::record::Records;
use super::pod::record::{Phase, Pods};
use crate::Global;

/// Arguments of `gantry status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Pod (or single container), by name, ID or unique ID prefix.
    pub pod: String,
}

/// Runs `gantry status`.
pub fn run(g: &Global, a: &StatusArgs) -> anyhow::Result<i32> {
    let Some(rec) = Pods::open(&g.root)?.find(&a.pod)? else {
        return container(g, &a.pod);
    };
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

/// `status` of a single container: `container=ID name=NAME`, `state=`, then `pid=` or `exit-code=`.
fn container(g: &Global, key: &str) -> anyhow::Result<i32> {
    let rec = Records::open(&g.root)?
        .find(key)
        .map_err(|e| e.context("no pod or container has this name or ID"))?;
    let row = super::ps::container_row(g, rec);
    println!("container={} name={}", row.id, row.name);
    println!("state={}", row.state);
    if let Some(pid) = row.pid {
        println!("pid={pid}");
    }
    if let Some(c) = row.exit_code {
        println!("exit-code={c}");
    }
    Ok(i32::from(row.state == "exited"))
}
