//! What `stop`, `rm` and `gc` do to a pod from outside its supervisor: ask it to stop, wait for it, and remove
//! what a dead supervisor left (runtime state, cgroups, rootfs upper layers, the pod's directory).

use std::time::{Duration, Instant};

use anyhow::Context;
use gantry_image::Store;

use super::super::container::runtime_root;
use super::cgroup;
use super::record::{Phase, PodRecord, Pods};
use super::supervisor::STOP_REQUEST;
use crate::Global;

/// Asks the pod's supervisor to stop it (SIGTERM to every app, SIGKILL after `timeout`) and waits until the
/// supervisor has recorded the end. A supervisor that does not end within `timeout` + 10 s is killed (its apps
/// die with it). Returns the record after the end (`None` for a `--rm` pod, which removed itself).
pub fn stop(pods: &Pods, rec: &PodRecord, timeout: Duration) -> anyhow::Result<Option<PodRecord>> {
    let id = &rec.plan.id;
    if !rec.supervisor_alive() {
        return Ok(Some(rec.clone()));
    }
    let req = pods.dir(id).join(STOP_REQUEST);
    std::fs::write(&req, timeout.as_secs().to_string())
        .with_context(|| format!("writing {}", req.display()))?;
    let pid = rec.supervisor_pid.and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + timeout + Duration::from_secs(10);
    while pods.read(id).is_ok_and(|r| r.supervisor_alive()) {
        if Instant::now() > deadline {
            if let Some(pid) = pid {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    pods.find(id)
}

/// Removes everything of a pod whose supervisor is gone but its apps' runtime state, cgroups and (with
/// `remove_rootfs`) rootfs upper layers; marks it exited. Returns what it removed, for `gc`'s report.
pub fn clean_dead(
    g: &Global,
    store: &Store,
    pods: &Pods,
    rec: &PodRecord,
    remove_rootfs: bool,
) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(
        !rec.supervisor_alive(),
        "pod {} is still supervised (pid {:?})",
        rec.plan.name,
        rec.supervisor_pid
    );
    let mut removed = Vec::new();
    let rt = runtime_root(&g.state_root);
    for a in &rec.plan.apps {
        if rt.open(&a.id).is_ok() {
            gantry_container::verbs::delete::delete(&rt, &a.id, true)
                .with_context(|| format!("deleting the runtime state of app {}", a.name))?;
            removed.push(format!("runtime state of {}/{}", rec.plan.name, a.name));
        }
        if remove_rootfs && store.container_rootfs(&a.id).is_ok() {
            store
                .remove_container(&a.id)
                .with_context(|| format!("removing the rootfs of app {}", a.name))?;
            removed.push(format!("rootfs of {}/{}", rec.plan.name, a.name));
        }
    }
    if matches!(rec.plan.net, super::plan::PodNet::Cni(_)) {
        let dir = pods.dir(&rec.plan.id);
        let had = dir.join("network.json").exists()
            || super::net::netns_path(&g.root, &rec.plan.id).exists();
        super::net::release(&g.root, &rec.plan.id, &dir)
            .context("removing the pod's networks (CNI DEL)")?;
        if had {
            removed.push(format!("networks of {}", rec.plan.name));
        }
    }
    if cgroup::pod_cgroup_exists(&rec.plan.id) {
        let left = cgroup::remove_pod_cgroups(&rec.plan.id);
        anyhow::ensure!(left.is_empty(), "cgroups left: {}", left.join(", "));
        removed.push(format!("cgroup /gantry/{}", rec.plan.id));
    }
    if rec.phase != Phase::Exited {
        pods.update(&rec.plan.id, |r| {
            r.phase = Phase::Exited;
            r.finished = Some(gantry_container::time::rfc3339(std::time::SystemTime::now()));
            for a in &mut r.apps {
                if a.phase != Phase::Exited {
                    a.phase = Phase::Exited;
                    a.pid = None;
                }
            }
        })?;
    }
    Ok(removed)
}

/// Removes a pod that has ended: leftovers, rootfs upper layers, and its directory (logs included).
pub fn remove(g: &Global, store: &Store, pods: &Pods, rec: &PodRecord) -> anyhow::Result<()> {
    clean_dead(g, store, pods, rec, true)?;
    pods.remove(&rec.plan.id)
}
