//! `events`: the container's resource usage (`--stats`: once) or a stream of usage every interval plus OOM
//! notifications, until the container stops. Each event is one JSON object in runc's shape:
//! `{"type":"stats"|"oom","id":ID,"data":{...}}`.

use std::time::{Duration, Instant};

use gantry_cgroups::{Cgroup, Stats};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::state::{State, StateRoot};

/// Opens the container and returns its state (it must have a cgroup).
fn load(root: &StateRoot, id: &str) -> Result<State> {
    let dir = root.open(id)?;
    let state = dir.read_state()?.ok_or_else(|| Error::WrongState {
        id: id.into(),
        status: "creating",
        op: "events",
    })?;
    if !state.init_alive() {
        return Err(Error::WrongState {
            id: id.into(),
            status: "stopped",
            op: "events",
        });
    }
    if state.cgroup.is_none() {
        return Err(Error::Unsupported {
            field: "linux.cgroupsPath".into(),
            reason: format!("container {id} has no cgroup recorded"),
        });
    }
    Ok(state)
}

/// One stats event for container `id`.
pub fn stats_event(root: &StateRoot, id: &str) -> Result<Value> {
    let state = load(root, id)?;
    let cg = state.cgroup.as_ref().expect("checked");
    Ok(event("stats", id, Some(stats_json(&cg.stats()?))))
}

/// Streams events to `emit` until the container stops: stats every `interval`, OOM events as they happen.
pub fn watch(
    root: &StateRoot,
    id: &str,
    interval: Duration,
    emit: &mut dyn FnMut(&Value) -> std::io::Result<()>,
) -> Result<()> {
    let state = load(root, id)?;
    let cg: &Cgroup = state.cgroup.as_ref().expect("checked");
    let mut oom = cg.oom_notifier().ok();
    let out = |e: std::io::Error| Error::sys("write events", e);
    let mut next = Instant::now();
    loop {
        if !state.init_alive() {
            return Ok(());
        }
        let now = Instant::now();
        if now >= next {
            if let Ok(s) = cg.stats() {
                emit(&event("stats", id, Some(stats_json(&s)))).map_err(out)?;
            }
            next = now + interval;
        }
        let wait = next
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(500));
        let ts = rustix::event::Timespec {
            tv_sec: wait.as_secs() as i64,
            tv_nsec: i64::from(wait.subsec_nanos()),
        };
        match oom.as_mut() {
            Some(n) => {
                let (fd, flags) = n.poll_fd();
                let mut fds = [rustix::event::PollFd::new(&fd, flags)];
                let _ = rustix::event::poll(&mut fds, Some(&ts));
                if let Ok(Some(gantry_cgroups::OomEvent::Oom { .. })) = n.check() {
                    emit(&event("oom", id, None)).map_err(out)?;
                }
            }
            None => std::thread::sleep(wait),
        }
    }
}

fn event(kind: &str, id: &str, data: Option<Value>) -> Value {
    let mut v = json!({"type": kind, "id": id});
    if let Some(d) = data {
        v["data"] = d;
    }
    v
}

/// Usage in the field names runc's `events` uses.
pub fn stats_json(s: &Stats) -> Value {
    let mut data = json!({});
    if let Some(c) = &s.cpu {
        data["cpu"] = json!({
            "usage": {"total": c.usage_ns, "user": c.user_ns.unwrap_or(0), "kernel": c.system_ns.unwrap_or(0)},
            "throttling": {"throttledPeriods": c.throttled_periods.unwrap_or(0)},
        });
    }
    if let Some(m) = &s.memory {
        let mut mem = json!({
            "usage": {"usage": m.usage, "max": m.max_usage.unwrap_or(0), "failcnt": m.failcnt,
                      "limit": m.limit.unwrap_or(u64::MAX)},
        });
        if let Some(sw) = m.swap_usage {
            mem["swap"] = json!({"usage": sw});
        }
        data["memory"] = mem;
    }
    if let Some(p) = &s.pids {
        data["pids"] = json!({"current": p.current, "limit": p.limit.unwrap_or(0)});
    }
    if let Some(k) = s.oom_kills {
        data["memory"]["oomKills"] = json!(k);
    }
    data
}
