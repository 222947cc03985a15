//! Resource usage for `events --stats`: memory, pids, cpu and OOM kills, from v1 or v2 files.

use crate::cgroup::{Cgroup, Version};
use crate::error::CgroupError;
use crate::fsutil::{self, keyed_value, parse_limit};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

/// What v1 reports as "no limit" for memory (PAGE_COUNTER_MAX pages of 4 KiB).
const V1_UNLIMITED: u64 = 9_223_372_036_854_771_712;

/// A snapshot of the cgroup's usage. A section is `None` when its controller is not available.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Memory usage and limit.
    pub memory: Option<MemoryStats>,
    /// Process count and limit.
    pub pids: Option<PidsStats>,
    /// CPU time consumed.
    pub cpu: Option<CpuStats>,
    /// How many processes the OOM killer has killed in the cgroup (v1 `oom_kill`, v2 `memory.events`).
    pub oom_kills: Option<u64>,
}

/// Memory figures in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStats {
    /// Current usage.
    pub usage: u64,
    /// Peak usage, when the kernel records it.
    pub max_usage: Option<u64>,
    /// The limit; `None` when unlimited.
    pub limit: Option<u64>,
    /// How often the limit was hit (v1 `memory.failcnt`, v2 `max` events).
    pub failcnt: u64,
    /// Swap in use, when swap accounting is available.
    pub swap_usage: Option<u64>,
}

/// Process counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsStats {
    /// Processes and threads now in the cgroup.
    pub current: u64,
    /// The limit; `None` when unlimited.
    pub limit: Option<u64>,
}

/// CPU time in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuStats {
    /// Total CPU time.
    pub usage_ns: u64,
    /// Time in user mode, when reported.
    pub user_ns: Option<u64>,
    /// Time in kernel mode, when reported.
    pub system_ns: Option<u64>,
    /// Periods in which the CFS quota throttled the cgroup.
    pub throttled_periods: Option<u64>,
    /// Total time throttled.
    pub throttled_ns: Option<u64>,
}

/// Reads a file that may be missing (controller absent): `Ok(None)` then.
fn optional(dir: &Path, file: &str) -> Result<Option<String>, CgroupError> {
    let path = dir.join(file);
    match fsutil::read(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CgroupError::io("read", path, e)),
    }
}

fn number(dir: &Path, file: &str) -> Result<Option<u64>, CgroupError> {
    Ok(optional(dir, file)?.and_then(|t| t.trim().parse().ok()))
}

fn limit(dir: &Path, file: &str) -> Result<Option<u64>, CgroupError> {
    Ok(optional(dir, file)?.and_then(|t| parse_limit(&t)).flatten())
}

impl Cgroup {
    /// Reads the usage figures of every available controller.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        let mut stats = Stats::default();
        if let Ok(t) = self.target("memory", "memory", "stats") {
            let (memory, ooms) = match t.version {
                Version::V1 => memory_v1(t.dir)?,
                Version::V2 => memory_v2(t.dir)?,
            };
            stats.memory = memory;
            stats.oom_kills = ooms;
        }
        if let Ok(t) = self.target("pids", "pids", "stats") {
            if let Some(current) = number(t.dir, "pids.current")? {
                stats.pids = Some(PidsStats {
                    current,
                    limit: limit(t.dir, "pids.max")?,
                });
            }
        }
        stats.cpu = match (self.v1_dir("cpuacct"), self.unified_dir()) {
            (Some(acct), _) => cpu_v1(acct, self.v1_dir("cpu"))?,
            (None, Some(dir)) => cpu_v2(dir)?,
            (None, None) => None,
        };
        Ok(stats)
    }
}

fn memory_v1(dir: &Path) -> Result<(Option<MemoryStats>, Option<u64>), CgroupError> {
    let Some(usage) = number(dir, "memory.usage_in_bytes")? else {
        return Ok((None, None));
    };
    let swap_usage =
        number(dir, "memory.memsw.usage_in_bytes")?.map(|memsw| memsw.saturating_sub(usage));
    let memory = MemoryStats {
        usage,
        max_usage: number(dir, "memory.max_usage_in_bytes")?,
        limit: number(dir, "memory.limit_in_bytes")?.filter(|l| *l < V1_UNLIMITED),
        failcnt: number(dir, "memory.failcnt")?.unwrap_or(0),
        swap_usage,
    };
    let ooms = optional(dir, "memory.oom_control")?.and_then(|t| keyed_value(&t, "oom_kill"));
    Ok((Some(memory), ooms))
}

