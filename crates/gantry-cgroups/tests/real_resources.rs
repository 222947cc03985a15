//! `linux.resources` on the real hybrid host, observed through their effects: an OOM kill, a refused fork, a denied
//! device (v1 devices and the eBPF filter on the unified mount), and values read back from the kernel's files.

mod common;

use common::{require_real_host, Guard};
use gantry_cgroups::{CgroupError, Layout, OomEvent};
use oci_spec::runtime::LinuxResources;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

fn read(dir: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn memory_limit_oom_kills_the_hog() {
    require_real_host();
    let guard = Guard::new(&Layout::detect().unwrap());
    guard
        .cgroup
        .apply(&resources(
            r#"{"memory":{"limit":33554432,"swap":33554432}}"#,
        ))
        .unwrap();
    let dir = guard.cgroup.v1_dir("memory").unwrap().to_owned();
    assert_eq!(read(&dir, "memory.limit_in_bytes"), "33554432");
    let mut notifier = guard.cgroup.oom_notifier().unwrap();
    assert_eq!(notifier.check().unwrap(), None);
    // tail buffers the one endless "line" of /dev/zero until the limit stops it.
    let out = guard.run_inside("exec tail /dev/zero");
    assert_eq!(
        out.status.signal(),
        Some(9),
        "tail must be OOM-killed: {out:?}"
    );
    // (Kernel 6.18's v1 memcg leaves failcnt at 0 here; the peak and the OOM kill count are the evidence.)
    assert_eq!(read(&dir, "memory.max_usage_in_bytes"), "33554432");
    assert!(matches!(notifier.wait().unwrap(), OomEvent::Oom { count } if count >= 1));
    let stats = guard.cgroup.stats().unwrap();
    assert!(stats.oom_kills.unwrap_or(0) >= 1, "{stats:?}");
    assert_eq!(stats.memory.unwrap().limit, Some(33554432));
}

#[test]
fn memory_and_memsw_order_works_both_ways_on_the_kernel() {
    require_real_host();
    let guard = Guard::new(&Layout::detect().unwrap());
    let dir = guard.cgroup.v1_dir("memory").unwrap().to_owned();
    for (limit, swap) in [
        (67108864, 134217728),
        (33554432, 50331648),
        (268435456, 536870912),
        (16777216, 16777216),
    ] {
        let json = format!(r#"{{"memory":{{"limit":{limit},"swap":{swap}}}}}"#);
        guard
            .cgroup
            .apply(&resources(&json))
            .unwrap_or_else(|e| panic!("{limit}/{swap}: {e}"));
        assert_eq!(read(&dir, "memory.limit_in_bytes"), limit.to_string());
        assert_eq!(read(&dir, "memory.memsw.limit_in_bytes"), swap.to_string());
    }
    guard
        .cgroup
        .apply(&resources(r#"{"memory":{"limit":-1}}"#))
        .unwrap();
    assert_eq!(read(&dir, "memory.limit_in_bytes"), "9223372036854771712");
    assert_eq!(
        read(&dir, "memory.memsw.limit_in_bytes"),
        "9223372036854771712"
    );
}

#[test]
fn pids_limit_refuses_a_fork() {
    require_real_host();
    let guard = Guard::new(&Layout::detect().unwrap());
    guard
        .cgroup
        .apply(&resources(r#"{"pids":{"limit":1}}"#))
        .unwrap();
    let out = guard.run_inside("(true) && echo forked");
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("fork"),
        "{out:?}"
    );
    guard
        .cgroup
        .apply(&resources(r#"{"pids":{"limit":8}}"#))
        .unwrap();
    let out = guard.run_inside("(true) && echo forked");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "forked");
    let stats = guard.cgroup.stats().unwrap();
    assert_eq!(stats.pids.unwrap().limit, Some(8));
}

const DEVICE_RULES: &str = r#"{"devices":[
    {"allow":false,"access":"rwm"},
    {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
    {"allow":true,"type":"c","major":1,"minor":5,"access":"r"}]}"#;

fn check_device_policy(guard: &Guard) {
    let out = guard.run_inside("head -c1 /dev/zero > /dev/null && echo zero-ok");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "zero-ok",
        "{out:?}"
    );
    let out = guard.run_inside("head -c1 /dev/urandom > /dev/null && echo urandom-ok");
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{out:?}"
    );
    let out = guard.run_inside("echo x > /dev/zero && echo write-ok");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "zero is read-only: {out:?}"
    );
}

#[test]
fn v1_devices_deny_and_allow() {
    require_real_host();
    let guard = Guard::new(&Layout::detect().unwrap());
    guard.cgroup.apply(&resources(DEVICE_RULES)).unwrap();
    let list = read(guard.cgroup.v1_dir("devices").unwrap(), "devices.list");
    assert_eq!(list, "c 1:3 rwm\nc 1:5 r");
    check_device_policy(&guard);
}

#[test]
fn v2_ebpf_device_filter_on_the_unified_mount() {
    require_real_host();
    let guard = Guard::new(&Layout::v2(PathBuf::from("/sys/fs/cgroup/unified")));
    guard.cgroup.apply(&resources(DEVICE_RULES)).unwrap();
    check_device_policy(&guard);
    // An update replaces the filter instead of stacking another one (which could only restrict further).
    guard
        .cgroup
        .apply(&resources(r#"{"devices":[{"allow":true,"access":"rwm"}]}"#))
        .unwrap();
    let out = guard.run_inside("head -c1 /dev/urandom > /dev/null && echo urandom-ok");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "urandom-ok",
        "{out:?}"
    );
}

#[test]
fn cpu_and_cpuset_values_reach_the_kernel() {
    require_real_host();
    let guard = Guard::new(&Layout::detect().unwrap());
    guard
        .cgroup
        .apply(&resources(
            r#"{"cpu":{"shares":512,"quota":25000,"period":50000,"cpus":"0","mems":"0"}}"#,
        ))
        .unwrap();
    let cpu = guard.cgroup.v1_dir("cpu").unwrap();
    assert_eq!(read(cpu, "cpu.shares"), "512");
    assert_eq!(read(cpu, "cpu.cfs_quota_us"), "25000");
    assert_eq!(read(cpu, "cpu.cfs_period_us"), "50000");
    assert_eq!(
        read(guard.cgroup.v1_dir("cpuset").unwrap(), "cpuset.cpus"),
        "0"
    );
}

#[test]
fn missing_controllers_on_this_host_are_named() {
    require_real_host();
    let guard = Guard::new(&Layout::detect().unwrap());
    // No net_cls hierarchy on this host, and v2 cannot express classID.
    let err = guard
        .cgroup
        .apply(&resources(r#"{"network":{"classID":1}}"#))
        .unwrap_err();
    assert!(
        err.to_string().contains("linux.resources.network.classID"),
        "{err}"
    );
    // The host's blkio has no weight file (no CFQ/BFQ weights).
    let err = guard
        .cgroup
        .apply(&resources(r#"{"blockIO":{"leafWeight":100}}"#))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CgroupError::MissingController {
                controller: "blkio",
                ..
            }
        ),
        "{err}"
    );
    // Nothing requested: nothing touched, no error.
    guard.cgroup.apply(&resources("{}")).unwrap();
}

#[test]
fn v1_kernel_agrees_with_the_emulated_merge_and_withdraw() {
    require_real_host();
    let guard = Guard::new(&Layout::detect().unwrap());
    // Allows for the same device merge; a deny only withdraws bits from the identical entry.
    let rules = r#"{"devices":[
        {"allow":true,"type":"c","major":1,"minor":3,"access":"r"},
        {"allow":true,"type":"c","major":1,"minor":3,"access":"w"},
        {"allow":true,"type":"c","access":"m"},
        {"allow":false,"type":"c","major":1,"minor":3,"access":"r"},
        {"allow":true,"type":"a","major":1,"minor":5,"access":"r"}]}"#;
    guard.cgroup.apply(&resources(rules)).unwrap();
    let mut list: Vec<String> = read(guard.cgroup.v1_dir("devices").unwrap(), "devices.list")
        .lines()
        .map(str::to_owned)
        .collect();
    list.sort();
    assert_eq!(list, ["b 1:5 r", "c *:* m", "c 1:3 w", "c 1:5 r"]);
}

#[test]
fn v2_unified_map_reaches_the_kernel() {
    require_real_host();
    let guard = Guard::new(&Layout::v2(PathBuf::from("/sys/fs/cgroup/unified")));
    guard
        .cgroup
        .apply(&resources(r#"{"unified":{"cgroup.max.descendants":"1"}}"#))
        .unwrap();
    let dir = guard.cgroup.unified_dir().unwrap();
    assert_eq!(read(dir, "cgroup.max.descendants"), "1");
    std::fs::create_dir(dir.join("one")).unwrap();
    let err = std::fs::create_dir(dir.join("two")).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(11),
        "EAGAIN past cgroup.max.descendants: {err}"
    );
    // destroy removes the sub-cgroup "one" before the leaf.
    let err = guard
        .cgroup
        .apply(&resources(r#"{"unified":{"memory.max":"1"}}"#))
        .unwrap_err();
    assert!(
        matches!(err, CgroupError::MissingController { .. }),
        "no memory controller in this unified mount: {err}"
    );
}

#[test]
fn stats_count_cpu_time_on_both_layouts() {
    require_real_host();
    for layout in [
        Layout::detect().unwrap(),
        Layout::v2(PathBuf::from("/sys/fs/cgroup/unified")),
    ] {
        let guard = Guard::new(&layout);
        let out = guard.run_inside("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done");
        assert!(out.status.success(), "{out:?}");
        let cpu = guard.cgroup.stats().unwrap().cpu.expect("cpu stats");
        assert!(
            cpu.usage_ns > 1_000_000,
            "a busy loop uses over 1 ms of CPU: {cpu:?}"
        );
    }
}
