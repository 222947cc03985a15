//! Namespaces, seen from inside the container.
//! Spec: config-linux.md "Namespaces" (new vs. path, each type), "User namespace mappings",
//! "Offset for Time Namespace"; config.md "Hostname", "Domainname"; runtime-linux.md.

use gantry_tests::{host, known_deviation, TestCtx};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

fn host_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .to_string()
}

#[test]
fn new_namespaces_differ_from_the_host() {
    let t = TestCtx::new("ns_new");
    let mut b = t.bundle();
    b.sh("for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done");
    let out = t.run_ok(&b);
    let inside: Vec<&str> = out.lines().collect();
    assert_eq!(inside.len(), 6, "{out}");
    for (kind, line) in ["pid", "net", "ipc", "uts", "mnt", "cgroup"]
        .iter()
        .zip(inside)
    {
        assert_ne!(line, host_ns(kind), "{kind} namespace must be new");
    }
}

#[test]
fn without_a_namespace_entry_the_host_one_is_kept() {
    let t = TestCtx::new("ns_keep");
    let mut b = t.bundle();
    b.remove_namespace("network")
        .remove_namespace("ipc")
        .sh("readlink /proc/self/ns/net; readlink /proc/self/ns/ipc");
    let out = t.run_ok(&b);
    assert_eq!(out, format!("{}\n{}\n", host_ns("net"), host_ns("ipc")));
}

#[test]
fn pid_namespace_makes_the_process_pid_1() {
    let t = TestCtx::new("ns_pid");
    let mut b = t.bundle();
    b.sh("echo $$; ls /proc | grep -c '^[0-9]'");
    let out = t.run_ok(&b);
    let mut l = out.lines();
    assert_eq!(l.next(), Some("1"));
    // Only the shell and ls are visible.
    let n: u32 = l.next().unwrap().trim().parse().unwrap();
    assert!(n <= 3, "host processes visible in the pid namespace: {out}");
}

#[test]
fn uts_namespace_sets_hostname_and_domainname() {
    let t = TestCtx::new("ns_uts");
    let mut b = t.bundle();
    b.hostname("box-one")
        .domainname("example.test")
        .sh("cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname; hostname");
    let out = t.run_ok(&b);
    let mut l = out.lines();
    assert_eq!(l.next(), Some("box-one"), "{out}");
    let domain = l.next();
    assert_eq!(l.next(), Some("box-one"), "{out}");
    known_deviation("runc", "runc 1.1 ignores the domainname field", || {
        assert_eq!(domain, Some("example.test"), "{out}");
    });
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_ne!(host.trim(), "box-one");
}

#[test]
fn network_namespace_has_only_loopback() {
    let t = TestCtx::new("ns_net");
    let mut b = t.bundle();
    b.sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; ls /sys/class/net");
    assert_eq!(t.run_ok(&b), "lo\nlo\n");
}

#[test]
fn ipc_namespace_hides_host_message_queues() {
    let t = TestCtx::new("ns_ipc");
    let mut b = t.bundle();
    b.sh("tail -n +2 /proc/sysvipc/shm | wc -l; tail -n +2 /proc/sysvipc/msg | wc -l");
    assert_eq!(t.run_ok(&b), "0\n0\n");
}

#[test]
fn mount_namespace_keeps_container_mounts_off_the_host() {
    let t = TestCtx::new("ns_mnt");
    let mut b = t.bundle();
    b.mount("/mnt", "tmpfs", "tmpfs", &["size=1m"])
        .sh("grep -c ' /mnt ' /proc/self/mountinfo; sleep 0.2");
    let before = host::host_mounts().len();
    assert_eq!(t.run_ok(&b), "1\n");
    assert!(host::mounts_under(&b.dir).is_empty());
    assert!(host::host_mounts().len() <= before + 2);
}

#[test]
fn cgroup_namespace_roots_proc_self_cgroup() {
    let t = TestCtx::new("ns_cgroup");
    let mut b = t.bundle();
    b.sh("cat /proc/self/cgroup");
    let out = t.run_ok(&b);
    for l in out.lines() {
        let path = l.splitn(3, ':').nth(2).unwrap_or("");
        assert_eq!(
            path, "/",
            "cgroup namespace root should be the container cgroup: {out}"
        );
    }
}

#[test]
fn user_namespace_maps_ids_as_configured() {
    let t = TestCtx::new("ns_user");
    let mut b = t.bundle();
    b.namespace("user", None)
        .id_maps(0, 200000, 65536)
        .sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/owned; exec sleep 1000");
    let id = t.id();
    t.create(&b, &id).assert_success();
    let pid = t.state_json(&id)["pid"].as_i64().unwrap();
    t.start(&id).assert_success();
    assert!(host::wait_until(Duration::from_secs(5), || b
        .host_path("/tmp/owned")
        .exists()));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid_line.split_whitespace().nth(1),
        Some("200000"),
        "root inside must be host uid 200000: {uid_line}"
    );
    let map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    let fields: Vec<&str> = map.split_whitespace().collect();
    assert_eq!(fields, ["0", "200000", "65536"]);
    let gmap = std::fs::read_to_string(format!("/proc/{pid}/gid_map")).unwrap();
    assert_eq!(
        gmap.split_whitespace().collect::<Vec<_>>(),
        ["0", "200000", "65536"]
    );
    let meta = std::fs::metadata(b.host_path("/tmp/owned")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (200000, 200000),
        "file made by root inside"
    );
}

