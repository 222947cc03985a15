//! The rest of `process` and `linux`: personality, ioPriority, scheduler, execCPUAffinity, memoryPolicy, the LSM
//! labels and intelRdt on a host without them, netDevices and id-mapped mounts. Each effect is observed from inside
//! the container (or, for netDevices, also on the host).
//! Spec: config.md "Linux process" (ioPriority, scheduler, execCPUAffinity, apparmorProfile, selinuxLabel),
//! config.md "Mounts" (uidMappings, gidMappings, idmap/ridmap), config-linux.md "Personality", "Memory policy",
//! "IntelRdt", "Network Devices", "mountLabel".

use gantry_tests::{known_deviation, TestCtx};
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// Fields of `/proc/self/stat` as printed by `cat` in the container; `n` is the 1-based field number of proc(5).
fn stat_field(stat: &str, n: usize) -> String {
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    after
        .split_whitespace()
        .nth(n - 3)
        .unwrap_or("")
        .to_string()
}

#[test]
fn personality_linux32_and_flags_are_set() {
    let t = TestCtx::new("px_personality");
    let mut b = t.bundle();
    b.set(
        "linux/personality",
        json!({"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]}),
    )
    .sh("cat /proc/self/personality; uname -m");
    known_deviation(
        "runc crun",
        "runc 1.1.5 ignores linux.personality; crun 1.8.1 sets the domain but not the flags",
        || {
            let out = t.run_ok(&b);
            let mut lines = out.lines();
            assert_eq!(lines.next(), Some("00040008"), "{out}");
            // PER_LINUX32 makes uname(2) report a 32-bit machine.
            assert_eq!(lines.next(), Some("i686"), "{out}");
        },
    );
}

#[test]
fn exec_processes_get_the_personality_and_memory_policy_too() {
    let t = TestCtx::new("px_personality_exec");
    let mut b = t.bundle();
    b.set(
        "linux/personality",
        json!({"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]}),
    )
    .set(
        "linux/memoryPolicy",
        json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
    )
    .args(&["sleep", "1000"]);
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    let o = t.rt(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /proc/self/personality; grep -c ' bind=static:0 ' /proc/self/numa_maps",
    ]);
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore linux.personality flags and linux.memoryPolicy",
        || {
            o.assert_success();
            let mut lines = o.out().lines();
            assert_eq!(lines.next(), Some("00040008"), "{o}");
            assert!(
                lines
                    .next()
                    .and_then(|n| n.parse::<u32>().ok())
                    .unwrap_or(0)
                    > 0,
                "{o}"
            );
        },
    );
    t.kill(&id, "KILL");
}

#[test]
fn unknown_personality_flag_is_refused() {
    let t = TestCtx::new("px_personality_bad");
    let mut b = t.bundle();
    b.set(
        "linux/personality",
        json!({"domain": "LINUX", "flags": ["NOT_A_FLAG"]}),
    );
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 accept unknown personality flags",
        || {
            t.run(&b)
                .assert_failure()
                .assert_error_mentions(&["linux.personality.flags[0]", "NOT_A_FLAG"]);
        },
    );
}

#[test]
fn io_priority_is_applied() {
    let t = TestCtx::new("px_ioprio");
    let mut b = t.bundle();
    b.set(
        "process/ioPriority",
        json!({"class": "IOPRIO_CLASS_BE", "priority": 6}),
    )
    .sh("ionice -p $$");
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore process.ioPriority",
        || {
            assert_eq!(t.run_ok(&b).trim(), "best-effort: prio 6");
        },
    );
    let t = TestCtx::new("px_ioprio_idle");
    let mut b = t.bundle();
    b.set(
        "process/ioPriority",
        json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0}),
    )
    .sh("ionice -p $$");
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore process.ioPriority",
        || {
            assert_eq!(t.run_ok(&b).trim(), "idle");
        },
    );
}

