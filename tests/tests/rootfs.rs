//! Root filesystem, mounts, devices, masked/readonly paths, sysctl.
//! Spec: config.md "Root" (path, readonly), "Mounts"; config-linux.md "Default
//! Filesystems", "Devices", "Default Devices", "Rootfs Mount Propagation",
//! "Masked Paths", "Readonly Paths", "Sysctl"; runtime-linux.md "Dev symbolic links".

use gantry_tests::{host, json, known_deviation, TestCtx};

fn mountinfo_line<'a>(mi: &'a [host::MountEntry], point: &str) -> &'a host::MountEntry {
    mi.iter()
        .rev()
        .find(|m| m.mount_point == point)
        .unwrap_or_else(|| panic!("no mount at {point}: {mi:#?}"))
}

#[test]
fn pivot_root_confines_the_view_to_the_rootfs() {
    let t = TestCtx::new("rootfs_pivot");
    let mut b = t.bundle();
    b.sh("ls /; ls /.. | wc -l; cat /../config.json 2>/dev/null || echo no-config; cat /proc/self/mountinfo");
    let out = t.run_ok(&b);
    assert!(out.contains("busybox") || out.contains("bin"), "{out}");
    assert!(out.contains("no-config"), "bundle files reachable: {out}");
    let tmp = t.dir.to_string_lossy().to_string();
    for m in host::parse_mountinfo(&out) {
        assert!(
            !m.mount_point.contains(&tmp),
            "host path as a mount point: {out}"
        );
    }
}

#[test]
fn no_pivot_still_confines_the_view() {
    let t = TestCtx::new("rootfs_nopivot");
    let mut b = t.bundle();
    b.sh("ls /bin/busybox; cat /../config.json 2>/dev/null || echo no-config");
    let id = t.id();
    let o = t.run_id(&b, &id, &["--no-pivot"]);
    o.assert_success();
    assert_eq!(o.stdout, "/bin/busybox\nno-config\n", "{o}");
}

#[test]
fn readonly_root_refuses_writes() {
    let t = TestCtx::new("rootfs_ro");
    let mut b = t.bundle();
    b.readonly_root(true)
        .sh("touch /newfile 2>&1; cat /proc/self/mountinfo");
    let out = t.run_ok(&b);
    assert!(out.contains("Read-only file system"), "{out}");
    let mi = host::parse_mountinfo(&out);
    let root = mountinfo_line(&mi, "/");
    assert!(root.options.split(',').any(|o| o == "ro"), "{out}");
    assert!(!b.host_path("/newfile").exists());
}

#[test]
fn rootfs_propagation_is_applied() {
    // The host's / is private here, so a slave root has no master: it just must not be
    // shared.
    for (mode, tag) in [
        ("private", None),
        ("slave", None),
        ("shared", Some("shared:")),
    ] {
        let t = TestCtx::new(&format!("rootfs_prop_{mode}"));
        let mut b = t.bundle();
        b.rootfs_propagation(mode).sh("cat /proc/self/mountinfo");
        let out = t.run_ok(&b);
        let mi = host::parse_mountinfo(&out);
        let root = mountinfo_line(&mi, "/");
        match tag {
            None => assert!(
                !root.optional.contains("shared:") && !root.optional.contains("master:"),
                "{mode}: {root:?}"
            ),
            Some(tag) => {
                known_deviation("runc", "rootfsPropagation shared leaves / private", || {
                    assert!(root.optional.contains(tag), "{mode}: {root:?}")
                })
            }
        }
    }
}

#[test]
fn bind_mount_read_only() {
    let t = TestCtx::new("mnt_bind_ro");
    let src = t.path("data");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("hello"), "hi\n").unwrap();
    let mut b = t.bundle();
    b.mount("/data", "bind", src.to_str().unwrap(), &["rbind", "ro"])
        .sh("cat /data/hello; touch /data/new 2>&1; grep ' /data ' /proc/self/mountinfo");
    let out = t.run_ok(&b);
    assert!(out.starts_with("hi\n"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!src.join("new").exists());
    let mi = host::parse_mountinfo(&out);
    assert!(mountinfo_line(&mi, "/data")
        .options
        .split(',')
        .any(|o| o == "ro"));
}

#[test]
fn tmpfs_mount_options_are_applied() {
    let t = TestCtx::new("mnt_tmpfs");
    let mut b = t.bundle();
    b.mount("/scratch", "tmpfs", "tmpfs", &["size=1m", "mode=700", "nosuid", "nodev", "noexec"])
        .sh("cp /bin/busybox /scratch/bb; /scratch/bb true 2>&1 || echo noexec-refused; cat /proc/self/mountinfo");
    let out = t.run_ok(&b);
    assert!(out.contains("noexec-refused"), "{out}");
    let mi = host::parse_mountinfo(&out);
    let m = mountinfo_line(&mi, "/scratch");
    assert_eq!(m.fstype, "tmpfs");
    for o in ["nosuid", "nodev", "noexec"] {
        assert!(m.options.split(',').any(|x| x == o), "{o} missing: {m:?}");
    }
    assert!(m.super_options.contains("size=1024k"), "{m:?}");
    assert!(m.super_options.contains("mode=700"), "{m:?}");
}

