//! `pause` / `resume`: the cgroup freezer stops every process of the container; `state` says `paused`.
//! Spec: runtime.md "State" (status values); the verbs follow runc's CLI.

use gantry_tests::{host, known_deviation, TestCtx};
use std::time::Duration;

fn counter(t: &TestCtx) -> (gantry_tests::Bundle, String) {
    let mut b = t.bundle();
    b.sh("i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.01; done");
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    (b, id)
}

/// `verb` fails on a container in the wrong state, naming its status `status`.
#[track_caller]
fn wrong_state(t: &TestCtx, verb: &str, id: &str, status: &str) {
    let o = t.rt(&[verb, id]);
    o.assert_failure();
    known_deviation(
        "runc",
        "the error says only \"container not running\"",
        || {
            o.assert_error_mentions(&[status]);
        },
    );
}

#[test]
fn a_paused_container_makes_no_progress_and_resumes() {
    let t = TestCtx::new("pause");
    let (b, id) = counter(&t);
    let count = || -> u64 { t.read_rootfs(&b, "/tmp/count").trim().parse().unwrap_or(0) };
    assert!(host::wait_until(Duration::from_secs(5), || count() > 3));
    t.rt(&["pause", &id]).assert_success();
    assert_eq!(t.status(&id).as_deref(), Some("paused"));
    let before = count();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(count(), before, "a frozen process must not advance");
    wrong_state(&t, "pause", &id, "paused");
    t.rt(&["resume", &id]).assert_success();
    assert_eq!(t.status(&id).as_deref(), Some("running"));
    assert!(
        host::wait_until(Duration::from_secs(5), || count() > before + 3),
        "no progress after resume"
    );
    wrong_state(&t, "resume", &id, "running");
}

#[test]
fn a_paused_container_can_be_killed_and_deleted() {
    let t = TestCtx::new("pause_del");
    let (b, id) = counter(&t);
    t.rt(&["pause", &id]).assert_success();
    t.rt(&["delete", "--force", &id]).assert_success();
    t.assert_nothing_left(&id, &b);
}

#[test]
fn pausing_a_stopped_container_is_a_clear_error() {
    let t = TestCtx::new("pause_stopped");
    let mut b = t.bundle();
    b.args(&["true"]);
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    assert!(host::wait_until(Duration::from_secs(5), || t
        .status(&id)
        .as_deref()
        == Some("stopped")));
    wrong_state(&t, "pause", &id, "stopped");
    wrong_state(&t, "resume", &id, "stopped");
}
