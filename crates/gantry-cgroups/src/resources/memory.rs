//! `linux.resources.memory`: v1 `memory.*limit_in_bytes` and friends, v2 `memory.max`/`memory.swap.max`/`memory.low`.

use super::target::{byte_limit, invalid, unsupported, Target};
use crate::cgroup::{Cgroup, Version};
use crate::error::CgroupError;
use oci_spec::runtime::LinuxMemory;

const LIMIT: &str = "linux.resources.memory.limit";
const SWAP: &str = "linux.resources.memory.swap";
const RESERVATION: &str = "linux.resources.memory.reservation";
const SWAPPINESS: &str = "linux.resources.memory.swappiness";
const KERNEL_TCP: &str = "linux.resources.memory.kernelTCP";
const OOM: &str = "linux.resources.memory.disableOOMKiller";
/// What v1 reports as "no limit" (PAGE_COUNTER_MAX pages of 4 KiB).
const V1_UNLIMITED: u64 = 9_223_372_036_854_771_712;

/// The checked values of `linux.resources.memory`; `None` means "leave alone".
#[derive(Debug, Default, PartialEq)]
pub(crate) struct MemoryPlan {
    limit: Option<i64>,
    swap: Option<i64>,
    reservation: Option<i64>,
    swappiness: Option<u64>,
    kernel_tcp: Option<i64>,
    disable_oom_killer: Option<bool>,
    check_before_update: bool,
}

impl MemoryPlan {
    fn new(m: &LinuxMemory) -> Result<MemoryPlan, CgroupError> {
        let limit = byte_limit(m.limit(), LIMIT)?;
        let mut swap = byte_limit(m.swap(), SWAP)?;
        // runc: an unlimited memory limit with no swap value lifts the memory+swap limit too, since the kernel
        // refuses a memory limit above the memory+swap limit.
        if limit == Some(-1) && swap.is_none() {
            swap = Some(-1);
        }
        if let (Some(l), Some(s)) = (limit, swap) {
            if l > 0 && s > 0 && s < l {
                return Err(invalid(
                    SWAP,
                    format!(
                        "memory+swap limit {s} is below the memory limit {l}; it must be >= it"
                    ),
                ));
            }
            if l == -1 && s > 0 {
                return Err(invalid(
                    SWAP,
                    format!(
                        "memory+swap limit {s} with an unlimited memory limit; set both or neither"
                    ),
                ));
            }
        }
        if let Some(s) = m.swappiness() {
            if s > 100 {
                return Err(invalid(SWAPPINESS, format!("{s} is out of range 0-100")));
            }
        }
        Ok(MemoryPlan {
            limit,
            swap,
            reservation: byte_limit(m.reservation(), RESERVATION)?,
            swappiness: m.swappiness(),
            kernel_tcp: byte_limit(m.kernel_tcp(), KERNEL_TCP)?,
            disable_oom_killer: m.disable_oom_killer(),
            check_before_update: m.check_before_update().unwrap_or(false),
        })
    }

    fn is_empty(&self) -> bool {
        self.limit.is_none()
            && self.swap.is_none()
            && self.reservation.is_none()
            && self.swappiness.is_none()
            && self.kernel_tcp.is_none()
            && self.disable_oom_killer.is_none()
    }

    fn first_field(&self) -> &'static str {
        [
            (self.limit.is_some(), LIMIT),
            (self.swap.is_some(), SWAP),
            (self.reservation.is_some(), RESERVATION),
            (self.swappiness.is_some(), SWAPPINESS),
            (self.kernel_tcp.is_some(), KERNEL_TCP),
        ]
        .iter()
        .find(|(set, _)| *set)
        .map_or(OOM, |(_, field)| field)
    }
}

/// Applies the memory settings.
pub(super) fn apply(cgroup: &Cgroup, m: &LinuxMemory) -> Result<(), CgroupError> {
    #[allow(deprecated)]
    if m.kernel().is_some() {
        tracing::warn!("linux.resources.memory.kernel is ignored: kernel memory limits are obsolete since Linux 5.4");
    }
    let plan = MemoryPlan::new(m)?;
    if plan.is_empty() {
        return Ok(());
    }
    let target = cgroup.target("memory", "memory", plan.first_field())?;
    match target.version {
        Version::V1 => apply_v1(&target, &plan),
        Version::V2 => apply_v2(&target, &plan),
    }
}