#[test]
fn default_filesystems_are_mounted() {
    let t = TestCtx::new("mnt_defaults");
    let mut b = t.bundle();
    b.sh("cat /proc/self/mountinfo");
    let out = t.run_ok(&b);
    let mi = host::parse_mountinfo(&out);
    for (point, ty) in [
        ("/proc", "proc"),
        ("/sys", "sysfs"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
    ] {
        assert_eq!(mountinfo_line(&mi, point).fstype, ty, "{point}");
    }
    let sys = mountinfo_line(&mi, "/sys");
    assert!(sys.options.split(',').any(|o| o == "ro"), "{sys:?}");
    // The cgroup mount appears either as one cgroup2 or as per-controller v1 mounts.
    assert!(
        mi.iter()
            .any(|m| m.mount_point.starts_with("/sys/fs/cgroup")
                && (m.fstype == "cgroup" || m.fstype == "cgroup2" || m.fstype == "tmpfs")),
        "no cgroup mount: {out}"
    );
}

#[test]
fn default_devices_exist_with_right_numbers() {
    let t = TestCtx::new("dev_defaults");
    let mut b = t.bundle();
    b.sh(
        "for d in null zero full random urandom tty; do stat -c \"$d %F %t:%T %a\" /dev/$d; done; \
         for l in fd stdin stdout stderr ptmx; do echo $l $(readlink /dev/$l); done; \
         echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; \
         echo x > /dev/full 2>/dev/null || echo full-ENOSPC; stat -c '%F' /dev/shm /dev/pts/ptmx",
    );
    let out = t.run_ok(&b);
    for (d, nums) in [
        ("null", "1:3"),
        ("zero", "1:5"),
        ("full", "1:7"),
        ("random", "1:8"),
        ("urandom", "1:9"),
        ("tty", "5:0"),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{d} ")))
            .unwrap_or("");
        assert!(line.contains("character special file"), "/dev/{d}: {out}");
        assert!(
            line.contains(&format!(" {nums} ")),
            "/dev/{d} numbers: {out}"
        );
        assert!(line.ends_with(" 666"), "/dev/{d} mode: {out}");
    }
    for (l, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        assert!(
            out.lines().any(|x| x == format!("{l} {target}")),
            "/dev/{l}: {out}"
        );
    }
    assert!(out.contains("null-ok\n4\nfull-ENOSPC\n"), "{out}");
    assert!(out.contains("directory\ncharacter special file"), "{out}");
}

#[test]
fn configured_device_is_created() {
    let t = TestCtx::new("dev_config");
    let mut b = t.bundle();
    b.device(
        json!({"path": "/dev/gantry-null", "type": "c", "major": 1, "minor": 3,
                    "fileMode": 0o666, "uid": 1000, "gid": 2000}),
    )
    .sh("stat -c '%F %t:%T %a %u %g' /dev/gantry-null; echo x > /dev/gantry-null && echo writable");
    assert_eq!(
        t.run_ok(&b),
        "character special file 1:3 666 1000 2000\nwritable\n"
    );
}

#[test]
fn masked_paths_are_unreadable_or_empty() {
    let t = TestCtx::new("masked");
    let mut b = t.bundle();
    std::fs::create_dir_all(b.host_path("/secret-dir")).unwrap();
    std::fs::write(b.host_path("/secret-dir/key"), "dir-secret").unwrap();
    std::fs::write(b.host_path("/secret-file"), "file-secret").unwrap();
    b.masked_paths(&[
        "/proc/timer_list",
        "/secret-dir",
        "/secret-file",
        "/does/not/exist",
    ])
    .sh(
        "wc -c < /proc/timer_list; ls -A /secret-dir | wc -l; cat /secret-file; echo; \
             echo x > /secret-file; echo x > /secret-dir/new 2>/dev/null || echo dir-ro",
    );
    let o = t.run(&b);
    assert_eq!(o.stdout, "0\n0\n\ndir-ro\n", "{o}");
    // A masked file is /dev/null: writes vanish, the real file is untouched.
    assert_eq!(
        std::fs::read_to_string(b.host_path("/secret-file")).unwrap(),
        "file-secret"
    );
    assert!(!b.host_path("/secret-dir/new").exists());
}

#[test]
fn readonly_paths_refuse_writes() {
    let t = TestCtx::new("ropaths");
    let mut b = t.bundle();
    std::fs::create_dir_all(b.host_path("/ro-dir")).unwrap();
    b.readonly_paths(&["/proc/sys", "/ro-dir"])
        .sh("(echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1; touch /ro-dir/x 2>&1; cat /proc/sys/kernel/ostype");
    let out = t.run_ok(&b);
    assert_eq!(out.matches("Read-only file system").count(), 2, "{out}");
    assert!(out.ends_with("Linux\n"), "still readable: {out}");
    assert!(!b.host_path("/ro-dir/x").exists());
}

#[test]
fn sysctls_are_applied() {
    let t = TestCtx::new("sysctl");
    let mut b = t.bundle();
    b.sysctl("net.ipv4.ip_forward", "1")
        .sysctl("kernel.shmmax", "123456789")
        .readonly_paths(&[])
        .sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax");
    assert_eq!(t.run_ok(&b), "1\n123456789\n");
    let host = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap();
    assert_ne!(host.trim(), "123456789", "sysctl leaked to the host");
}

#[test]
fn mounts_are_applied_in_listed_order() {
    let t = TestCtx::new("mnt_order");
    let mut b = t.bundle();
    // The second mount lies on the first: in the other order it would be hidden.
    b.mount("/stack", "tmpfs", "tmpfs", &["size=1m"])
        .mount("/stack/inner", "tmpfs", "tmpfs", &["size=2m"])
        .sh("grep -E ' /stack(/inner)? ' /proc/self/mountinfo | wc -l; stat -f -c %b /stack/inner");
    let out = t.run_ok(&b);
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], "2", "{out}");
    let blocks: u64 = l[1].trim().parse().unwrap();
    assert!(blocks >= 400, "/stack/inner is not the 2m tmpfs: {out}");
}

