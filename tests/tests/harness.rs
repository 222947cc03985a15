//! The harness itself: the cleanup guard removes a running container, its cgroups and its
//! processes even when the test panics.
//! Spec: none (test infrastructure); protects every other test file's cleanup promise.

use gantry_tests::{host, TestCtx};
use std::time::Duration;

#[test]
fn cleanup_guard_removes_everything_when_a_test_panics() {
    let mut seen = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let t = TestCtx::new("harness_panic");
        let mut b = t.bundle();
        b.sh("sleep 1000 & exec sleep 1000");
        let id = t.id();
        t.create(&b, &id).assert_success();
        t.start(&id).assert_success();
        let pid = t.state_json(&id)["pid"].as_i64().unwrap() as i32;
        assert!(!host::cgroup_dirs(&b.cgroups_path).is_empty());
        seen = Some((t.dir.clone(), b.cgroups_path.clone(), pid));
        panic!("deliberate panic to exercise the cleanup guard");
    }));
    assert!(result.is_err());
    let (dir, cgroups_path, pid) = seen.expect("the test body ran");
    assert!(
        host::wait_until(Duration::from_secs(5), || !host::pid_alive(pid)),
        "container init survived"
    );
    assert!(
        host::pids_in_cgroup(&cgroups_path).is_empty(),
        "processes survived"
    );
    assert!(
        host::cgroup_dirs(&cgroups_path).is_empty(),
        "cgroup dirs survived"
    );
    assert!(host::mounts_under(&dir).is_empty(), "mounts survived");
    assert!(!dir.exists(), "temp dir survived");
}
