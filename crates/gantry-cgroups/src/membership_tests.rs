//! Unit tests of resolve / create / add_process / procs / freeze / destroy on fake cgroupfs trees.

use crate::testutil::{get, put, Fake};
use crate::{Cgroup, CgroupError, Layout, Mode};
use std::path::Path;

#[test]
fn resolve_hybrid_puts_path_in_every_hierarchy() {
    let layout = Layout::v1("/cg".into(), &["cpu,cpuacct", "memory", "name=systemd"])
        .with_unified("/cg/unified".into());
    let cg = Cgroup::resolve(&layout, Some("/a/b"), "id").unwrap();
    let dirs: Vec<&Path> = cg.dirs().collect();
    assert_eq!(
        dirs,
        [
            Path::new("/cg/cpu,cpuacct/a/b"),
            Path::new("/cg/memory/a/b"),
            Path::new("/cg/systemd/a/b"),
            Path::new("/cg/unified/a/b")
        ]
    );
    assert_eq!(cg.mode(), Mode::Hybrid);
    assert_eq!(cg.v1_dir("cpuacct"), Some(Path::new("/cg/cpu,cpuacct/a/b")));
    assert_eq!(
        cg.v1_dir("name=systemd"),
        Some(Path::new("/cg/systemd/a/b"))
    );
    assert_eq!(cg.unified_dir(), Some(Path::new("/cg/unified/a/b")));
}

#[test]
fn resolve_default_is_under_gantry_not_the_callers_cgroup() {
    let cg = Cgroup::resolve(&Layout::v2("/cg".into()), None, "abc").unwrap();
    assert_eq!(cg.path(), "/gantry/abc");
    assert_eq!(cg.unified_dir(), Some(Path::new("/cg/gantry/abc")));
    let rel = Cgroup::resolve(&Layout::v2("/cg".into()), Some("pod/x"), "abc").unwrap();
    assert_eq!(rel.unified_dir(), Some(Path::new("/cg/gantry/pod/x")));
}

#[test]
fn serde_round_trip_keeps_what_create_made() {
    let fake = Fake::v1(&["memory", "pids"]);
    let json = serde_json::to_string(&fake.cgroup).unwrap();
    let back: Cgroup = serde_json::from_str(&json).unwrap();
    assert_eq!(back, fake.cgroup);
    back.destroy().unwrap();
    assert!(
        !fake.root.join("memory/test").exists(),
        "destroy after a round trip removes what create made"
    );
}

#[test]
fn create_records_and_destroy_removes_only_created_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::v2(tmp.path().to_owned());
    std::fs::create_dir_all(tmp.path().join("keep")).unwrap();
    let cg = Cgroup::resolve(&layout, Some("/keep/a/b"), "x").unwrap();
    cg.create().unwrap();
    assert!(tmp.path().join("keep/a/b").is_dir());
    cg.create().unwrap(); // idempotent, does not forget what the first call made
    cg.destroy().unwrap();
    assert!(!tmp.path().join("keep/a").exists());
    assert!(
        tmp.path().join("keep").is_dir(),
        "pre-existing parent must survive"
    );
    cg.destroy().unwrap(); // idempotent
}

#[test]
fn destroy_leaves_preexisting_leaf_and_busy_parent() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::v2(tmp.path().to_owned());
    std::fs::create_dir_all(tmp.path().join("pre/leaf")).unwrap();
    let pre = Cgroup::resolve(&layout, Some("/pre/leaf"), "x").unwrap();
    pre.create().unwrap();
    pre.destroy().unwrap();
    assert!(tmp.path().join("pre/leaf").is_dir());

    let one = Cgroup::resolve(&layout, Some("/shared/one"), "x").unwrap();
    let two = Cgroup::resolve(&layout, Some("/shared/two"), "x").unwrap();
    one.create().unwrap();
    two.create().unwrap();
    one.destroy().unwrap();
    assert!(
        tmp.path().join("shared/two").is_dir(),
        "a sibling keeps the shared parent"
    );
    two.destroy().unwrap();
    assert!(!tmp.path().join("shared/two").exists());
    assert!(
        tmp.path().join("shared").is_dir(),
        "two did not make /shared, so it does not remove it"
    );
}

