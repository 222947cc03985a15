//! runtime-spec 1.3: what it adds that runc 1.4 implements, checked through the runtime's CLI.
//! - features.md / features-linux.md: `ociVersionMax`, `linux.memoryPolicy`, `linux.intelRdt.schemata` and
//!   `.monitoring`, `linux.netDevices`;
//! - config.md "Specification version": a 1.3.x bundle runs;
//! - config-linux.md "PIDs" (#1279): `limit` is optional and 0 is a real limit (runc 1.4 "Breaking").

use gantry_tests::{json, known_deviation, TestCtx};

#[test]
fn features_report_runtime_spec_1_3() {
    let t = TestCtx::new("features13");
    let o = t.rt(&["features"]);
    known_deviation(
        "runc crun",
        "runc 1.1.5 reports ociVersionMax 1.1.0-rc.1 and no 1.3 fields; crun 1.8.1 has no features command",
        || {
            o.assert_success();
            let v = o.json();
            assert_eq!(v["ociVersionMax"], "1.3.0", "{v}");
            let l = &v["linux"];
            let modes = l["memoryPolicy"]["modes"]
                .as_array()
                .unwrap_or_else(|| panic!("linux.memoryPolicy.modes missing: {v}"));
            for m in [
                "MPOL_DEFAULT",
                "MPOL_BIND",
                "MPOL_INTERLEAVE",
                "MPOL_WEIGHTED_INTERLEAVE",
                "MPOL_PREFERRED",
                "MPOL_PREFERRED_MANY",
                "MPOL_LOCAL",
            ] {
                assert!(modes.iter().any(|x| x == m), "mode {m} missing: {v}");
            }
            let flags = l["memoryPolicy"]["flags"].as_array().expect("flags");
            assert_eq!(flags.len(), 3, "{v}");
            assert_eq!(l["netDevices"]["enabled"], true, "{v}");
            // Intel RDT is not implemented, so neither are 1.3's schemata and enableMonitoring: all say so.
            assert_eq!(
                l["intelRdt"],
                json!({"enabled": false, "schemata": false, "monitoring": false}),
                "{v}"
            );
        },
    );
}

/// config.md "Specification version": a bundle declaring 1.3.0 is accepted and runs.
#[test]
fn bundle_declaring_1_3_0_runs() {
    let t = TestCtx::new("oci130");
    let mut b = t.bundle();
    b.set("ociVersion", json!("1.3.0"))
        .args(&["echo", "ran-1.3"]);
    assert_eq!(t.run_ok(&b).trim(), "ran-1.3");
}

/// config-linux.md "PIDs" (1.3): a present `limit` of 0 allows no new task, so the container's shell cannot fork;
/// a `pids` object without `limit` changes nothing.
#[test]
fn pids_limit_zero_refuses_every_fork_and_absent_limit_changes_nothing() {
    let t = TestCtx::new("pids0");
    let script = "/bin/true && echo forked";
    let mut b = t.bundle();
    b.set("ociVersion", json!("1.3.0"))
        .set("linux/resources/pids", json!({"limit": 0}))
        .sh(script);
    let o = t.run(&b);
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 predate runtime-spec 1.3 and leave pids.max alone for a limit of 0",
        || {
            // busybox sh gives up on the script (status 2) when the fork for /bin/true is refused.
            assert!(o.stderr.contains("can't fork"), "{o}");
            assert_eq!(o.stdout.trim(), "", "{o}");
        },
    );
    let mut b = t.bundle();
    b.set("ociVersion", json!("1.3.0"))
        .set("linux/resources/pids", json!({}))
        .sh(script);
    assert_eq!(t.run_ok(&b).trim(), "forked");
}
