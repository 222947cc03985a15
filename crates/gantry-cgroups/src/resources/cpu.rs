//! `linux.resources.cpu`: shares/weight, CFS quota/period/burst, realtime, idle (cpu controller) and
//! cpus/mems (cpuset controller).

use super::target::{invalid, unsupported, Target};
use crate::cgroup::{Cgroup, Version};
use crate::error::CgroupError;
use oci_spec::runtime::LinuxCpu;

const SHARES: &str = "linux.resources.cpu.shares";
const QUOTA: &str = "linux.resources.cpu.quota";
const PERIOD: &str = "linux.resources.cpu.period";
const BURST: &str = "linux.resources.cpu.burst";
const RT_RUNTIME: &str = "linux.resources.cpu.realtimeRuntime";
const RT_PERIOD: &str = "linux.resources.cpu.realtimePeriod";
const IDLE: &str = "linux.resources.cpu.idle";
const CPUS: &str = "linux.resources.cpu.cpus";
const MEMS: &str = "linux.resources.cpu.mems";

/// cpu.weight for v1 cpu.shares, with the log-quadratic map runc (≥ 1.3.2), crun (≥ 1.23) and Kubernetes adopted:
/// `⌈10^((L² + 125·L)/612 − 7/34)⌉` with `L = log2(shares)`. It keeps the ends (2 → 1, 262144 → 10000) and maps
/// the v1 default 1024 onto the v2 default 100, which the older linear map (1024 → 39) did not.
pub fn shares_to_weight(shares: u64) -> u64 {
    let l = (shares.clamp(2, 262_144) as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    (10f64.powf(exponent).ceil() as u64).clamp(1, 10_000)
}

/// Applies the cpu and cpuset settings.
pub(super) fn apply(cgroup: &Cgroup, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    let shares = cpu.shares().filter(|s| *s != 0);
    if let Some(s) = shares {
        if !(2..=262_144).contains(&s) {
            return Err(invalid(SHARES, format!("{s} is out of range 2-262144")));
        }
    }
    let quota = match cpu.quota() {
        None | Some(0) => None,
        Some(q) if q == -1 || q >= 1000 => Some(q),
        Some(q) => {
            return Err(invalid(
                QUOTA,
                format!("{q} is neither -1 (unlimited) nor at least 1000 microseconds"),
            ))
        }
    };
    let period = match cpu.period() {
        None | Some(0) => None,
        Some(p) if (1000..=1_000_000).contains(&p) => Some(p),
        Some(p) => {
            return Err(invalid(
                PERIOD,
                format!("{p} is out of range 1000-1000000 microseconds"),
            ))
        }
    };
    let idle = cpu.idle();
    if let Some(i) = idle {
        if i != 0 && i != 1 {
            return Err(invalid(IDLE, format!("{i} is neither 0 nor 1")));
        }
    }
    let rt_runtime = cpu.realtime_runtime().filter(|r| *r != 0);
    let rt_period = cpu.realtime_period().filter(|p| *p != 0);
    let burst = cpu.burst();
    let first = [
        (shares.is_some(), SHARES),
        (quota.is_some(), QUOTA),
        (period.is_some(), PERIOD),
        (burst.is_some(), BURST),
        (rt_runtime.is_some(), RT_RUNTIME),
        (rt_period.is_some(), RT_PERIOD),
        (idle.is_some(), IDLE),
    ]
    .into_iter()
    .find(|(set, _)| *set);
    if let Some((_, field)) = first {
        let target = cgroup.target("cpu", "cpu", field)?;
        match target.version {
            Version::V1 => {
                if let Some(s) = shares {
                    target.write_int("cpu.shares", s as i64, SHARES)?;
                }
                if let Some(p) = period {
                    target.write_int("cpu.cfs_period_us", p as i64, PERIOD)?;
                }
                if let Some(q) = quota {
                    target.write_int("cpu.cfs_quota_us", q, QUOTA)?;
                }
                if let Some(b) = burst {
                    target.write_int("cpu.cfs_burst_us", b as i64, BURST)?;
                }
                // The period bounds the runtime, so a new period goes first.
                if let Some(p) = rt_period {
                    target.write_int("cpu.rt_period_us", p as i64, RT_PERIOD)?;
                }
                if let Some(r) = rt_runtime {
                    target.write_int("cpu.rt_runtime_us", r, RT_RUNTIME)?;
                }
            }
            Version::V2 => {
                if let Some(s) = shares {
                    target.write_int("cpu.weight", shares_to_weight(s) as i64, SHARES)?;
                }
                if quota.is_some() || period.is_some() {
                    write_cpu_max(&target, quota, period)?;
                }
                if let Some(b) = burst {
                    target.write_int("cpu.max.burst", b as i64, BURST)?;
                }
                if rt_runtime.is_some() || rt_period.is_some() {
                    let field = if rt_runtime.is_some() {
                        RT_RUNTIME
                    } else {
                        RT_PERIOD
                    };
                    return Err(unsupported(
                        field,
                        Version::V2,
                        "cgroup v2 has no realtime group scheduling; unset it",
                    ));
                }
            }
        }
        if let Some(i) = idle {
            target.write_int("cpu.idle", i, IDLE)?;
        }
    }
    apply_cpuset(cgroup, cpu)
}

/// cpu.max is "QUOTA PERIOD"; the kernel accepts "QUOTA" alone and keeps the period, but a lone period must be
/// written with the current quota.
fn write_cpu_max(
    target: &Target<'_>,
    quota: Option<i64>,
    period: Option<u64>,
) -> Result<(), CgroupError> {
    let field = if quota.is_some() { QUOTA } else { PERIOD };
    let quota_text = match quota {
        Some(-1) => "max".to_owned(),
        Some(q) => q.to_string(),
        None => {
            let current = target.read("cpu.max", PERIOD)?;
            current
                .split_whitespace()
                .next()
                .unwrap_or("max")
                .to_owned()
        }
    };
    let value = match period {
        Some(p) => format!("{quota_text} {p}"),
        None => quota_text,
    };
    target.write("cpu.max", value.as_bytes(), field)
}

fn apply_cpuset(cgroup: &Cgroup, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    let cpus = cpu.cpus().as_deref().filter(|s| !s.is_empty());
    let mems = cpu.mems().as_deref().filter(|s| !s.is_empty());
    for (value, field) in [(cpus, CPUS), (mems, MEMS)] {
        if let Some(v) = value {
            if !v
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b',' || b == b'-')
            {
                return Err(invalid(field, format!("{v:?} is not a list like 0-3,7")));
            }
        }
    }
    if cpus.is_none() && mems.is_none() {
        return Ok(());
    }
    let target = cgroup.target("cpuset", "cpuset", if cpus.is_some() { CPUS } else { MEMS })?;
    if let Some(v) = cpus {
        target.write("cpuset.cpus", v.as_bytes(), CPUS)?;
    }
    if let Some(v) = mems {
        target.write("cpuset.mems", v.as_bytes(), MEMS)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{get, put, Fake};
    use oci_spec::runtime::LinuxResources;

    fn resources(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn shares_conversion_matches_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(512), 59);
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(2048), 174);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }

    #[test]
    fn v1_cpu_and_cpuset() {
        let fake = Fake::v1(&["cpu", "cpuset"]);
        let dir = fake.dir("cpu");
        for f in [
            "cpu.shares",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us",
            "cpu.cfs_burst_us",
            "cpu.rt_period_us",
            "cpu.rt_runtime_us",
            "cpu.idle",
        ] {
            put(&dir, f, "");
        }
        put(&fake.dir("cpuset"), "cpuset.mems", "");
        let r = r#"{"cpu":{"shares":512,"quota":50000,"period":100000,"burst":1000,"realtimeRuntime":950,"realtimePeriod":1000,"idle":1,"cpus":"0","mems":"0"}}"#;
        fake.cgroup.apply(&resources(r)).unwrap();
        assert_eq!(get(&dir, "cpu.shares"), "512");
        assert_eq!(get(&dir, "cpu.cfs_quota_us"), "50000");
        assert_eq!(get(&dir, "cpu.cfs_period_us"), "100000");
        assert_eq!(get(&dir, "cpu.cfs_burst_us"), "1000");
        assert_eq!(get(&dir, "cpu.rt_runtime_us"), "950");
        assert_eq!(get(&dir, "cpu.rt_period_us"), "1000");
        assert_eq!(get(&dir, "cpu.idle"), "1");
        assert_eq!(get(&fake.dir("cpuset"), "cpuset.cpus"), "0");
        assert_eq!(get(&fake.dir("cpuset"), "cpuset.mems"), "0");
    }

    #[test]
    fn v2_weight_max_and_realtime_refused() {
        let fake = Fake::v2();
        let dir = fake.dir("");
        put(&dir, "cpu.weight", "");
        put(&dir, "cpu.max", "max 100000\n");
        fake.cgroup
            .apply(&resources(
                r#"{"cpu":{"shares":1024,"quota":-1,"period":50000}}"#,
            ))
            .unwrap();
        assert_eq!(get(&dir, "cpu.weight"), "100");
        assert_eq!(get(&dir, "cpu.max"), "max 50000");
        put(&dir, "cpu.max", "20000 100000\n");
        fake.cgroup
            .apply(&resources(r#"{"cpu":{"period":200000}}"#))
            .unwrap();
        assert_eq!(get(&dir, "cpu.max"), "20000 200000");
        let err = fake
            .cgroup
            .apply(&resources(r#"{"cpu":{"realtimeRuntime":5}}"#))
            .unwrap_err();
        assert!(err.to_string().contains("realtimeRuntime"), "{err}");
    }

    #[test]
    fn ranges_are_checked() {
        let fake = Fake::v2();
        for (json, field) in [
            (r#"{"cpu":{"shares":1}}"#, SHARES),
            (r#"{"cpu":{"quota":10}}"#, QUOTA),
            (r#"{"cpu":{"period":10}}"#, PERIOD),
            (r#"{"cpu":{"idle":3}}"#, IDLE),
            (r#"{"cpu":{"cpus":"0;1"}}"#, CPUS),
        ] {
            let err = fake.cgroup.apply(&resources(json)).unwrap_err();
            assert!(
                matches!(&err, CgroupError::InvalidValue { field: f, .. } if f == field),
                "{err}"
            );
        }
    }
}
