//! `process.scheduler` (→ `sched_setattr(2)`) and `process.ioPriority` (→ `ioprio_set(2)`), config.md "Linux
//! process": translated and checked in the runtime before cloning, applied by the init (and by `exec`'s child)
//! before its confinement.

use gantry_sys::sched::{self as s, SchedAttr};
use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxSchedulerFlag, LinuxSchedulerPolicy, Scheduler,
};

const SCHED_OTHER: u32 = 0;
const SCHED_FIFO: u32 = 1;
const SCHED_RR: u32 = 2;
const SCHED_BATCH: u32 = 3;
const SCHED_IDLE: u32 = 5;
const SCHED_DEADLINE: u32 = 6;

/// The `sched_attr` for `process.scheduler`, or why it cannot be applied (naming the field).
pub fn sched_attr(sc: &Scheduler) -> Result<SchedAttr, String> {
    let policy = match sc.policy() {
        LinuxSchedulerPolicy::SchedOther => SCHED_OTHER,
        LinuxSchedulerPolicy::SchedFifo => SCHED_FIFO,
        LinuxSchedulerPolicy::SchedRr => SCHED_RR,
        LinuxSchedulerPolicy::SchedBatch => SCHED_BATCH,
        LinuxSchedulerPolicy::SchedIdle => SCHED_IDLE,
        LinuxSchedulerPolicy::SchedDeadline => SCHED_DEADLINE,
        LinuxSchedulerPolicy::SchedIso => {
            return Err(
                "process.scheduler.policy: SCHED_ISO is not implemented by the Linux kernel".into(),
            )
        }
    };
    let mut flags = 0u64;
    for f in sc.flags().iter().flatten() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    let nice = sc.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(format!(
            "process.scheduler.nice: {nice} is out of range (-20 to 19)"
        ));
    }
    let priority = sc.priority().unwrap_or(0);
    let realtime = matches!(policy, SCHED_FIFO | SCHED_RR);
    if realtime && !(1..=99).contains(&priority) {
        return Err(format!(
            "process.scheduler.priority: {priority} is out of range for SCHED_FIFO/SCHED_RR (1 to 99)"
        ));
    }
    if !realtime && priority != 0 {
        return Err(format!(
            "process.scheduler.priority: must be 0 (or absent) for this policy, not {priority}"
        ));
    }
    let (runtime, deadline, period) = (
        sc.runtime().unwrap_or(0),
        sc.deadline().unwrap_or(0),
        sc.period().unwrap_or(0),
    );
    if policy == SCHED_DEADLINE {
        let period_or_deadline = if period == 0 { deadline } else { period };
        if runtime == 0 || runtime > deadline || deadline > period_or_deadline {
            return Err(format!(
                "process.scheduler: SCHED_DEADLINE needs 0 < runtime <= deadline <= period (got runtime={runtime}, \
                 deadline={deadline}, period={period})"
            ));
        }
    } else if runtime | deadline | period != 0 {
        return Err(
            "process.scheduler: runtime, deadline and period apply only to SCHED_DEADLINE".into(),
        );
    }
    Ok(SchedAttr {
        policy,
        flags,
        nice,
        priority: priority as u32,
        runtime,
        deadline,
        period,
        ..SchedAttr::default()
    })
}

/// The `(class, priority)` for `process.ioPriority` (the priority was range-checked with the spec).
pub fn io_priority(io: &LinuxIOPriority) -> Result<(u32, u32), String> {
    let class = match io.class() {
        IOPriorityClass::IoprioClassRt => s::IOPRIO_CLASS_RT,
        IOPriorityClass::IoprioClassBe => s::IOPRIO_CLASS_BE,
        IOPriorityClass::IoprioClassIdle => s::IOPRIO_CLASS_IDLE,
    };
    let prio = io.priority();
    if !(0..=7).contains(&prio) {
        return Err(format!(
            "process.ioPriority.priority: {prio} is out of range (0 to 7)"
        ));
    }
    Ok((class, prio as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(json: &str) -> Result<SchedAttr, String> {
        sched_attr(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn policies_map_to_the_kernel_numbers() {
        let a = sched(r#"{"policy": "SCHED_BATCH", "nice": 5, "flags": ["SCHED_RESET_ON_FORK"]}"#)
            .unwrap();
        assert_eq!((a.policy, a.nice, a.flags, a.priority), (3, 5, 1, 0));
        let a = sched(r#"{"policy": "SCHED_FIFO", "priority": 10}"#).unwrap();
        assert_eq!((a.policy, a.priority), (1, 10));
        let a = sched(
            r#"{"policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 2000000, "period": 4000000}"#,
        )
        .unwrap();
        assert_eq!(
            (a.policy, a.runtime, a.deadline, a.period),
            (6, 1_000_000, 2_000_000, 4_000_000)
        );
    }

    #[test]
    fn bad_values_name_the_field() {
        assert!(sched(r#"{"policy": "SCHED_OTHER", "nice": 20}"#)
            .unwrap_err()
            .starts_with("process.scheduler.nice"));
        assert!(sched(r#"{"policy": "SCHED_RR", "priority": 0}"#)
            .unwrap_err()
            .starts_with("process.scheduler.priority"));
        assert!(sched(r#"{"policy": "SCHED_OTHER", "priority": 3}"#)
            .unwrap_err()
            .starts_with("process.scheduler.priority"));
        assert!(sched(r#"{"policy": "SCHED_ISO"}"#)
            .unwrap_err()
            .contains("SCHED_ISO"));
        assert!(sched(r#"{"policy": "SCHED_DEADLINE", "runtime": 5, "deadline": 2}"#).is_err());
        assert!(sched(r#"{"policy": "SCHED_OTHER", "runtime": 5}"#).is_err());
    }

    #[test]
    fn io_classes() {
        let io: LinuxIOPriority =
            serde_json::from_str(r#"{"class": "IOPRIO_CLASS_IDLE", "priority": 7}"#).unwrap();
        assert_eq!(io_priority(&io).unwrap(), (3, 7));
        let io: LinuxIOPriority =
            serde_json::from_str(r#"{"class": "IOPRIO_CLASS_RT", "priority": 8}"#).unwrap();
        assert!(io_priority(&io)
            .unwrap_err()
            .starts_with("process.ioPriority.priority"));
    }
}