#[test]
fn scheduler_policy_and_nice_are_applied() {
    let t = TestCtx::new("px_sched");
    let mut b = t.bundle();
    b.set(
        "process/scheduler",
        json!({"policy": "SCHED_BATCH", "nice": 7}),
    )
    .sh("cat /proc/self/stat");
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore process.scheduler",
        || {
            let out = t.run_ok(&b);
            assert_eq!(stat_field(&out, 19), "7", "nice: {out}");
            assert_eq!(stat_field(&out, 41), "3", "policy SCHED_BATCH: {out}");
        },
    );
}

#[test]
fn scheduler_out_of_range_is_refused_before_anything_runs() {
    let t = TestCtx::new("px_sched_bad");
    let mut b = t.bundle();
    b.set(
        "process/scheduler",
        json!({"policy": "SCHED_FIFO", "priority": 0}),
    );
    let id = t.id();
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore process.scheduler",
        || {
            t.create(&b, &id)
                .assert_failure()
                .assert_error_mentions(&["process.scheduler.priority"]);
            t.assert_nothing_left(&id, &b);
        },
    );
}

#[test]
fn memory_policy_binds_to_the_node() {
    let t = TestCtx::new("px_mempolicy");
    let mut b = t.bundle();
    b.set(
        "linux/memoryPolicy",
        json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
    )
    .sh("grep -c ' bind=static:0 ' /proc/self/numa_maps");
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore linux.memoryPolicy",
        || {
            let out = t.run_ok(&b);
            assert!(out.trim().parse::<u32>().unwrap_or(0) > 0, "{out}");
        },
    );
}

#[test]
fn exec_cpu_affinity_final_applies_to_exec() {
    let t = TestCtx::new("px_affinity");
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    let process = json!({
        "user": {"uid": 0, "gid": 0},
        "args": ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"],
        "env": ["PATH=/bin:/sbin:/usr/bin"],
        "cwd": "/",
        "execCPUAffinity": {"initial": "0", "final": "1"}
    });
    let file = t.path("process.json");
    std::fs::write(&file, process.to_string()).unwrap();
    let o = t.rt(&["exec", "--process", file.to_str().unwrap(), &id]);
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore process.execCPUAffinity",
        || {
            o.assert_success();
            assert_eq!(
                o.out().split_whitespace().last(),
                Some("1"),
                "final affinity: {o}"
            );
        },
    );
    let process = json!({
        "user": {"uid": 0, "gid": 0},
        "args": ["true"],
        "env": ["PATH=/bin:/sbin:/usr/bin"],
        "cwd": "/",
        "execCPUAffinity": {"final": "0-4096"}
    });
    std::fs::write(&file, process.to_string()).unwrap();
    let o = t.rt(&["exec", "--process", file.to_str().unwrap(), &id]);
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore process.execCPUAffinity",
        || {
            o.assert_failure()
                .assert_error_mentions(&["execCPUAffinity.final"]);
        },
    );
    t.kill(&id, "KILL");
}

fn apparmor_enabled() -> bool {
    std::fs::read("/sys/module/apparmor/parameters/enabled").is_ok_and(|v| v.starts_with(b"Y"))
}

#[test]
fn apparmor_profile_without_apparmor_is_a_clear_error() {
    assert!(
        !apparmor_enabled(),
        "this test checks the refusal where AppArmor is off, but this host has AppArmor enabled: \
         run it on a host without AppArmor (the CI machine)"
    );
    let t = TestCtx::new("px_apparmor");
    let mut b = t.bundle();
    b.set("process/apparmorProfile", json!("gantry-test-profile"));
    let id = t.id();
    let o = t.create(&b, &id);
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 write the profile anyway and report the kernel's error, not that AppArmor is absent",
        || {
            o.assert_failure()
                .assert_error_mentions(&["process.apparmorProfile", "AppArmor is not enabled"]);
            t.assert_nothing_left(&id, &b);
        },
    );
}