fn check_usage(
    target: &Target<'_>,
    plan: &MemoryPlan,
    usage_file: &str,
) -> Result<(), CgroupError> {
    let Some(limit) = plan.limit.filter(|l| *l > 0 && plan.check_before_update) else {
        return Ok(());
    };
    let text = target.read(usage_file, LIMIT)?;
    let usage: u64 = text.trim().parse().map_err(|_| CgroupError::Parse {
        path: target.dir.join(usage_file),
        reason: "expected a number of bytes",
    })?;
    if (limit as u64) < usage {
        return Err(CgroupError::LimitBelowUsage {
            limit,
            usage,
            path: target.dir.to_owned(),
        });
    }
    Ok(())
}

fn apply_v1(target: &Target<'_>, plan: &MemoryPlan) -> Result<(), CgroupError> {
    check_usage(target, plan, "memory.usage_in_bytes")?;
    const MEM: &str = "memory.limit_in_bytes";
    match (plan.limit, plan.swap) {
        (Some(limit), Some(swap)) => {
            // The kernel keeps memsw >= memory at every step: when raising (or lifting) the limits, raise memsw
            // first; when lowering, lower memory first (runc's order).
            let current = target.read(MEM, LIMIT)?;
            let current: u64 = current.trim().parse().unwrap_or(V1_UNLIMITED);
            if swap == -1 || current < swap as u64 {
                write_memsw(target, swap)?;
                target.write_int(MEM, limit, LIMIT)?;
            } else {
                target.write_int(MEM, limit, LIMIT)?;
                write_memsw(target, swap)?;
            }
        }
        (Some(limit), None) => target.write_int(MEM, limit, LIMIT)?,
        (None, Some(swap)) => write_memsw(target, swap)?,
        (None, None) => {}
    }
    if let Some(reservation) = plan.reservation {
        target.write_int("memory.soft_limit_in_bytes", reservation, RESERVATION)?;
    }
    if let Some(tcp) = plan.kernel_tcp {
        target.write_int("memory.kmem.tcp.limit_in_bytes", tcp, KERNEL_TCP)?;
    }
    if let Some(swappiness) = plan.swappiness {
        target.write_int("memory.swappiness", swappiness as i64, SWAPPINESS)?;
    }
    if plan.disable_oom_killer == Some(true) {
        target.write("memory.oom_control", b"1", OOM)?;
    }
    Ok(())
}

fn write_memsw(target: &Target<'_>, swap: i64) -> Result<(), CgroupError> {
    const MEMSW: &str = "memory.memsw.limit_in_bytes";
    match target.write_int(MEMSW, swap, SWAP) {
        Err(CgroupError::MissingController {
            field, controller, ..
        }) => Err(CgroupError::MissingController {
            field,
            controller,
            detail: format!("{MEMSW} is missing: swap accounting is off (boot with swapaccount=1)"),
        }),
        other => other,
    }
}

/// `memory.swap.max` for an OCI memory+swap total (runc's conversion): `-1` → `max`, otherwise total − memory.
pub(crate) fn swap_v2(limit: Option<i64>, swap: i64) -> Result<i64, CgroupError> {
    if swap == -1 {
        return Ok(-1);
    }
    match limit {
        Some(l) if l > 0 => Ok(swap - l),
        _ => Err(invalid(
            SWAP,
            "a swap limit on cgroup v2 needs a memory limit too (swap is memory+swap)",
        )),
    }
}