fn memory_v2(dir: &Path) -> Result<(Option<MemoryStats>, Option<u64>), CgroupError> {
    let Some(usage) = number(dir, "memory.current")? else {
        return Ok((None, None));
    };
    let events = optional(dir, "memory.events")?.unwrap_or_default();
    let memory = MemoryStats {
        usage,
        max_usage: number(dir, "memory.peak")?,
        limit: limit(dir, "memory.max")?,
        failcnt: keyed_value(&events, "max").unwrap_or(0),
        swap_usage: number(dir, "memory.swap.current")?,
    };
    Ok((Some(memory), keyed_value(&events, "oom_kill")))
}

fn cpu_v1(acct: &Path, cpu: Option<&Path>) -> Result<Option<CpuStats>, CgroupError> {
    let Some(usage_ns) = number(acct, "cpuacct.usage")? else {
        return Ok(None);
    };
    let throttle = match cpu {
        Some(dir) => optional(dir, "cpu.stat")?.unwrap_or_default(),
        None => String::new(),
    };
    Ok(Some(CpuStats {
        usage_ns,
        user_ns: number(acct, "cpuacct.usage_user")?,
        system_ns: number(acct, "cpuacct.usage_sys")?,
        throttled_periods: keyed_value(&throttle, "nr_throttled"),
        throttled_ns: keyed_value(&throttle, "throttled_time"),
    }))
}

fn cpu_v2(dir: &Path) -> Result<Option<CpuStats>, CgroupError> {
    let Some(stat) = optional(dir, "cpu.stat")? else {
        return Ok(None);
    };
    let Some(usage) = keyed_value(&stat, "usage_usec") else {
        return Ok(None);
    };
    let ns = |key| keyed_value(&stat, key).map(|us| us * 1000);
    Ok(Some(CpuStats {
        usage_ns: usage * 1000,
        user_ns: ns("user_usec"),
        system_ns: ns("system_usec"),
        throttled_periods: keyed_value(&stat, "nr_throttled"),
        throttled_ns: ns("throttled_usec"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{put, Fake};

    #[test]
    fn v1_stats() {
        let fake = Fake::v1(&["memory", "pids", "cpu", "cpuacct"]);
        let mem = fake.dir("memory");
        put(&mem, "memory.usage_in_bytes", "1000\n");
        put(&mem, "memory.max_usage_in_bytes", "2000\n");
        put(&mem, "memory.limit_in_bytes", "9223372036854771712\n");
        put(&mem, "memory.failcnt", "3\n");
        put(&mem, "memory.memsw.usage_in_bytes", "1500\n");
        put(
            &mem,
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        );
        put(&fake.dir("pids"), "pids.current", "4\n");
        put(&fake.dir("pids"), "pids.max", "max\n");
        put(&fake.dir("cpuacct"), "cpuacct.usage", "123456\n");
        put(
            &fake.dir("cpu"),
            "cpu.stat",
            "nr_periods 5\nnr_throttled 1\nthrottled_time 99\n",
        );
        let stats = fake.cgroup.stats().unwrap();
        assert_eq!(
            stats,
            Stats {
                memory: Some(MemoryStats {
                    usage: 1000,
                    max_usage: Some(2000),
                    limit: None,
                    failcnt: 3,
                    swap_usage: Some(500)
                }),
                pids: Some(PidsStats {
                    current: 4,
                    limit: None
                }),
                cpu: Some(CpuStats {
                    usage_ns: 123456,
                    throttled_periods: Some(1),
                    throttled_ns: Some(99),
                    ..Default::default()
                }),
                oom_kills: Some(2),
            }
        );
    }

    #[test]
    fn v2_stats() {
        let fake = Fake::v2();
        let dir = fake.dir("");
        put(&dir, "memory.current", "4096\n");
        put(&dir, "memory.max", "8192\n");
        put(
            &dir,
            "memory.events",
            "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n",
        );
        put(&dir, "pids.current", "1\n");
        put(&dir, "pids.max", "10\n");
        put(
            &dir,
            "cpu.stat",
            "usage_usec 10\nuser_usec 6\nsystem_usec 4\n",
        );
        let stats = fake.cgroup.stats().unwrap();
        assert_eq!(stats.memory.as_ref().unwrap().limit, Some(8192));
        assert_eq!(stats.memory.as_ref().unwrap().failcnt, 7);
        assert_eq!(stats.oom_kills, Some(1));
        assert_eq!(
            stats.pids,
            Some(PidsStats {
                current: 1,
                limit: Some(10)
            })
        );
        assert_eq!(stats.cpu.unwrap().user_ns, Some(6000));
    }

    #[test]
    fn missing_controllers_give_empty_sections() {
        let fake = Fake::v1(&["freezer"]);
        assert_eq!(fake.cgroup.stats().unwrap(), Stats::default());
    }
}