#[test]
fn selinux_labels_without_selinux_are_clear_errors() {
    assert!(
        !Path::new("/sys/fs/selinux/enforce").exists(),
        "this test checks the refusal where SELinux is off, but this host has SELinux enabled: \
         run it on a host without SELinux (the CI machine)"
    );
    let t = TestCtx::new("px_selinux");
    let mut b = t.bundle();
    b.set(
        "process/selinuxLabel",
        json!("system_u:system_r:container_t:s0"),
    );
    let id = t.id();
    let o = t.create(&b, &id);
    known_deviation(
        "runc crun",
        "runc 1.1.5 ignores selinuxLabel where SELinux is disabled; crun 1.8.1 fails without naming the field",
        || {
            o.assert_failure()
                .assert_error_mentions(&["process.selinuxLabel", "SELinux is not enabled"]);
            t.assert_nothing_left(&id, &b);
        },
    );
    let mut b = t.bundle();
    b.set(
        "linux/mountLabel",
        json!("system_u:object_r:container_file_t:s0"),
    );
    let id = t.id();
    let o = t.create(&b, &id);
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 do not refuse mountLabel by name where SELinux is disabled",
        || {
            o.assert_failure()
                .assert_error_mentions(&["linux.mountLabel", "SELinux is not enabled"]);
        },
    );
}

#[test]
fn intel_rdt_without_resctrl_is_a_clear_error() {
    assert!(
        !Path::new("/sys/fs/resctrl/schemata").exists(),
        "this test checks the refusal where resctrl is not mounted, but this host has /sys/fs/resctrl: \
         run it on a host without it (the CI machine)"
    );
    let t = TestCtx::new("px_rdt");
    let mut b = t.bundle();
    b.set(
        "linux/intelRdt",
        json!({"closID": "gantry", "l3CacheSchema": "L3:0=f"}),
    );
    let id = t.id();
    known_deviation(
        "crun",
        "crun 1.8.1 accepts intelRdt without resctrl",
        || {
            t.create(&b, &id)
                .assert_failure()
                .assert_error_mentions(&["intelRdt", "Intel RDT"]);
            t.assert_nothing_left(&id, &b);
        },
    );
}

/// A veth pair on the host, deleted when dropped (it is gone already when the container's namespace took it).
struct Veth(String, String);

impl Veth {
    fn new(tag: &str) -> Veth {
        let n = std::process::id() % 100_000;
        let v = Veth(format!("gx{tag}{n}a"), format!("gx{tag}{n}b"));
        let ok = Command::new("ip")
            .args(["link", "add", &v.0, "type", "veth", "peer", "name", &v.1])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "ip link add {} type veth failed", v.0);
        v
    }

    fn on_host(name: &str) -> bool {
        Path::new("/sys/class/net").join(name).exists()
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        for n in [&self.0, &self.1] {
            if Veth::on_host(n) {
                let _ = Command::new("ip").args(["link", "del", n]).status();
            }
        }
    }
}

#[test]
fn net_device_is_moved_and_renamed() {
    let veth = Veth::new("m");
    let ip = |args: &[&str]| {
        let ok = Command::new("ip").args(args).status().map(|s| s.success());
        assert!(ok.unwrap_or(false), "ip {args:?}");
    };
    ip(&["addr", "add", "10.213.7.2/24", "dev", &veth.0]);
    ip(&["addr", "add", "fd00:213::2/64", "dev", &veth.0, "nodad"]);
    ip(&["link", "set", &veth.0, "up"]);
    let t = TestCtx::new("px_netdev");
    let mut b = t.bundle();
    b.set(
        "linux/netDevices",
        json!({ veth.0.clone(): {"name": "ctr7"} }),
    )
    .sh("cat /proc/net/dev; ip addr show ctr7");
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore linux.netDevices",
        || {
            let out = t.run_ok(&b);
            assert!(out.contains("ctr7:"), "{out}");
            assert!(!out.contains(&veth.0), "{out}");
            // Its addresses and up state came along (a move into a namespace drops both).
            assert!(out.contains("inet 10.213.7.2/24"), "{out}");
            assert!(out.contains("inet6 fd00:213::2/64"), "{out}");
            assert!(out.contains(",UP") || out.contains("<UP"), "{out}");
            // The device left the host with the container's namespace (a veth is destroyed with it).
            assert!(!Veth::on_host(&veth.0));
        },
    );
}

