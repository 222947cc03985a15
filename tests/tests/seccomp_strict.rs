//! Strict seccomp profiles: a profile need not allow the syscalls the runtime itself makes after loading it. The
//! runtime marks its descriptors close-on-exec (`close_range`) before loading the filter, so a profile that denies
//! `close_range` (or a kernel older than 5.11, where it is missing) still runs every container, in `create` and in
//! `exec`, and nothing of the runtime leaks into the container.
//! Spec: config-linux.md "Seccomp"; runtime.md "Create" (the environment MUST be created as configured).

use gantry_tests::{json, Bundle, TestCtx, Value};

/// A profile that allows everything but `close_range`, which fails with `errno`.
fn profile_denying_close_range(errno: u32) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]
    })
}

fn confined(t: &TestCtx, errno: u32, nnp: bool) -> Bundle {
    let mut b = t.bundle();
    b.set("/linux/seccomp", profile_denying_close_range(errno));
    b.no_new_privileges(nnp);
    b
}

/// What the container sees: its seccomp mode and its descriptors (`ls` adds its own directory fd, 3).
const PROBE: &str = "grep '^Seccomp:' /proc/self/status; ls /proc/self/fd | tr '\\n' ' '";

#[track_caller]
fn assert_confined_without_leaks(out: &str) {
    assert!(out.contains("Seccomp:\t2"), "filter not loaded: {out}");
    assert!(
        out.lines().any(|l| l.trim() == "0 1 2 3"),
        "descriptors leaked into the container: {out}"
    );
}

#[test]
fn profile_denying_close_range_runs_with_and_without_no_new_privileges() {
    let t = TestCtx::new("seccomp_closerange");
    // EPERM (a profile's usual errno) and ENOSYS (what an older kernel says); the filter loads late with
    // noNewPrivileges and early without it.
    for (errno, nnp) in [(1, true), (1, false), (38, true)] {
        let mut b = confined(&t, errno, nnp);
        b.sh(PROBE);
        let out = t.run_ok(&b);
        assert_confined_without_leaks(&out);
    }
}

#[test]
fn exec_with_profile_denying_close_range() {
    let t = TestCtx::new("seccomp_closerange_exec");
    let mut b = confined(&t, 1, true);
    b.args(&["sleep", "1000"]);
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    let o = t.rt(&["exec", &id, "sh", "-c", PROBE]);
    o.assert_success();
    assert_confined_without_leaks(&o.stdout);
    t.rt(&["delete", "--force", &id]).assert_success();
    t.assert_nothing_left(&id, &b);
}
