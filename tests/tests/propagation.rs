//! Mount propagation out of the container: CRI's "Bidirectional" mount propagation is a bind mount with
//! `rshared` and `linux.rootfsPropagation: rshared`; a mount the container makes under it must appear on the
//! host. The default (`rslave`) must keep it inside.
//! Spec: config-linux.md "Rootfs Mount Propagation"; config.md "Mounts" (options); runc's behaviour.

use gantry_tests::{host, json, TestCtx};
use rustix::mount::{mount_bind, mount_change, unmount, MountPropagationFlags, UnmountFlags};
use std::path::{Path, PathBuf};

/// A host directory made a shared mount point (as kubelet's pod volumes are); unmounted on drop.
struct SharedDir(PathBuf);

impl SharedDir {
    fn new(path: PathBuf) -> SharedDir {
        std::fs::create_dir_all(path.join("sub")).unwrap();
        mount_bind(&path, &path).expect("bind the shared dir onto itself");
        let d = SharedDir(path);
        mount_change(&d.0, MountPropagationFlags::SHARED).expect("make it shared");
        d
    }
}

impl Drop for SharedDir {
    fn drop(&mut self) {
        let _ = unmount(self.0.join("sub"), UnmountFlags::DETACH);
        let _ = unmount(&self.0, UnmountFlags::DETACH);
    }
}

fn mounted_at(p: &Path) -> bool {
    let p = p.to_str().unwrap();
    host::host_mounts().iter().any(|m| m.mount_point == p)
}

/// The container mounts a tmpfs on `/shared/sub`, where the host's shared dir is bind-mounted with `options`.
fn mount_inside(t: &TestCtx, shared: &Path, options: &[&str], root_propagation: Option<&str>) {
    let mut b = t.bundle();
    b.mount("/shared", "bind", shared.to_str().unwrap(), options);
    if let Some(p) = root_propagation {
        b.rootfs_propagation(p);
    }
    let caps = json!(["CAP_SYS_ADMIN"]);
    b.set(
        "/process/capabilities",
        json!({"bounding": caps, "effective": caps, "permitted": caps}),
    );
    b.sh("mount -t tmpfs -o size=1m gantry-prop /shared/sub && echo mounted");
    assert_eq!(t.run_ok(&b).trim(), "mounted");
}

#[test]
fn rshared_mount_made_inside_appears_on_the_host() {
    let t = TestCtx::new("prop_rshared");
    let shared = SharedDir::new(t.path("shared"));
    mount_inside(&t, &shared.0, &["rbind", "rshared"], Some("rshared"));
    assert!(
        mounted_at(&shared.0.join("sub")),
        "the container's mount did not propagate to the host"
    );
}

#[test]
fn default_propagation_keeps_mounts_inside() {
    let t = TestCtx::new("prop_default");
    let shared = SharedDir::new(t.path("shared"));
    mount_inside(&t, &shared.0, &["rbind"], None);
    assert!(
        !mounted_at(&shared.0.join("sub")),
        "a mount made inside an rslave container reached the host"
    );
}