#[test]
fn net_device_returns_to_the_host_from_a_joined_namespace() {
    let veth = Veth::new("r");
    let ip = |args: &[&str]| {
        let ok = Command::new("ip").args(args).status().map(|s| s.success());
        assert!(ok.unwrap_or(false), "ip {args:?}");
    };
    ip(&["addr", "add", "10.213.8.2/24", "dev", &veth.0]);
    ip(&["link", "set", &veth.0, "up"]);
    let t = TestCtx::new("px_netdev_back");
    let ns = format!("gxpx{}", std::process::id() % 100_000);
    t.track_netns(&ns);
    ip(&["netns", "add", &ns]);
    let mut b = t.bundle();
    b.namespace("network", Some(&format!("/var/run/netns/{ns}")))
        .set(
            "linux/netDevices",
            json!({ veth.0.clone(): {"name": "ctr8"} }),
        )
        .sh("ip addr show ctr8");
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore linux.netDevices",
        || {
            let out = t.run_ok(&b);
            assert!(out.contains("inet 10.213.8.2/24"), "{out}");
            // The namespace outlives the container: delete (here, the end of run) hands the device back, with
            // its host name, address and up state.
            assert!(Veth::on_host(&veth.0), "not back on the host");
            let shown = Command::new("ip")
                .args(["addr", "show", &veth.0])
                .output()
                .unwrap();
            let shown = String::from_utf8_lossy(&shown.stdout);
            assert!(shown.contains("inet 10.213.8.2/24"), "{shown}");
            assert!(shown.contains(",UP") || shown.contains("<UP"), "{shown}");
        },
    );
}

#[test]
fn net_devices_need_a_network_namespace_and_an_existing_device() {
    let veth = Veth::new("n");
    let t = TestCtx::new("px_netdev_bad");
    let mut b = t.bundle();
    b.remove_namespace("network")
        .set("linux/netDevices", json!({ veth.0.clone(): {} }));
    let id = t.id();
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore linux.netDevices",
        || {
            t.create(&b, &id)
                .assert_failure()
                .assert_error_mentions(&["linux.netDevices", "network namespace"]);
            t.assert_nothing_left(&id, &b);
            assert!(Veth::on_host(&veth.0), "the device must stay on the host");
        },
    );
    let mut b = t.bundle();
    b.set("linux/netDevices", json!({"gxnosuchdev0": {}}));
    let id = t.id();
    known_deviation(
        "runc crun",
        "runc 1.1.5 and crun 1.8.1 ignore linux.netDevices",
        || {
            t.create(&b, &id)
                .assert_failure()
                .assert_error_mentions(&["gxnosuchdev0", "no such network interface"]);
            t.assert_nothing_left(&id, &b);
        },
    );
}

/// A host directory beside the bundle's rootfs holding `root-file` (0:0) and `user-file` (1000:1000).
fn owned_files(b: &gantry_tests::Bundle) -> std::path::PathBuf {
    let dir = b.dir.join("idmapped");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("root-file"), "r").unwrap();
    std::fs::write(dir.join("user-file"), "u").unwrap();
    std::os::unix::fs::chown(dir.join("root-file"), Some(0), Some(0)).unwrap();
    std::os::unix::fs::chown(dir.join("user-file"), Some(1000), Some(1000)).unwrap();
    dir
}

