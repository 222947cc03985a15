//! Each pod's directory `<root>/pods/<id>/`: `pod.json` (the plan and the live status, replaced atomically by
//! rename under an exclusive `flock` of `lock`), one log file per app (`<app>.log`, rotated to `<app>.log.1`),
//! and the supervisor's own `supervisor.log`. The directory outlives the supervisor, so `ps`, `logs`,
//! `status` and `gc` work without it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::plan::PodPlan;

/// A pod's or an app's lifecycle state (see docs/architecture.md for the state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Being prepared (rootfs, namespaces); nothing runs yet.
    Created,
    /// Apps are running.
    Running,
    /// Waiting before an app is started again (restart policy).
    Restarting,
    /// Asked to stop: apps got SIGTERM (SIGKILL after the timeout).
    Stopping,
    /// Ended; the exit code is recorded.
    Exited,
}

impl Phase {
    /// Lower-case name, as shown by `ps` and `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Created => "created",
            Phase::Running => "running",
            Phase::Restarting => "restarting",
            Phase::Stopping => "stopping",
            Phase::Exited => "exited",
        }
    }
}

/// What the supervisor last recorded about one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStatus {
    /// App name.
    pub name: String,
    /// Its phase.
    pub phase: Phase,
    /// Host PID of its init while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Exit code of its last run (128+N when killed by signal N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// How often the restart policy started it again.
    pub restarts: u32,
    /// The process arguments.
    #[serde(default)]
    pub command: Vec<String>,
    /// RFC 3339 time of its last start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// RFC 3339 time of its last exit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
}

/// `pod.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodRecord {
    /// What to run.
    pub plan: PodPlan,
    /// RFC 3339 creation time.
    pub created: String,
    /// The pod's phase.
    pub phase: Phase,
    /// PID of the supervising `gantry` process while it lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor_pid: Option<i32>,
    /// That process's start time (field 22 of /proc/PID/stat), so a reused PID is not mistaken for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor_start: Option<u64>,
    /// The pod's exit code: the first failing app's, else 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// RFC 3339 time it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// One entry per app, in plan order.
    pub apps: Vec<AppStatus>,
}

impl PodRecord {
    /// Whether the supervisor recorded here is still alive (same PID and start time).
    pub fn supervisor_alive(&self) -> bool {
        match (self.supervisor_pid, self.supervisor_start) {
            (Some(pid), Some(start)) => process_start_time(pid) == Some(start),
            _ => false,
        }
    }

    /// The phase as others should see it: a pod whose supervisor died without recording the end is `exited`.
    pub fn live_phase(&self) -> Phase {
        if self.phase != Phase::Exited && !self.supervisor_alive() {
            Phase::Exited
        } else {
            self.phase
        }
    }
}

/// Start time of live process `pid` in clock ticks since boot (field 22 of `/proc/PID/stat`); `None` when it
/// does not exist or is a zombie (dead, waiting for its parent to reap it).
pub fn process_start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may contain spaces and parentheses: fields restart after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split(' ');
    if matches!(f.next(), Some("Z" | "X")) {
        return None;
    }
    f.nth(18)?.parse().ok()
}

/// The pods directory under a store root.
#[derive(Debug, Clone)]
pub struct Pods {
    dir: PathBuf,
}

/// An exclusive `flock`, released on drop.
pub struct Lock {
    _file: File,
}

fn lock_file(p: &Path) -> anyhow::Result<Lock> {
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(p)
        .with_context(|| format!("opening {}", p.display()))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
        .with_context(|| format!("locking {}", p.display()))?;
    Ok(Lock { _file: f })
}

impl Pods {
    /// Pods under `<root>/pods` (the directory is made by the first pod: commands that only read leave the
    /// store untouched).
    pub fn open(root: &Path) -> anyhow::Result<Pods> {
        Ok(Pods {
            dir: root.join("pods"),
        })
    }

