//! Membership on the real hybrid host: create, move a spawned `sleep`, freeze, kill, destroy — on the v1
//! hierarchies (with the unified mount, as the host really is) and on the unified mount alone as a v2 layout.

mod common;

use common::{proc_cgroup, require_real_host, Guard};
use gantry_cgroups::{Layout, Mode};
use std::path::PathBuf;

fn hybrid() -> Layout {
    let layout = Layout::detect().unwrap();
    assert_eq!(
        layout.mode(),
        Mode::Hybrid,
        "this host is documented as hybrid"
    );
    layout
}

fn v2() -> Layout {
    Layout::v2(PathBuf::from("/sys/fs/cgroup/unified"))
}

fn state_of(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat.rsplit(')')
        .next()
        .unwrap()
        .trim_start()
        .chars()
        .next()
        .unwrap()
}

#[test]
fn hybrid_create_add_freeze_kill_destroy() {
    require_real_host();
    let mut guard = Guard::new(&hybrid());
    let path = guard.cgroup.path().to_owned();
    let dirs: Vec<PathBuf> = guard.cgroup.dirs().map(PathBuf::from).collect();
    assert!(dirs.iter().all(|d| d.is_dir()));
    let pid = guard.spawn_inside("exec sleep 60");
    for key in ["memory", "freezer", "pids", "cpuset", "name=systemd", ""] {
        assert_eq!(proc_cgroup(pid, key), path, "hierarchy {key:?}");
    }
    // The new cpuset cgroup inherited cpus/mems, otherwise the move above would have failed with ENOSPC.
    assert_eq!(guard.cgroup.procs().unwrap(), vec![pid]);

    guard.cgroup.freeze().unwrap();
    assert!(guard.cgroup.is_frozen().unwrap());
    assert_eq!(
        std::fs::read_to_string(dirs_with(&dirs, "freezer").join("freezer.state"))
            .unwrap()
            .trim(),
        "FROZEN"
    );
    guard.cgroup.thaw().unwrap();
    assert!(!guard.cgroup.is_frozen().unwrap());

    guard.cgroup.kill_all(libc_sigkill()).unwrap();
    assert_eq!(guard.wait_signal(0), Some(9));
    guard.cgroup.destroy().unwrap();
    assert!(
        dirs.iter().all(|d| !d.exists()),
        "destroy removed every directory"
    );
}

#[test]
fn hybrid_kill_with_sigterm_freezes_signals_thaws() {
    require_real_host();
    let mut guard = Guard::new(&hybrid());
    guard.spawn_inside("exec sleep 60");
    guard.spawn_inside("exec sleep 61");
    guard.cgroup.kill_all(15).unwrap();
    assert_eq!(guard.wait_signal(0), Some(15));
    assert_eq!(guard.wait_signal(1), Some(15));
    assert!(
        !guard.cgroup.is_frozen().unwrap(),
        "thawed again after signalling"
    );
}

#[test]
fn v2_on_the_unified_mount() {
    require_real_host();
    let mut guard = Guard::new(&v2());
    let dir = guard.cgroup.unified_dir().unwrap().to_owned();
    assert!(dir
        .to_str()
        .unwrap()
        .starts_with("/sys/fs/cgroup/unified/gantry-cgtest-"));
    let pid = guard.spawn_inside("exec sleep 60");
    assert_eq!(proc_cgroup(pid, ""), guard.cgroup.path());
    assert_eq!(guard.cgroup.procs().unwrap(), vec![pid]);

    guard.cgroup.freeze().unwrap();
    assert!(guard.cgroup.is_frozen().unwrap());
    // A frozen v2 task sleeps in the freezer (state S); it must not have exited.
    assert_ne!(state_of(pid), 'Z');
    guard.cgroup.thaw().unwrap();
    assert!(!guard.cgroup.is_frozen().unwrap());

    guard.cgroup.kill_all(9).unwrap(); // through cgroup.kill
    assert_eq!(guard.wait_signal(0), Some(9));
    guard.cgroup.destroy().unwrap();
    assert!(!dir.exists());
}

#[test]
fn v2_kill_reaches_sub_cgroups_and_forked_children() {
    require_real_host();
    let mut guard = Guard::new(&v2());
    guard.spawn_inside("sleep 60 & sleep 61 & wait");
    let sub = guard.cgroup.unified_dir().unwrap().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let child = std::process::Command::new("sleep")
        .arg("62")
        .spawn()
        .unwrap();
    std::fs::write(sub.join("cgroup.procs"), child.id().to_string()).unwrap();
    guard.children.push(child);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        guard.cgroup.procs().unwrap().len(),
        4,
        "sh, two sleeps, and the one in sub"
    );
    guard.cgroup.kill_all(15).unwrap();
    assert_eq!(guard.wait_signal(0), Some(15));
    assert_eq!(guard.wait_signal(1), Some(15));
    guard.cgroup.destroy().unwrap(); // removes sub first
    assert!(!sub.exists());
}

