//! `gantry rm [-f] NAME|ID...`: removes containers — runtime state and cgroup, rootfs (upper layer) and record —
//! and pods (each app's, then the pod's cgroup, state directory and logs).

use anyhow::Context;
use gantry_container::verbs::delete::delete;
use gantry_container::{Error, Status};
use gantry_image::Store;

use super::container::record::Records;
use super::container::{rootfs, runtime_root};
use super::pod::{
    self,
    record::{PodRecord, Pods},
};
use crate::Global;

/// Arguments of `gantry rm`.
#[derive(Debug, Clone, clap::Args)]
pub struct RmArgs {
    /// Kill running containers (SIGKILL) before removing them.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Containers, by name, ID or unique ID prefix.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Runs `gantry rm`: every container is tried; exit 1 if any failed.
pub fn run(g: &Global, a: &RmArgs) -> anyhow::Result<i32> {
    let store = Store::open(&g.root)
        .with_context(|| format!("opening the image store at {}", g.root.display()))?;
    let records = Records::open(&g.root)?;
    let mut failed = false;
    for key in &a.containers {
        match remove_one(g, &store, &records, key, a.force) {
            Ok(()) => println!("{key}"),
            Err(e) => {
                eprintln!("gantry: rm {key}: {e:#}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}

/// Removes a pod: refused while it runs, unless `force` (then its apps are killed first).
fn remove_pod(
    g: &Global,
    store: &Store,
    pods: &Pods,
    rec: PodRecord,
    force: bool,
) -> anyhow::Result<()> {
    let rec = if rec.supervisor_alive() {
        anyhow::ensure!(
            force,
            "pod {} is running; stop it first (gantry stop {}) or use gantry rm -f",
            rec.plan.name,
            rec.plan.name
        );
        match pod::ops::stop(pods, &rec, std::time::Duration::ZERO)? {
            Some(r) => r,
            None => return Ok(()), // a --rm pod removed itself
        }
    } else {
        rec
    };
    pod::ops::remove(g, store, pods, &rec)
}

fn remove_one(
    g: &Global,
    store: &Store,
    records: &Records,
    key: &str,
    force: bool,
) -> anyhow::Result<()> {
    let rec = match records.find(key) {
        Ok(r) => r,
        Err(e) => {
            let pods = Pods::open(&g.root)?;
            return match pods.find(key)? {
                Some(p) => remove_pod(g, store, &pods, p, force),
                None => Err(e.context("no container or pod has this name or ID")),
            };
        }
    };
    let rt = runtime_root(&g.state_root);
    match rt.open(&rec.id) {
        Ok(dir) => {
            let state = dir.read_state()?;
            let status = dir.status(state.as_ref());
            if status != Status::Stopped && !force {
                anyhow::bail!(
                    "container is {}; stop it first or use gantry rm -f",
                    status.as_str()
                );
            }
            drop(dir);
            delete(&rt, &rec.id, force).context("deleting the runtime state")?;
        }
        Err(Error::NotFound(_)) => {}
        Err(e) => return Err(e).context("reading the runtime state"),
    }
    match store.container_rootfs(&rec.id) {
        Ok(r) => rootfs::remove(store, &rec.id, &r.rootfs)?,
        Err(gantry_image::ImageError::RunConfig { .. }) => {} // no rootfs recorded
        Err(e) => return Err(e.into()),
    }
    // Under the records lock, so that a foreground `gantry run` recording its exit cannot bring it back.
    let _lock = records.lock()?;
    records.remove(&rec.id)
}