#[test]
fn idmapped_bind_mount_with_its_own_maps() {
    let t = TestCtx::new("px_idmap");
    let mut b = t.bundle();
    let dir = owned_files(&b);
    // On-disk 1000 is seen as 0 through the mount; on-disk 0 is then unmapped (the overflow id).
    b.push(
        "mounts",
        json!({"destination": "/idm", "type": "bind", "source": dir, "options": ["bind", "idmap"],
               "uidMappings": [{"containerID": 1000, "hostID": 0, "size": 1}],
               "gidMappings": [{"containerID": 1000, "hostID": 0, "size": 1}]}),
    )
    .sh("stat -c '%n %u:%g' /idm/user-file /idm/root-file");
    known_deviation("runc", "runc 1.1.5 has no id-mapped mounts", || {
        let out = t.run_ok(&b);
        assert!(out.contains("/idm/user-file 0:0"), "{out}");
        assert!(out.contains("/idm/root-file 65534:65534"), "{out}");
    });
    // The host's view of the files is unchanged.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(dir.join("user-file")).unwrap().uid(),
        1000
    );
}

#[test]
fn idmap_uses_the_containers_user_namespace_maps() {
    let t = TestCtx::new("px_idmap_userns");
    let mut b = t.bundle();
    let dir = owned_files(&b);
    // The rootfs belongs to host root, unmapped in the container's user namespace: make the mount points here.
    for d in ["plain", "idm"] {
        std::fs::create_dir_all(b.rootfs().join(d)).unwrap();
    }
    b.namespace("user", None)
        .id_maps(0, 200000, 65536)
        .mount("/plain", "bind", dir.to_str().unwrap(), &["bind"])
        .push(
            "mounts",
            json!({"destination": "/idm", "type": "bind", "source": dir,
                   "options": ["rbind", "ridmap"]}),
        )
        .sh("stat -c '%n %u' /plain/root-file /idm/root-file /idm/user-file");
    known_deviation(
        "runc crun",
        "runc 1.1.5 has no id-mapped mounts; crun 1.8.1 ignores idmap without mount mappings",
        || {
            let out = t.run_ok(&b);
            // Without the id mapping, host root is unmapped in the container's user namespace...
            assert!(out.contains("/plain/root-file 65534"), "{out}");
            // ...through it, on-disk ids are the container's: 0 is its root, 1000 its uid 1000.
            assert!(out.contains("/idm/root-file 0"), "{out}");
            assert!(out.contains("/idm/user-file 1000"), "{out}");
        },
    );
}

#[test]
fn idmap_on_a_non_bind_mount_is_refused() {
    let t = TestCtx::new("px_idmap_bad");
    let mut b = t.bundle();
    b.mount("/scratch", "tmpfs", "tmpfs", &["idmap"]);
    let id = t.id();
    known_deviation(
        "runc crun",
        "runc 1.1.5 has no id-mapped mounts; crun 1.8.1 passes idmap to the kernel as tmpfs data",
        || {
            t.create(&b, &id)
                .assert_failure()
                .assert_error_mentions(&["mounts[", "bind mounts only"]);
            t.assert_nothing_left(&id, &b);
        },
    );
}

#[test]
fn features_report_the_lsms_and_idmapped_mounts() {
    let t = TestCtx::new("px_features");
    let o = t.rt(&["features"]);
    if gantry_tests::runtime::runtime_is("crun") {
        known_deviation("crun", "crun 1.8.1 has no features command", || {
            o.assert_success();
        });
        return;
    }
    o.assert_success();
    let v = o.json();
    known_deviation(
        "runc",
        "runc 1.1.5 reports the LSMs compiled in, not whether this host has them",
        || {
            assert_eq!(
                v["linux"]["apparmor"]["enabled"],
                json!(apparmor_enabled()),
                "{v}"
            );
            assert_eq!(
                v["linux"]["selinux"]["enabled"],
                json!(Path::new("/sys/fs/selinux/enforce").exists()),
                "{v}"
            );
        },
    );
    known_deviation("runc", "runc 1.1.5 has no id-mapped mounts", || {
        assert_eq!(
            v["linux"]["mountExtensions"]["idmap"]["enabled"],
            json!(true),
            "{v}"
        );
        let opts = v["mountOptions"].as_array().cloned().unwrap_or_default();
        assert!(
            opts.contains(&json!("idmap")) && opts.contains(&json!("ridmap")),
            "{v}"
        );
    });
}
