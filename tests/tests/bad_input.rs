//! Bad input is refused with a one-line error naming the problem, exit code 1, and
//! nothing left behind (no state dir, no cgroup, no process, no mount).
//! Spec: runtime.md "Errors", "Create" (MUST generate an error on invalid config and not
//! create the container); config.md "Specification version", "Root" (path); config-linux.md
//! "User namespace mappings"; bundle.md (config.json and root filesystem).

use gantry_tests::{json, known_deviation, Bundle, Output, TestCtx};

/// Runs `create` on the bundle as it is on disk (no rewrite of config.json).
fn create_raw(t: &TestCtx, b: &Bundle, id: &str) -> Output {
    t.rt(&["create", "--bundle", b.dir.to_str().unwrap(), id])
}

#[track_caller]
fn refused(t: &TestCtx, b: &Bundle, id: &str, o: &Output, words: &[&str]) {
    o.assert_code(1);
    assert_eq!(
        o.stderr.trim().lines().count(),
        1,
        "one-line error expected: {o}"
    );
    t.assert_nothing_left(id, b);
    o.assert_error_mentions(words);
}

#[test]
fn missing_config_json() {
    let t = TestCtx::new("bad_noconfig");
    let b = t.bundle();
    let id = t.id();
    let o = create_raw(&t, &b, &id);
    refused(&t, &b, &id, &o, &["config.json"]);
}

#[test]
fn config_json_is_not_json() {
    let t = TestCtx::new("bad_notjson");
    let b = t.bundle();
    std::fs::write(
        b.dir.join("config.json"),
        "{\"ociVersion\": \"1.0.2\", oops",
    )
    .unwrap();
    let id = t.id();
    let o = create_raw(&t, &b, &id);
    o.assert_code(1);
    t.assert_nothing_left(&id, &b);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{o}");
    known_deviation("runc", "the JSON error does not name config.json", || {
        o.assert_error_mentions(&["config.json"]);
    });
}

#[test]
fn unsupported_oci_version() {
    let t = TestCtx::new("bad_version");
    let mut b = t.bundle();
    b.set("ociVersion", json!("2.0.0")).args(&["true"]);
    let id = t.id();
    let o = t.create(&b, &id);
    known_deviation(
        "runc crun",
        "ociVersion 2.0.0 accepted (runc) / error does not name the field (crun)",
        || {
            refused(&t, &b, &id, &o, &["ociVersion"]);
        },
    );
}

#[test]
fn root_path_escaping_the_bundle() {
    let t = TestCtx::new("bad_rootesc");
    let mut b = t.bundle();
    // A valid rootfs exists at the target, so only the path itself is wrong.
    let outside = t.path("outside-rootfs");
    gantry_tests::rootfs::build(&outside);
    b.set("root/path", json!("../outside-rootfs"))
        .args(&["true"]);
    let id = t.id();
    let o = t.create(&b, &id);
    known_deviation(
        "runc crun",
        "a relative root.path may leave the bundle",
        || {
            refused(&t, &b, &id, &o, &["root.path"]);
        },
    );
}

#[test]
fn zero_size_uid_mapping() {
    let t = TestCtx::new("bad_mapzero");
    let mut b = t.bundle();
    b.namespace("user", None)
        .set(
            "linux/uidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 0}]),
        )
        .set(
            "linux/gidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        )
        .args(&["true"]);
    let id = t.id();
    let o = t.create(&b, &id);
    o.assert_failure();
    known_deviation(
        "runc crun",
        "the error does not name linux.uidMappings",
        || {
            refused(&t, &b, &id, &o, &["uidMappings"]);
        },
    );
    t.assert_nothing_left(&id, &b);
}

#[test]
fn negative_uid_mapping_size() {
    let t = TestCtx::new("bad_mapneg");
    let mut b = t.bundle();
    b.namespace("user", None)
        .set(
            "linux/uidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": -1}]),
        )
        .set(
            "linux/gidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        )
        .args(&["true"]);
    let id = t.id();
    let o = t.create(&b, &id);
    o.assert_failure();
    t.assert_nothing_left(&id, &b);
    known_deviation(
        "crun",
        "\"error loading config.json\" does not name the field",
        || {
            refused(&t, &b, &id, &o, &["uidMappings"]);
        },
    );
}