    /// Serialises name claims (shared with nothing else: container names are checked separately).
    pub fn names_lock(&self) -> anyhow::Result<Lock> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        lock_file(&self.dir.join(".lock"))
    }

    /// Pod `id`'s directory.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Locks pod `id`'s record for a read-modify-write.
    pub fn lock(&self, id: &str) -> anyhow::Result<Lock> {
        lock_file(&self.dir(id).join("lock"))
    }

    /// Creates the pod's directory and writes its first record.
    pub fn create(&self, rec: &PodRecord) -> anyhow::Result<()> {
        let d = self.dir(&rec.plan.id);
        std::fs::create_dir(&d).with_context(|| format!("creating {}", d.display()))?;
        self.write(rec)
    }

    /// Replaces `pod.json` atomically (temp file, rename): a reader sees the old or the new record. No fsync:
    /// this is run-time state on the pod's hot path (after a power loss no pod runs anyway, and `gc` cleans up).
    pub fn write(&self, rec: &PodRecord) -> anyhow::Result<()> {
        let d = self.dir(&rec.plan.id);
        let tmp = d.join(".pod.json.tmp");
        let mut f = File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(&serde_json::to_vec_pretty(rec)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, d.join("pod.json"))
            .with_context(|| format!("renaming {} into place", tmp.display()))
    }

    /// Reads pod `id`'s record.
    pub fn read(&self, id: &str) -> anyhow::Result<PodRecord> {
        let p = self.dir(id).join("pod.json");
        let b = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_slice(&b).with_context(|| format!("parsing {}", p.display()))
    }

    /// Applies `f` to pod `id`'s record under its lock and writes it back; returns the new record.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut PodRecord)) -> anyhow::Result<PodRecord> {
        let _l = self.lock(id)?;
        let mut r = self.read(id)?;
        f(&mut r);
        self.write(&r)?;
        Ok(r)
    }

    /// Every pod, oldest first (unreadable ones skipped: a pod being created has no record yet).
    pub fn list(&self) -> anyhow::Result<Vec<PodRecord>> {
        let mut out = Vec::new();
        if !self.dir.exists() {
            return Ok(out);
        }
        for e in std::fs::read_dir(&self.dir)
            .with_context(|| format!("listing {}", self.dir.display()))?
        {
            let e = e?;
            let n = e.file_name();
            let Some(n) = n.to_str() else { continue };
            if n.starts_with('.') {
                continue;
            }
            if let Ok(r) = self.read(n) {
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.plan.id.cmp(&b.plan.id)));
        Ok(out)
    }

    /// Finds a pod by name, full ID or unique ID prefix (3+ characters); `Ok(None)` when nothing matches.
    pub fn find(&self, key: &str) -> anyhow::Result<Option<PodRecord>> {
        let all = self.list()?;
        if let Some(r) = all.iter().find(|r| r.plan.name == key || r.plan.id == key) {
            return Ok(Some(r.clone()));
        }
        if key.len() < 3 {
            return Ok(None);
        }
        let hits: Vec<&PodRecord> = all.iter().filter(|r| r.plan.id.starts_with(key)).collect();
        match hits.as_slice() {
            [one] => Ok(Some((*one).clone())),
            [] => Ok(None),
            _ => anyhow::bail!("{key:?} matches several pod IDs; give more of the ID"),
        }
    }

    /// Like [`Pods::find`], but a missing pod is an error naming `key`.
    pub fn get(&self, key: &str) -> anyhow::Result<PodRecord> {
        self.find(key)?
            .ok_or_else(|| anyhow::anyhow!("no such pod: {key} (see gantry ps -a)"))
    }

    /// Removes pod `id`'s directory (logs included).
    pub fn remove(&self, id: &str) -> anyhow::Result<()> {
        match std::fs::remove_dir_all(self.dir(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", self.dir(id).display()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_readable() {
        let me = std::process::id() as i32;
        assert!(process_start_time(me).is_some());
        assert!(process_start_time(i32::MAX).is_none());
    }
}