#[test]
fn time_namespace_applies_offsets() {
    let t = TestCtx::new("ns_time");
    let mut b = t.bundle();
    b.namespace("time", None)
        .set(
            "linux/timeOffsets",
            serde_json::json!({"monotonic": {"secs": 86400, "nanosecs": 0},
                               "boottime": {"secs": 172800, "nanosecs": 0}}),
        )
        .sh("cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime");
    let host_up: u64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    known_deviation(
        "runc crun",
        "no time namespace support (runc 1.1, crun 1.8)",
        || {
            let out = t.run_ok(&b);
            assert!(out.contains("monotonic") && out.contains("86400"), "{out}");
            let boot = out
                .lines()
                .find(|l| l.starts_with("boottime"))
                .unwrap_or("");
            assert!(boot.contains("172800"), "{out}");
            let up: u64 = out.lines().last().unwrap().trim().parse().unwrap();
            assert!(up >= host_up + 172800, "boottime offset not applied: {out}");
        },
    );
}

#[test]
fn joins_a_network_namespace_by_path() {
    let t = TestCtx::new("ns_joinnet");
    let name = format!("gt-{}", std::process::id() % 100000);
    let name = format!("{name}-{}", t.name.len());
    t.track_netns(&name);
    let st = std::process::Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .unwrap();
    assert!(st.success(), "ip netns add failed");
    let path = format!("/run/netns/{name}");
    let ino = std::fs::metadata(&path).unwrap().ino();
    let mut b = t.bundle();
    b.namespace("network", Some(&path))
        .sh("readlink /proc/self/ns/net");
    assert_eq!(t.run_ok(&b).trim(), format!("net:[{ino}]"));
    // runtime.md Delete: what the container did not create must survive it.
    assert!(
        std::path::Path::new(&path).exists(),
        "joined netns was removed"
    );
}

#[test]
fn joins_a_uts_namespace_of_another_process() {
    let t = TestCtx::new("ns_joinuts");
    let marker = t.path("uts-ready");
    let mut child = std::process::Command::new("unshare")
        .args(["--uts", "sh", "-c"])
        .arg(format!(
            "hostname joined-uts && touch {} && exec sleep 1000",
            marker.display()
        ))
        .spawn()
        .unwrap();
    t.track_pid(child.id() as i32);
    assert!(host::wait_until(Duration::from_secs(5), || marker.exists()));
    let mut b = t.bundle();
    b.unset("hostname")
        .namespace("uts", Some(&format!("/proc/{}/ns/uts", child.id())))
        .sh("hostname");
    let out = t.run_ok(&b);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(out.trim(), "joined-uts");
}

/// The spec allows a container without a mount namespace (runc and crun run one): it shares the runtime's
/// mounts, so none of the config's mounts is made (they would land on the host), and the process is confined to
/// `root.path` by chroot (as crun and runc do).
#[test]
fn config_without_mount_namespace_runs() {
    let t = TestCtx::new("ns_no_mount");
    let mut b = t.bundle();
    b.remove_namespace("mount");
    // Nothing that would touch the host's mounts if a runtime applied it anyway.
    b.set("/mounts", serde_json::json!([]));
    b.masked_paths(&[]).readonly_paths(&[]);
    std::fs::write(b.host_path("/marker"), "in-rootfs\n").unwrap();
    known_deviation(
        "runc",
        "without a mount namespace runc 1.1 needs /proc inside root.path (it closes fds through /proc/self/fd) and leaves mounts on the host",
        || {
            b.args(&["sleep", "1000"]);
            let id = t.id();
            t.create(&b, &id).assert_success();
            let pid = t.state_json(&id)["pid"].as_i64().expect("pid");
            let ns = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
            assert_eq!(ns.to_string_lossy(), host_ns("mnt"), "not the host's mount namespace");
            t.start(&id).assert_success();
            // exec follows the init into root.path.
            let o = t.rt(&["exec", &id, "cat", "/marker"]);
            o.assert_success();
            assert_eq!(o.out(), "in-rootfs");
            t.rt(&["delete", "--force", &id]).assert_success();
            t.assert_nothing_left(&id, &b);
            b.sh("echo ok; cat /marker");
            assert_eq!(t.run_ok(&b), "ok\nin-rootfs\n");
            assert!(host::mounts_under(&b.dir).is_empty(), "mounts made on the host");
        },
    );
}