#[test]
fn relative_mount_destination_is_relative_to_root() {
    let t = TestCtx::new("mnt_rel");
    let mut b = t.bundle();
    // Deprecated but allowed since runtime-spec 1.2: interpreted relative to "/".
    b.mount("relative/dest", "tmpfs", "tmpfs", &["size=1m"])
        .sh("grep -c ' /relative/dest ' /proc/self/mountinfo");
    assert_eq!(t.run_ok(&b), "1\n");
}

/// Recursive access-time and symlink options are mount attributes applied to the whole tree
/// (`mount_setattr(AT_RECURSIVE)`), not filesystem data; `nosymfollow` is a mount flag.
#[test]
fn recursive_atime_and_nosymfollow_options_are_applied() {
    use rustix::mount::{mount, MountFlags};
    let t = TestCtx::new("mnt_rec_atime");
    let src = t.path("data");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    // A submount in the bind source: only a recursive attribute reaches it. Unmounted by the cleanup guard.
    mount(
        "tmpfs",
        src.join("sub"),
        "tmpfs",
        MountFlags::empty(),
        c"size=1m",
    )
    .unwrap();
    let mut b = t.bundle();
    b.mount(
        "/data",
        "bind",
        src.to_str().unwrap(),
        &["rbind", "rnoatime", "rnodiratime", "rnosymfollow"],
    )
    .mount(
        "/scratch",
        "tmpfs",
        "tmpfs",
        &["size=1m", "rstrictatime", "nosymfollow"],
    )
    .sh("cat /proc/self/mountinfo");
    let out = t.run_ok(&b);
    let mi = host::parse_mountinfo(&out);
    for point in ["/data", "/data/sub"] {
        let m = mountinfo_line(&mi, point);
        for o in ["noatime", "nodiratime", "nosymfollow"] {
            assert!(
                m.options.split(',').any(|x| x == o),
                "{point}: {o} missing: {m:?}"
            );
        }
    }
    let m = mountinfo_line(&mi, "/scratch");
    assert_eq!(m.fstype, "tmpfs");
    assert!(m.options.split(',').any(|x| x == "nosymfollow"), "{m:?}");
    known_deviation(
        "runc",
        "recursive atime options are not applied to a filesystem (non-bind) mount",
        || {
            let atime = |x: &str| x == "relatime" || x == "noatime";
            assert!(
                !m.options.split(',').any(atime),
                "strictatime expected: {m:?}"
            );
        },
    );
    assert!(!m.super_options.contains("atime"), "passed as data: {m:?}");
}

/// A bundle on a `noexec,nosuid,nodev` filesystem (systemd's tmpfs `/run`, issue 7 point 2) runs: the rootfs is
/// the container's own filesystem, not limited by where the bundle happens to live. runc runs it only with
/// `root.readonly` true (its read-only remount clears the flags), so the test uses a read-write root.
#[test]
fn bundle_on_a_noexec_mount_runs() {
    let t = TestCtx::new("rootfs_noexec");
    let mut b = t.bundle();
    let dir = b.dir.to_string_lossy().to_string();
    let mount = |args: &[&str]| {
        let st = std::process::Command::new("mount").args(args).status();
        assert!(st.is_ok_and(|s| s.success()), "mount {args:?}");
    };
    mount(&["--bind", &dir, &dir]);
    mount(&["-o", "remount,bind,noexec,nosuid,nodev", &dir]);
    b.readonly_root(false).sh("echo ran; id -u");
    let o = t.run(&b);
    known_deviation(
        "runc",
        "a bundle on a noexec mount fails unless root.readonly",
        || {
            o.assert_success();
            assert_eq!(o.stdout, "ran\n0\n", "{o}");
        },
    );
}