#[test]
fn destroy_removes_sub_cgroups_first() {
    let tmp = tempfile::tempdir().unwrap();
    let cg = Cgroup::resolve(&Layout::v2(tmp.path().to_owned()), Some("/c"), "x").unwrap();
    cg.create().unwrap();
    std::fs::create_dir_all(tmp.path().join("c/sub/deeper")).unwrap();
    cg.destroy().unwrap();
    assert!(!tmp.path().join("c").exists());
}

#[test]
fn create_fails_on_a_cpuset_dir_without_files() {
    // On a fake tree mkdir makes no cpuset.cpus; create must report the file it could not fill.
    let tmp = tempfile::tempdir().unwrap();
    put(&tmp.path().join("cpuset"), "cpuset.cpus", "0-1");
    let cg = Cgroup::resolve(
        &Layout::v1(tmp.path().to_owned(), &["cpuset"]),
        Some("/x"),
        "x",
    )
    .unwrap();
    let err = cg.create().unwrap_err();
    assert!(
        matches!(&err, CgroupError::Io { op: "write", path, .. } if path.ends_with("cpuset/x/cpuset.cpus")),
        "{err}"
    );
    assert!(
        !tmp.path().join("cpuset/x").exists(),
        "a failed create removes what it made"
    );
}

#[test]
fn add_process_writes_every_hierarchy_and_procs_reads_recursively() {
    let fake = Fake::hybrid(&["memory", "freezer", "name=systemd"]);
    for mount in ["memory", "freezer", "systemd", "unified"] {
        put(&fake.dir(mount), "cgroup.procs", "");
    }
    fake.cgroup.add_process(4242).unwrap();
    for mount in ["memory", "freezer", "systemd", "unified"] {
        assert_eq!(get(&fake.dir(mount), "cgroup.procs"), "4242", "{mount}");
    }
    put(&fake.dir("freezer"), "cgroup.procs", "1\n2\n");
    put(&fake.dir("freezer").join("sub"), "cgroup.procs", "3\n");
    let mut pids = fake.cgroup.procs().unwrap();
    pids.sort();
    assert_eq!(pids, [1, 2, 3]);
}

#[test]
fn add_process_names_the_file_on_error() {
    let fake = Fake::v1(&["memory"]);
    let err = fake.cgroup.add_process(1).unwrap_err();
    assert!(
        matches!(&err, CgroupError::Io { op: "write", path, .. } if path.ends_with("memory/test/ctr/cgroup.procs")),
        "{err}"
    );
}

#[test]
fn freeze_v1_writes_state_and_reads_it_back() {
    let fake = Fake::v1(&["freezer"]);
    put(&fake.dir("freezer"), "freezer.state", "THAWED\n");
    fake.cgroup.freeze().unwrap();
    assert_eq!(get(&fake.dir("freezer"), "freezer.state"), "FROZEN");
    assert!(fake.cgroup.is_frozen().unwrap());
    fake.cgroup.thaw().unwrap();
    assert!(!fake.cgroup.is_frozen().unwrap());
}

#[test]
fn kill_all_leaves_an_empty_v1_cgroup_unfrozen() {
    let fake = Fake::v1(&["freezer"]);
    put(&fake.dir("freezer"), "freezer.state", "");
    put(&fake.dir("freezer"), "cgroup.procs", "");
    fake.cgroup.kill_all(9).unwrap();
    assert_eq!(
        get(&fake.dir("freezer"), "freezer.state"),
        "",
        "an empty cgroup was frozen"
    );
    // With a process listed (one that no longer exists: ESRCH is not an error): freeze, signal, thaw.
    put(&fake.dir("freezer"), "cgroup.procs", "2147483000\n");
    fake.cgroup.kill_all(9).unwrap();
    assert_eq!(get(&fake.dir("freezer"), "freezer.state"), "THAWED");
}