#[test]
fn bundle_without_rootfs() {
    let t = TestCtx::new("bad_norootfs");
    let mut b = t.bundle();
    b.args(&["true"]);
    std::fs::remove_dir_all(b.rootfs()).unwrap();
    let id = t.id();
    let o = t.create(&b, &id);
    refused(&t, &b, &id, &o, &["rootfs"]);
    assert!(
        !b.rootfs().exists(),
        "the runtime must not create the rootfs"
    );
}

#[test]
fn id_in_use_leaves_the_first_container_alone() {
    let t = TestCtx::new("bad_idinuse");
    let mut b1 = t.bundle();
    b1.args(&["sleep", "1000"]);
    let mut b2 = t.bundle();
    b2.args(&["sleep", "1000"]);
    let id = t.id();
    t.create(&b1, &id).assert_success();
    let o = t.create(&b2, &id);
    o.assert_code(1);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{o}");
    assert!(gantry_tests::host::cgroup_dirs(&b2.cgroups_path).is_empty());
    assert_eq!(t.status(&id).as_deref(), Some("created"));
}

#[test]
fn id_with_slash() {
    let t = TestCtx::new("bad_idslash");
    let mut b = t.bundle();
    b.args(&["true"]);
    let o = t.create(&b, "gt/../../escape");
    o.assert_code(1);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{o}");
    assert_eq!(std::fs::read_dir(&t.rt.root).unwrap().count(), 0);
    assert!(!t.dir.join("escape").exists());
    assert!(gantry_tests::host::cgroup_dirs(&b.cgroups_path).is_empty());
}

#[test]
fn unknown_namespace_type() {
    let t = TestCtx::new("bad_nstype");
    let mut b = t.bundle();
    b.namespace("bogus", None).args(&["true"]);
    let id = t.id();
    let o = t.create(&b, &id);
    refused(&t, &b, &id, &o, &["bogus"]);
}

#[test]
fn duplicate_rlimit_type() {
    let t = TestCtx::new("bad_duprlimit");
    let mut b = t.bundle();
    b.push(
        "process/rlimits",
        json!({"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100}),
    )
    .args(&["true"]);
    let id = t.id();
    let o = t.create(&b, &id);
    known_deviation("runc crun", "duplicate rlimit types are accepted", || {
        refused(&t, &b, &id, &o, &["rlimit"]);
    });
}

#[test]
fn duplicate_namespace_type() {
    let t = TestCtx::new("bad_dupns");
    let mut b = t.bundle();
    b.push("linux/namespaces", json!({"type": "ipc"}))
        .args(&["true"]);
    let id = t.id();
    let o = t.create(&b, &id);
    known_deviation("crun", "duplicate namespace types are accepted", || {
        refused(&t, &b, &id, &o, &["ipc"]);
    });
}

#[test]
fn namespace_path_of_the_wrong_type() {
    let t = TestCtx::new("bad_nspath");
    let mut b = t.bundle();
    b.namespace("network", Some("/proc/self/ns/uts"))
        .args(&["true"]);
    let id = t.id();
    let o = t.create(&b, &id);
    o.assert_failure();
    t.assert_nothing_left(&id, &b);
}

#[test]
fn namespace_path_that_does_not_exist() {
    let t = TestCtx::new("bad_nsmissing");
    let mut b = t.bundle();
    b.namespace("network", Some("/run/netns/gantry-no-such-netns"))
        .args(&["true"]);
    let id = t.id();
    let o = t.create(&b, &id);
    refused(&t, &b, &id, &o, &["gantry-no-such-netns"]);
}

#[test]
fn unknown_properties_are_ignored() {
    let t = TestCtx::new("bad_unknownprop");
    let mut b = t.bundle();
    b.set("org.gantry.unknown", json!({"x": 1}))
        .set("process/gantryUnknown", json!(true))
        .set("linux/gantryUnknown", json!([1, 2]))
        .sh("echo ok");
    assert_eq!(t.run_ok(&b), "ok\n");
}