fn apply_v2(target: &Target<'_>, plan: &MemoryPlan) -> Result<(), CgroupError> {
    check_usage(target, plan, "memory.current")?;
    if let Some(swap) = plan.swap {
        let swap_max = swap_v2(plan.limit, swap)?;
        // With limit == -1 the swap is lifted too (see MemoryPlan::new); without swap support, that is moot.
        match target.write_limit("memory.swap.max", swap_max, SWAP) {
            Err(CgroupError::MissingController { .. }) if swap == -1 => {}
            other => other?,
        }
    }
    if let Some(limit) = plan.limit {
        target.write_limit("memory.max", limit, LIMIT)?;
    }
    if let Some(reservation) = plan.reservation {
        target.write_limit("memory.low", reservation, RESERVATION)?;
    }
    if plan.swappiness.is_some() {
        tracing::warn!("{SWAPPINESS} is ignored on cgroup v2, which has no per-cgroup swappiness");
    }
    if plan.kernel_tcp.is_some() {
        tracing::warn!(
            "{KERNEL_TCP} is ignored on cgroup v2, where TCP memory is part of memory.max"
        );
    }
    if plan.disable_oom_killer == Some(true) {
        return Err(unsupported(
            OOM,
            Version::V2,
            "cgroup v2 cannot disable the OOM killer; unset it",
        ));
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
    fn v1_raising_writes_memsw_first_lowering_memory_first() {
        let fake = Fake::v1(&["memory"]);
        let dir = fake.dir("memory");
        // A fake tree cannot enforce memsw >= memory; the write order is checked against the real kernel in
        // tests/real_resources.rs.
        put(&dir, "memory.limit_in_bytes", "100000000\n");
        put(&dir, "memory.memsw.limit_in_bytes", "200000000\n");
        put(&dir, "memory.usage_in_bytes", "1000\n");
        fake.cgroup
            .apply(&resources(
                r#"{"memory":{"limit":300000000,"swap":400000000}}"#,
            ))
            .unwrap();
        assert_eq!(get(&dir, "memory.limit_in_bytes"), "300000000");
        assert_eq!(get(&dir, "memory.memsw.limit_in_bytes"), "400000000");
        assert_eq!(
            MemoryPlan::new(&serde_json::from_str(r#"{"limit":5,"swap":4}"#).unwrap()).unwrap_err().to_string(),
            "cgroup: invalid value for linux.resources.memory.swap: memory+swap limit 4 is below the memory limit 5; it must be >= it"
        );
    }

    #[test]
    fn v1_unlimited_memory_lifts_memsw_and_other_fields() {
        let fake = Fake::v1(&["memory"]);
        let dir = fake.dir("memory");
        for f in [
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "memory.swappiness",
            "memory.oom_control",
            "memory.kmem.tcp.limit_in_bytes",
        ] {
            put(&dir, f, "");
        }
        fake.cgroup
            .apply(&resources(
                r#"{"memory":{"limit":-1,"reservation":1024,"swappiness":10,"disableOOMKiller":true,"kernelTCP":4096}}"#,
            ))
            .unwrap();
        assert_eq!(get(&dir, "memory.limit_in_bytes"), "-1");
        assert_eq!(get(&dir, "memory.memsw.limit_in_bytes"), "-1");
        assert_eq!(get(&dir, "memory.soft_limit_in_bytes"), "1024");
        assert_eq!(get(&dir, "memory.swappiness"), "10");
        assert_eq!(get(&dir, "memory.oom_control"), "1");
        assert_eq!(get(&dir, "memory.kmem.tcp.limit_in_bytes"), "4096");
    }

    #[test]
    fn swap_without_a_memory_bound_is_refused() {
        let fake = Fake::v1(&["memory"]);
        let err = fake
            .cgroup
            .apply(&resources(r#"{"memory":{"limit":-1,"swap":1048576}}"#))
            .unwrap_err();
        assert!(
            err.to_string().contains("linux.resources.memory.swap"),
            "{err}"
        );
    }

    #[test]
    fn out_of_range_values_name_the_field() {
        let fake = Fake::v1(&["memory"]);
        let err = fake
            .cgroup
            .apply(&resources(r#"{"memory":{"swappiness":101}}"#))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("linux.resources.memory.swappiness"),
            "{err}"
        );
        let err = fake
            .cgroup
            .apply(&resources(r#"{"memory":{"limit":-5}}"#))
            .unwrap_err();
        assert!(
            err.to_string().contains("linux.resources.memory.limit"),
            "{err}"
        );
    }

    #[test]
    fn check_before_update_refuses_limit_below_usage() {
        let fake = Fake::v2();
        put(&fake.dir(""), "memory.current", "5000\n");
        put(&fake.dir(""), "memory.max", "");
        let err = fake
            .cgroup
            .apply(&resources(
                r#"{"memory":{"limit":4096,"checkBeforeUpdate":true}}"#,
            ))
            .unwrap_err();
        assert!(
            matches!(
                err,
                CgroupError::LimitBelowUsage {
                    limit: 4096,
                    usage: 5000,
                    ..
                }
            ),
            "{err}"
        );
        fake.cgroup
            .apply(&resources(
                r#"{"memory":{"limit":8192,"checkBeforeUpdate":true}}"#,
            ))
            .unwrap();
        assert_eq!(get(&fake.dir(""), "memory.max"), "8192");
    }

    #[test]
    fn v2_converts_swap_and_reservation() {
        let fake = Fake::v2();
        let dir = fake.dir("");
        for f in ["memory.max", "memory.swap.max", "memory.low"] {
            put(&dir, f, "");
        }
        fake.cgroup
            .apply(&resources(
                r#"{"memory":{"limit":1000,"swap":3000,"reservation":500}}"#,
            ))
            .unwrap();
        assert_eq!(get(&dir, "memory.max"), "1000");
        assert_eq!(get(&dir, "memory.swap.max"), "2000");
        assert_eq!(get(&dir, "memory.low"), "500");
        put(&dir, "memory.max", "");
        put(&dir, "memory.swap.max", "");
        fake.cgroup
            .apply(&resources(r#"{"memory":{"limit":-1}}"#))
            .unwrap();
        assert_eq!(get(&dir, "memory.max"), "max");
        assert_eq!(get(&dir, "memory.swap.max"), "max");
        assert!(swap_v2(None, 10).is_err());
        let err = fake
            .cgroup
            .apply(&resources(r#"{"memory":{"disableOOMKiller":true}}"#))
            .unwrap_err();
        assert!(matches!(err, CgroupError::Unsupported { .. }), "{err}");
    }

    #[test]
    fn nothing_set_touches_nothing_even_without_the_controller() {
        let fake = Fake::v1(&["pids"]);
        fake.cgroup.apply(&resources(r#"{"memory":{}}"#)).unwrap();
        let err = fake
            .cgroup
            .apply(&resources(r#"{"memory":{"limit":1}}"#))
            .unwrap_err();
        assert!(
            matches!(&err, CgroupError::MissingController { controller: "memory", field, .. } if field == LIMIT),
            "{err}"
        );
    }

    #[test]
    fn v2_enables_the_controller_on_the_way_down_when_the_root_offers_it() {
        let fake = Fake::v2();
        put(&fake.root, "cgroup.controllers", "cpu memory pids\n");
        put(&fake.root, "cgroup.subtree_control", "");
        put(&fake.root.join("test"), "cgroup.subtree_control", "");
        // The fake "kernel" makes memory.max appear only after enabling; simulate by creating it lazily is not
        // possible, so check the enabling writes and the resulting error naming the missing file.
        let err = fake
            .cgroup
            .apply(&resources(r#"{"memory":{"limit":4096}}"#))
            .unwrap_err();
        assert_eq!(get(&fake.root, "cgroup.subtree_control"), "+memory");
        assert_eq!(
            get(&fake.root.join("test"), "cgroup.subtree_control"),
            "+memory"
        );
        assert!(
            err.to_string().contains("memory.max does not exist"),
            "{err}"
        );
        put(&fake.root, "cgroup.controllers", "cpu pids\n");
        put(&fake.root, "cgroup.subtree_control", "");
        let err = fake
            .cgroup
            .apply(&resources(r#"{"memory":{"limit":4096}}"#))
            .unwrap_err();
        assert_eq!(
            get(&fake.root, "cgroup.subtree_control"),
            "",
            "nothing enabled when the root lacks memory"
        );
        assert!(matches!(
            err,
            CgroupError::MissingController {
                controller: "memory",
                ..
            }
        ));
    }
}
