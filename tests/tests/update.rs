//! `update`: new limits on a live container, from `--resources` JSON or runc's per-field flags, visible in the
//! cgroup files and taking effect inside.
//! Spec: config-linux.md "Control groups" (the resources schema); the verb follows runc's CLI.

use gantry_tests::{host, known_deviation, TestCtx};
use std::path::PathBuf;

fn memory_file(cgroups_path: &str, v1: &str) -> PathBuf {
    let v1_path = PathBuf::from(format!("/sys/fs/cgroup/memory{cgroups_path}/{v1}"));
    if v1_path.exists() {
        v1_path
    } else {
        PathBuf::from(format!("/sys/fs/cgroup{cgroups_path}/memory.max"))
    }
}

fn running(t: &TestCtx) -> (gantry_tests::Bundle, String) {
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    (b, id)
}

#[test]
fn update_memory_flag_changes_the_live_limit() {
    let t = TestCtx::new("upd_mem");
    let (b, id) = running(&t);
    t.rt(&["update", "--memory", "64m", &id]).assert_success();
    let f = memory_file(&b.cgroups_path, "memory.limit_in_bytes");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap().trim(),
        (64u64 << 20).to_string()
    );
}

#[test]
fn update_resources_json_sets_pids_limit_that_refuses_forks() {
    let t = TestCtx::new("upd_pids");
    let (b, id) = running(&t);
    let r = t.path("resources.json");
    std::fs::write(
        &r,
        r#"{"pids": {"limit": 3}, "memory": {"limit": 100663296}}"#,
    )
    .unwrap();
    t.rt(&["update", "--resources", r.to_str().unwrap(), &id])
        .assert_success();
    let pids_max = PathBuf::from(format!("/sys/fs/cgroup/pids{}/pids.max", b.cgroups_path));
    assert_eq!(std::fs::read_to_string(pids_max).unwrap().trim(), "3");
    let f = memory_file(&b.cgroups_path, "memory.limit_in_bytes");
    assert_eq!(std::fs::read_to_string(&f).unwrap().trim(), "100663296");
    // Inside: init + exec'd sh + 1 child = 3; a fourth process is refused.
    let o = t.rt(&["exec", &id, "sh", "-c", "sleep 5 & sleep 5 & wait"]);
    assert!(
        o.stderr.to_lowercase().contains("fork"),
        "pids.max=3 must refuse the fourth process: {o}"
    );
    assert!(host::pids_in_cgroup(&b.cgroups_path).len() <= 3);
}

#[test]
fn update_from_stdin_and_bad_input() {
    let t = TestCtx::new("upd_stdin");
    let (b, id) = running(&t);
    let r = t.path("res.json");
    std::fs::write(&r, r#"{"memory": {"limit": 50331648}}"#).unwrap();
    let opts = gantry_tests::RunOpts {
        stdin: Some(r.clone()),
        ..Default::default()
    };
    t.rt_with(&["update", "-r", "-", &id], &opts)
        .assert_success();
    let f = memory_file(&b.cgroups_path, "memory.limit_in_bytes");
    assert_eq!(std::fs::read_to_string(&f).unwrap().trim(), "50331648");
    std::fs::write(&r, "{not json").unwrap();
    let o = t.rt(&["update", "-r", r.to_str().unwrap(), &id]);
    o.assert_failure();
    known_deviation("runc", "the JSON error does not name --resources", || {
        o.assert_error_mentions(&["--resources"]);
    });
    known_deviation(
        "runc",
        "update without any limit succeeds as a no-op",
        || {
            t.rt(&["update", &id])
                .assert_failure()
                .assert_error_mentions(&["nothing to change"]);
        },
    );
    t.rt(&["update", "--memory", "1m", "no-such-container"])
        .assert_failure();
}
