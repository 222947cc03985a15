//! Cgroup membership as seen from inside and on the host.
//! Spec: config-linux.md "Control groups" (cgroupsPath, creation/joining), "Cgroup
//! namespace"; runtime.md "Delete" (resources created at create are removed); runc CLI
//! `kill --all`.

use gantry_tests::{host, TestCtx};
use std::time::Duration;

#[test]
fn process_joins_the_configured_cgroup() {
    let t = TestCtx::new("cg_member");
    let mut b = t.bundle();
    b.remove_namespace("cgroup").sh("cat /proc/self/cgroup");
    let out = t.run_ok(&b);
    for ctrl in ["pids", "memory", "devices", "freezer"] {
        let line = out
            .lines()
            .find(|l| {
                l.split(':')
                    .nth(1)
                    .is_some_and(|c| c.split(',').any(|x| x == ctrl))
            })
            .unwrap_or_else(|| panic!("no {ctrl} line: {out}"));
        assert_eq!(
            line.splitn(3, ':').nth(2),
            Some(b.cgroups_path.as_str()),
            "{out}"
        );
    }
}

#[test]
fn cgroup_exists_while_running_and_is_removed_by_delete() {
    let t = TestCtx::new("cg_lifetime");
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id();
    t.create(&b, &id).assert_success();
    let pid = t.state_json(&id)["pid"].as_i64().unwrap() as i32;
    t.start(&id).assert_success();
    let dirs = host::cgroup_dirs(&b.cgroups_path);
    assert!(!dirs.is_empty(), "no cgroup dir for {}", b.cgroups_path);
    let pids_dir = dirs
        .iter()
        .find(|d| d.starts_with("/sys/fs/cgroup/pids"))
        .expect("pids hierarchy dir");
    let procs = std::fs::read_to_string(pids_dir.join("cgroup.procs")).unwrap();
    assert!(
        procs.lines().any(|p| p.trim() == pid.to_string()),
        "{procs}"
    );
    t.kill(&id, "KILL").assert_success();
    t.wait_status(&id, "stopped");
    t.delete(&id).assert_success();
    assert!(
        host::cgroup_dirs(&b.cgroups_path).is_empty(),
        "cgroup left after delete"
    );
}

#[test]
fn kill_all_reaches_forked_processes() {
    let t = TestCtx::new("cg_killall");
    let mut b = t.bundle();
    // Without a PID namespace the init's death does not take its children along.
    b.remove_namespace("pid")
        .sh("sleep 1000 & echo $! > /tmp/bg; exec sleep 1000");
    let id = t.id();
    t.create(&b, &id).assert_success();
    let init = t.state_json(&id)["pid"].as_i64().unwrap() as i32;
    t.start(&id).assert_success();
    assert!(host::wait_until(Duration::from_secs(5), || {
        !t.read_rootfs(&b, "/tmp/bg").trim().is_empty()
    }));
    let bg: i32 = t.read_rootfs(&b, "/tmp/bg").trim().parse().unwrap();
    assert!(host::pid_alive(bg));
    t.rt(&["kill", "--all", &id, "KILL"]).assert_success();
    assert!(
        host::wait_until(Duration::from_secs(5), || {
            !host::pid_alive(bg) && !host::pid_alive(init)
        }),
        "kill --all left processes"
    );
    t.wait_status(&id, "stopped");
    t.delete(&id).assert_success();
    t.assert_nothing_left(&id, &b);
}

/// runc's `--systemd-cgroup` on a host without systemd (this CI machine): a clear error naming systemd, before
/// anything is made (no state, no cgroup). The driver itself is checked on a systemd host by `tests/v2vm`.
#[test]
fn systemd_cgroup_without_systemd_is_a_clear_error() {
    assert!(
        !std::path::Path::new("/run/systemd/system").exists(),
        "this test is for hosts without systemd; on systemd hosts the driver is checked by tests/v2vm/run.sh"
    );
    let t = TestCtx::new("cg_systemd");
    let mut b = t.bundle();
    b.set(
        "linux/cgroupsPath",
        gantry_tests::json!("system.slice:gantry-tests:nosystemd"),
    );
    b.write();
    let id = t.id();
    let bundle = b.dir.to_string_lossy().to_string();
    let o = t.rt(&["--systemd-cgroup", "create", "--bundle", &bundle, &id]);
    o.assert_failure().assert_error_mentions(&["systemd"]);
    t.state(&id).assert_failure();
    assert!(!std::path::Path::new(
        "/sys/fs/cgroup/unified/system.slice/gantry-tests-nosystemd.scope"
    )
    .exists());
}
