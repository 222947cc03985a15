//! `ps`: the container's processes — `--format json` lists their host PIDs; the table is the host's `ps`
//! output filtered to them.

use gantry_tests::{host, TestCtx};
use std::time::Duration;

#[test]
fn ps_lists_exactly_the_containers_processes() {
    let t = TestCtx::new("ps");
    let mut b = t.bundle();
    b.sh("sleep 1001 & exec sleep 1000");
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    assert!(host::wait_until(
        Duration::from_secs(5),
        || host::pids_in_cgroup(&b.cgroups_path).len() == 2
    ));
    let o = t.rt(&["ps", "--format", "json", &id]);
    o.assert_success();
    let mut pids: Vec<i64> = o
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_i64().unwrap())
        .collect();
    pids.sort();
    let mut want: Vec<i64> = host::pids_in_cgroup(&b.cgroups_path)
        .iter()
        .map(|p| *p as i64)
        .collect();
    want.sort();
    assert_eq!(pids, want);

    let o = t.rt(&["ps", &id]);
    o.assert_success();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines[0].contains("PID"), "{o}");
    assert_eq!(lines.len(), 3, "header + 2 processes: {o}");
    assert!(
        o.stdout.contains("sleep 1000") && o.stdout.contains("sleep 1001"),
        "{o}"
    );

    let o = t.rt(&["ps", &id, "-o", "pid,comm"]);
    o.assert_success();
    assert_eq!(o.stdout.lines().count(), 3, "{o}");
    t.rt(&["ps", &id, "-o", "comm"])
        .assert_failure()
        .assert_error_mentions(&["PID"]);
}
