//! config-linux.md "Namespaces": a user namespace joined by path, and a new user namespace beside a namespace
//! joined by path (the runtime's "staged" mode: joins before the user namespace exists, one extra fork for the new
//! PID namespace). Checked from inside: the id map, PID 1, and the joined network namespace.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use gantry_tests::{host, TestCtx};

/// Starts `sleep` in a new user namespace mapping 0..65536 to host 300000.., returns it.
fn user_ns_holder(t: &TestCtx) -> std::process::Child {
    let child = std::process::Command::new("unshare")
        .args(["--user", "sleep", "1000"])
        .spawn()
        .expect("unshare --user");
    t.track_pid(child.id() as i32);
    let pid = child.id();
    // Wait until unshare has moved into its namespace (its uid_map is then writable, and empty).
    assert!(host::wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{pid}/uid_map")).is_ok_and(|m| m.trim().is_empty())
    }));
    std::fs::write(format!("/proc/{pid}/uid_map"), "0 300000 65536\n").unwrap();
    std::fs::write(format!("/proc/{pid}/gid_map"), "0 300000 65536\n").unwrap();
    child
}

#[test]
fn joins_a_user_namespace_by_path() {
    let t = TestCtx::new("ns_joinuser");
    let mut holder = user_ns_holder(&t);
    let path = format!("/proc/{}/ns/user", holder.id());
    let mut b = t.bundle();
    // The maps repeat the joined namespace's (runc insists on them; containerd sends them too).
    b.namespace("user", Some(&path))
        .id_maps(0, 300000, 65536)
        .sh("cat /proc/self/uid_map; echo pid=$$; readlink /proc/self/ns/user");
    let out = t.run_ok(&b);
    let _ = holder.kill();
    let _ = holder.wait();
    let ino = std::fs::metadata(&path).map(|m| m.ino()).unwrap_or(0);
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(&fields[..3], ["0", "300000", "65536"], "{out}");
    assert!(out.contains("pid=1"), "{out}");
    if ino != 0 {
        assert!(out.contains(&format!("user:[{ino}]")), "{out}");
    }
}

#[test]
fn new_user_namespace_with_a_joined_network_namespace() {
    let t = TestCtx::new("ns_userjoinnet");
    let name = format!("gt-st-{}", std::process::id() % 100000);
    t.track_netns(&name);
    let st = std::process::Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .unwrap();
    assert!(st.success(), "ip netns add failed");
    let path = format!("/run/netns/{name}");
    let ino = std::fs::metadata(&path).unwrap().ino();
    let mut b = t.bundle();
    b.namespace("user", None)
        .id_maps(0, 300000, 65536)
        .namespace("network", Some(&path))
        // sysfs cannot be mounted by a user namespace that does not own the network namespace; runc fails there
        // (gantry-runtime falls back to binding the host's /sys), so leave it out to test only the namespaces.
        .remove_mount("/sys")
        .remove_mount("/sys/fs/cgroup")
        .sh("cat /proc/self/uid_map; echo pid=$$; readlink /proc/self/ns/net");
    let out = t.run_ok(&b);
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(&fields[..3], ["0", "300000", "65536"], "{out}");
    assert!(
        out.contains("pid=1"),
        "the init must be PID 1 of the new PID namespace: {out}"
    );
    assert!(out.contains(&format!("net:[{ino}]")), "{out}");
}
