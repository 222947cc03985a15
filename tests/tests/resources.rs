//! config-linux.md "Control groups": resource limits observed from inside a real container — the device cgroup
//! refusing a node the rules do not allow (and allowing it once a rule does), and a memory limit killing a hog.

use gantry_tests::{json, TestCtx};

/// A node for /dev/fuse (10:229), made inside the container with mknod (the default rules allow mknod of any
/// device: only access is controlled). Opening it needs no capability, so only the device cgroup decides. (Not
/// /dev/net/tun: runc 1.1 allows that one by default.)
fn tun_bundle(t: &TestCtx, allow: bool) -> gantry_tests::Bundle {
    let mut b = t.bundle();
    let mut rules = vec![json!({"allow": false, "access": "rwm"})];
    if allow {
        rules.push(json!({"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}));
    }
    for set in ["bounding", "effective", "permitted"] {
        b.push(&format!("process/capabilities/{set}"), json!("CAP_MKNOD"));
    }
    b.set("linux/resources/devices", json!(rules)).sh(
        "mknod /tmp/fuse c 10 229 || echo mknod-failed; (exec 3<>/tmp/fuse) && echo opened; \
         echo x > /dev/null && echo null-ok",
    );
    b
}

#[test]
fn the_device_cgroup_refuses_a_device_no_rule_allows() {
    let t = TestCtx::new("res_devdeny");
    let b = tun_bundle(&t, false);
    let o = t.run(&b);
    assert!(!o.stdout.contains("mknod-failed"), "{o:?}");
    assert!(
        !o.stdout.contains("opened"),
        "a denied device could be opened: {o:?}"
    );
    assert!(
        o.stderr.contains("Operation not permitted"),
        "expected EPERM from the device cgroup: {o:?}"
    );
    assert!(
        o.stdout.contains("null-ok"),
        "default devices stay usable: {o:?}"
    );
}

#[test]
fn the_device_cgroup_allows_a_device_a_rule_allows() {
    let t = TestCtx::new("res_devallow");
    let b = tun_bundle(&t, true);
    let out = t.run_ok(&b);
    assert!(
        out.contains("opened") && !out.contains("mknod-failed"),
        "{out}"
    );
}

#[test]
fn a_memory_limit_kills_a_hog() {
    let t = TestCtx::new("res_memhog");
    let mut b = t.bundle();
    b.set(
        "linux/resources/memory",
        json!({"limit": 32 * 1024 * 1024, "swap": 32 * 1024 * 1024}),
    )
    .args(&["tail", "/dev/zero"]);
    let o = t.run(&b);
    assert_eq!(
        o.code,
        Some(137),
        "the hog must be OOM-killed (SIGKILL → 137): {o:?}"
    );
}