#[test]
fn freeze_v2_waits_for_events_frozen() {
    let fake = Fake::v2();
    put(&fake.dir(""), "cgroup.freeze", "0\n");
    put(&fake.dir(""), "cgroup.events", "populated 1\nfrozen 1\n");
    fake.cgroup.freeze().unwrap();
    assert_eq!(get(&fake.dir(""), "cgroup.freeze"), "1");
    assert!(fake.cgroup.is_frozen().unwrap());
}

#[test]
fn freeze_without_freezer_on_v1_names_the_controller() {
    let fake = Fake::v1(&["memory"]);
    assert!(matches!(
        fake.cgroup.freeze(),
        Err(CgroupError::MissingController {
            controller: "freezer",
            ..
        })
    ));
}

#[test]
fn kill_all_refuses_unnamed_signals() {
    let fake = Fake::v2();
    assert!(matches!(
        fake.cgroup.kill_all(40),
        Err(CgroupError::UnsupportedSignal(40))
    ));
}

#[test]
fn kill_all_uses_cgroup_kill_for_sigkill_on_v2() {
    let fake = Fake::v2();
    put(&fake.dir(""), "cgroup.kill", "");
    fake.cgroup.kill_all(9).unwrap();
    assert_eq!(get(&fake.dir(""), "cgroup.kill"), "1");
}

#[test]
fn v2_create_delegates_root_controllers_to_intermediate_dirs_only() {
    let tmp = tempfile::tempdir().unwrap();
    put(tmp.path(), "cgroup.subtree_control", "cpu memory pids\n");
    put(&tmp.path().join("a"), "cgroup.subtree_control", "");
    put(&tmp.path().join("a/b"), "cgroup.subtree_control", "");
    put(&tmp.path().join("a/b/c"), "cgroup.subtree_control", "");
    let cg = Cgroup::resolve(&Layout::v2(tmp.path().to_owned()), Some("/a/b/c"), "x").unwrap();
    cg.create().unwrap();
    assert_eq!(
        get(&tmp.path().join("a"), "cgroup.subtree_control"),
        "+cpu +memory +pids"
    );
    assert_eq!(
        get(&tmp.path().join("a/b"), "cgroup.subtree_control"),
        "+cpu +memory +pids"
    );
    assert_eq!(
        get(&tmp.path().join("a/b/c"), "cgroup.subtree_control"),
        "",
        "the leaf must stay a leaf"
    );
    assert_eq!(
        get(tmp.path(), "cgroup.subtree_control"),
        "cpu memory pids",
        "the root is not written"
    );
}

#[test]
fn state_json_is_readable_and_stable() {
    let layout = Layout::v1("/cg".into(), &["memory"]).with_unified("/cg/unified".into());
    let cg = Cgroup::resolve(&layout, Some("/x"), "id").unwrap();
    let json = serde_json::to_string(&cg).unwrap();
    assert_eq!(
        json,
        r#"{"mode":"hybrid","path":"/x","v1":[{"controllers":["memory"],"dir":{"root":"/cg/memory","path":"/cg/memory/x","created_from":4294967295}}],"unified":{"root":"/cg/unified","path":"/cg/unified/x","created_from":4294967295}}"#
    );
}

#[test]
fn resolve_path_refuses_non_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let layout = Layout::v2("/cg".into());
    let bad = Path::new(std::ffi::OsStr::from_bytes(b"/a\xff"));
    let err = Cgroup::resolve_path(&layout, Some(bad), "x").unwrap_err();
    assert!(
        matches!(
            err,
            CgroupError::InvalidPath {
                field: "linux.cgroupsPath",
                ..
            }
        ),
        "{err}"
    );
    let ok = Cgroup::resolve_path(&layout, Some(Path::new("/a")), "x").unwrap();
    assert_eq!(ok.path(), "/a");
}