#[test]
fn destroy_waits_for_exiting_processes() {
    require_real_host();
    let mut guard = Guard::new(&hybrid());
    guard.spawn_inside("sleep 60 & exec sleep 61");
    assert_eq!(guard.wait_for_procs(2), 2);
    guard.cgroup.kill_all(9).unwrap();
    // Our child is reaped only 100 ms later; a v1 cgroup stays busy until then, so destroy must retry.
    let mut child = guard.children.remove(0);
    let reaper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        child.wait().unwrap()
    });
    guard.cgroup.destroy().unwrap();
    assert!(guard.cgroup.dirs().all(|d| !d.exists()));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&reaper.join().unwrap()),
        Some(9)
    );
}

fn dirs_with(dirs: &[PathBuf], controller: &str) -> PathBuf {
    dirs.iter()
        .find(|d| d.starts_with(format!("/sys/fs/cgroup/{controller}")))
        .unwrap()
        .clone()
}

fn libc_sigkill() -> i32 {
    9
}

#[test]
fn systemd_driver_matches_the_host() {
    let systemd = std::path::Path::new("/run/systemd/system").is_dir();
    match gantry_cgroups::systemd_driver() {
        Ok(()) => assert!(systemd, "driver accepted without systemd"),
        Err(err) => {
            assert!(!systemd, "driver refused with systemd: {err}");
            assert!(err.to_string().starts_with(
                "systemd cgroup driver requested but systemd is not running (no /run/systemd/system)"
            ));
        }
    }
}

#[test]
fn v1_only_layout_on_the_real_hierarchies() {
    require_real_host();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let v1_only: String = mountinfo
        .lines()
        .filter(|l| !l.contains(" - cgroup2 "))
        .map(|l| format!("{l}\n"))
        .collect();
    let layout = Layout::from_mountinfo(&v1_only).unwrap();
    assert_eq!(layout.mode(), Mode::V1);
    let mut guard = Guard::new(&layout);
    assert!(guard.cgroup.unified_dir().is_none());
    let pid = guard.spawn_inside("exec sleep 60");
    assert_eq!(proc_cgroup(pid, "memory"), guard.cgroup.path());
    assert_eq!(
        proc_cgroup(pid, ""),
        "/",
        "a v1 layout leaves the unified hierarchy alone"
    );
    guard.cgroup.kill_all(9).unwrap(); // no cgroup.kill: freeze, signal, thaw
    assert_eq!(guard.wait_signal(0), Some(9));
    guard.cgroup.destroy().unwrap();
}

#[test]
fn default_path_is_under_gantry_at_the_hierarchy_roots() {
    require_real_host();
    let id = common::unique_path()[1..].to_owned();
    let cgroup = gantry_cgroups::Cgroup::resolve(&hybrid(), None, &id).unwrap();
    assert_eq!(cgroup.path(), format!("/gantry/{id}"));
    assert_eq!(
        cgroup.v1_dir("memory").unwrap(),
        PathBuf::from(format!("/sys/fs/cgroup/memory/gantry/{id}"))
    );
    let guard = Guard {
        cgroup,
        children: Vec::new(),
    };
    guard.cgroup.create().unwrap();
    assert!(guard.cgroup.dirs().all(|d| d.is_dir()));
}

/// A frozen cgroup's processes make no progress; thawed, they resume.
fn check_freeze_stops_progress(layout: &Layout) {
    let tmp = tempfile::tempdir().unwrap();
    let ticks = tmp.path().join("ticks");
    let mut guard = Guard::new(layout);
    guard.spawn_inside(&format!(
        "while :; do echo t >> {}; sleep 0.01; done",
        ticks.display()
    ));
    let size = || std::fs::metadata(&ticks).map(|m| m.len()).unwrap_or(0);
    let wait = |ms| std::thread::sleep(std::time::Duration::from_millis(ms));
    wait(100);
    guard.cgroup.freeze().unwrap();
    let frozen_at = size();
    wait(300);
    assert_eq!(size(), frozen_at, "no progress while frozen");
    guard.cgroup.thaw().unwrap();
    wait(300);
    assert!(size() > frozen_at, "progress after thaw");
}

#[test]
fn v1_freezer_stops_progress() {
    require_real_host();
    check_freeze_stops_progress(&hybrid());
}

#[test]
fn v2_freeze_stops_progress() {
    require_real_host();
    check_freeze_stops_progress(&v2());
}
