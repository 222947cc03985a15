//! The state root (`--root`) on another filesystem than the bundle: podman's and containerd's layout on systemd
//! hosts (bundle on disk, state on the tmpfs `/run`). Every verb must work across the two filesystems.
//! Spec: runtime.md "Operations" (create, state, start, kill, delete); runc's `--root`.

use gantry_tests::{host, TestCtx};
use rustix::mount::{mount, unmount, MountFlags, UnmountFlags};

/// Mounts a private tmpfs over the test's (still empty) state root; unmounted at cleanup, or here on drop.
struct TmpfsRoot(std::path::PathBuf);

impl TmpfsRoot {
    fn mount(t: &TestCtx) -> TmpfsRoot {
        let root = t.rt.root.clone();
        assert!(
            std::fs::read_dir(&root).unwrap().next().is_none(),
            "state root not empty"
        );
        mount(
            "tmpfs",
            &root,
            "tmpfs",
            MountFlags::empty(),
            c"mode=0700,size=16m",
        )
        .expect("mount a tmpfs over the state root");
        TmpfsRoot(root)
    }
}

impl Drop for TmpfsRoot {
    fn drop(&mut self) {
        let _ = unmount(&self.0, UnmountFlags::DETACH);
    }
}

fn fs_id(p: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).unwrap().dev()
}

#[test]
fn lifecycle_with_state_on_tmpfs_and_bundle_on_disk() {
    let t = TestCtx::new("state_tmpfs");
    let mut b = t.bundle();
    b.sh("echo started > /tmp/started; exec sleep 1000");
    let id = t.id();
    let tmpfs = TmpfsRoot::mount(&t);
    assert_ne!(
        fs_id(&t.rt.root),
        fs_id(&b.dir),
        "state and bundle on one fs"
    );
    t.create(&b, &id).assert_success();
    assert_eq!(t.status(&id).as_deref(), Some("created"));
    t.start(&id).assert_success();
    assert!(host::wait_until(std::time::Duration::from_secs(5), || b
        .host_path("/tmp/started")
        .exists()));
    // exec builds its process from the config kept in the state directory.
    let o = t.rt(&["exec", &id, "cat", "/tmp/started"]);
    o.assert_success();
    assert_eq!(o.out(), "started");
    t.kill(&id, "KILL").assert_success();
    t.wait_status(&id, "stopped");
    t.delete(&id).assert_success();
    t.assert_nothing_left(&id, &b);
    drop(tmpfs);
}

#[test]
fn run_with_state_on_tmpfs() {
    let t = TestCtx::new("state_tmpfs_run");
    let mut b = t.bundle();
    b.sh("echo ok");
    let _tmpfs = TmpfsRoot::mount(&t);
    assert_eq!(t.run_ok(&b).trim(), "ok");
}
