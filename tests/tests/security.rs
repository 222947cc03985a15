//! Security regressions: one test per runtime CVE in shared/security/runtime-cves.md,
//! each playing the attack and asserting it fails harmlessly.
//! Spec: config.md "Root" and "Mounts" (paths resolve inside the rootfs), config-linux.md
//! "Masked Paths", "Devices", "Default Devices", "Sysctl", runtime-linux.md "File
//! descriptors", "Dev symbolic links"; config.md "Process" (capabilities, cwd).
//! Trust model: the rootfs is hostile, config.json is trusted.

use gantry_tests::console::{read_all, ConsoleSocket};
use gantry_tests::runtime::runtime_binary;
use gantry_tests::{host, known_deviation, Bundle, Runtime, TestCtx};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

/// Drops the /dev tmpfs from the config so the (hostile) rootfs's own /dev is used.
fn without_dev_tmpfs(b: &mut Bundle) {
    b.remove_mount("/dev");
    for d in ["/dev/pts", "/dev/shm", "/dev/mqueue"] {
        std::fs::create_dir_all(b.host_path(d)).unwrap();
    }
}

fn dir_is_empty(p: &Path) -> bool {
    std::fs::read_dir(p)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

fn wait_file(p: &Path) -> bool {
    host::wait_until(Duration::from_secs(10), || p.exists())
}

/// What the observer container saw of a second container's runtime-side init.
struct Observation {
    log: String,
    binary_changed: bool,
}

/// Container A (the attacker) runs a script; container B is created (not started) in
/// A's PID namespace, so A sees B's init while it is still the runtime. A opens B's
/// /proc/PID/exe and lists its fds; after B is deleted, A tries to write the runtime
/// binary through the fd it kept. The runtime is a private COPY of the binary. With `ptrace`, A holds
/// CAP_SYS_PTRACE (as `--cap-add SYS_PTRACE` containers do), which lets it past the init's non-dumpable flag to
/// B's /proc/PID/exe: only the runtime's read-only seal stands between it and the binary then.
fn observe_created_init(t: &TestCtx, ptrace: bool) -> Observation {
    let copy_dir = t.path("runtime-copy");
    std::fs::create_dir_all(&copy_dir).unwrap();
    let copy = copy_dir.join("runtime");
    std::fs::copy(runtime_binary(), &copy).unwrap();
    let original = std::fs::read(&copy).unwrap();
    let rt = Runtime {
        binary: copy.clone(),
        ..t.rt.clone()
    };
    let mut a = t.bundle();
    a.sh("while [ ! -e /tmp/go ]; do sleep 0.02; done
         for d in /proc/[0-9]*; do
           p=${d#/proc/}
           [ \"$p\" = 1 ] && continue
           [ \"$p\" = $$ ] && continue
           exe=$(readlink $d/exe 2>/dev/null) || { echo \"noexe $p\" >> /tmp/log; continue; }
           case \"$exe\" in /bin/busybox|/bin/sleep) continue;; esac
           echo \"exe $p $exe\" >> /tmp/log
           for f in $d/fd/*; do
             [ -d \"$f\" ] && echo \"DIRFD $f $(readlink $f)\" >> /tmp/log
           done
           exec 5< $d/exe && echo \"opened $p\" >> /tmp/log
         done
         touch /tmp/opened
         while [ ! -e /tmp/go2 ]; do sleep 0.02; done
         if [ -e /proc/self/fd/5 ]; then
           (echo pwned > /proc/self/fd/5) 2>>/tmp/log && echo WROTE >> /tmp/log
         fi
         touch /tmp/done
         exec sleep 1000");
    if ptrace {
        for set in ["bounding", "effective", "permitted"] {
            a.push(
                &format!("process/capabilities/{set}"),
                serde_json::json!("CAP_SYS_PTRACE"),
            );
        }
    }
    a.write();
    let ida = t.id();
    let dir_a = a.dir.to_string_lossy().to_string();
    rt.cmd(&["create", "--bundle", &dir_a, &ida])
        .assert_success();
    let pid_a = t.state_json(&ida)["pid"].as_i64().unwrap();
    rt.cmd(&["start", &ida]).assert_success();
    let mut b = t.bundle();
    b.namespace("pid", Some(&format!("/proc/{pid_a}/ns/pid")))
        .args(&["true"]);
    b.write();
    let idb = t.id();
    let dir_b = b.dir.to_string_lossy().to_string();
    rt.cmd(&["create", "--bundle", &dir_b, &idb])
        .assert_success();
    std::fs::write(a.host_path("/tmp/go"), "").unwrap();
    assert!(
        wait_file(&a.host_path("/tmp/opened")),
        "observer never finished"
    );
    rt.cmd(&["delete", "--force", &idb]).assert_success();
    std::fs::write(a.host_path("/tmp/go2"), "").unwrap();
    assert!(
        wait_file(&a.host_path("/tmp/done")),
        "observer never finished"
    );
    let log = t.read_rootfs(&a, "/tmp/log");
    let now = std::fs::read(&copy).unwrap();
    Observation {
        log,
        binary_changed: now != original,
    }
}

#[test]
fn cve_2019_5736_runtime_binary_cannot_be_overwritten() {
    let t = TestCtx::new("cve20195736");
    let o = observe_created_init(&t, true);
    eprintln!("observer log:\n{}", o.log);
    assert!(
        o.log.contains("opened"),
        "the attacker never held the runtime's executable, so this proves nothing: {}",
        o.log
    );
    assert!(
        !o.binary_changed,
        "the container overwrote the runtime binary: {}",
        o.log
    );
    assert!(!o.log.contains("WROTE"), "{}", o.log);
}

#[test]
fn cve_2016_9962_no_host_dir_fds_reachable_in_init() {
    let t = TestCtx::new("cve20169962");
    let o = observe_created_init(&t, false);
    assert!(
        !o.log.contains("DIRFD"),
        "host directory fds reachable: {}",
        o.log
    );
}

#[test]
fn cve_2024_21626_cwd_through_proc_self_fd_is_refused_or_harmless() {
    let t = TestCtx::new("cve202421626");
    for n in 3..=9 {
        let mut b = t.bundle();
        b.cwd(&format!("/proc/self/fd/{n}"))
            .sh("for i in $(seq 40); do cd ..; done; \
             [ \"$(stat -c %d:%i .)\" = \"$(stat -c %d:%i /)\" ] && echo INSIDE || echo ESCAPED");
        let o = t.run(&b);
        assert!(!o.timed_out, "{o}");
        if o.success() {
            assert_eq!(
                o.stdout.trim(),
                "INSIDE",
                "cwd fd {n} escaped the rootfs: {o}"
            );
        }
    }
}

#[test]
fn cve_2024_21626_no_extra_fds_in_the_container() {
    let t = TestCtx::new("cve202421626fd");
    let mut b = t.bundle();
    // `ls` is the init: 0-2 plus its own directory fd 3.
    b.args(&["ls", "/proc/self/fd"]);
    let out = t.run_ok(&b);
    let mut fds: Vec<u32> = out.split_whitespace().map(|f| f.parse().unwrap()).collect();
    fds.sort();
    assert_eq!(fds, [0, 1, 2, 3], "fds leaked into the container: {out}");
}

#[test]
fn cve_2023_27561_proc_symlink_in_rootfs() {
    let t = TestCtx::new("cve202327561");
    let victim = t.path("victim");
    std::fs::create_dir_all(victim.join("sys/kernel")).unwrap();
    std::fs::write(victim.join("marker"), "m").unwrap();
    std::fs::write(victim.join("sys/kernel/shmmax"), "fake").unwrap();
    let mut b = t.bundle();
    std::fs::remove_dir(b.host_path("/proc")).unwrap();
    symlink(&victim, b.host_path("/proc")).unwrap();
    // CVE-2025-52881 too: sysctl writes must reach the real procfs or nothing.
    b.sysctl("kernel.shmmax", "424242")
        .readonly_paths(&[])
        .sh("stat -f -c %T /proc/; cat /proc/sys/kernel/shmmax");
    let o = t.run(&b);
    assert!(!o.timed_out, "{o}");
    if o.success() {
        assert_eq!(
            o.stdout, "proc\n424242\n",
            "/proc is not a real procfs: {o}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(victim.join("sys/kernel/shmmax")).unwrap(),
        "fake"
    );
    assert!(victim.join("marker").exists());
    let entries: Vec<_> = std::fs::read_dir(&victim).unwrap().collect();
    assert_eq!(entries.len(), 2, "files created in the symlink target");
    assert!(host::mounts_under(&t.dir).is_empty());
}

#[test]
fn cve_2025_31133_dev_null_symlink_does_not_redirect_masking() {
    let t = TestCtx::new("cve202531133");
    let mut b = t.bundle();
    without_dev_tmpfs(&mut b);
    symlink("/proc/sys/kernel/core_pattern", b.host_path("/dev/null")).unwrap();
    b.masked_paths(&["/proc/timer_list"])
        .sh("wc -c < /proc/timer_list; stat -c '%F %t:%T' /dev/null");
    let o = t.run(&b);
    assert!(!o.timed_out, "{o}");
    known_deviation("runc", "runc 1.1.5 predates the CVE-2025-31133 fix", || {
        if o.success() {
            assert_eq!(
                o.stdout, "0\ncharacter special file 1:3\n",
                "masking followed the /dev/null symlink: {o}"
            );
        }
    });
    let cp = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    assert!(!cp.contains("pwned"));
}

#[test]
fn cve_2025_52565_dev_console_symlink_with_terminal() {
    let t = TestCtx::new("cve202552565");
    let sock = ConsoleSocket::bind(&t.path("console.sock"));
    let mut b = t.bundle();
    without_dev_tmpfs(&mut b);
    symlink("/proc/sys/kernel/core_pattern", b.host_path("/dev/console")).unwrap();
    b.terminal(true)
        .sh("stat -c %F /proc/sys/kernel/core_pattern; stat -c %F /dev/console");
    b.write();
    let id = t.id();
    let o = t.create_with(
        &b,
        &id,
        &["--console-socket", sock.path().to_str().unwrap()],
    );
    assert!(!o.timed_out, "{o}");
    if !o.success() {
        t.assert_nothing_left(&id, &b);
        return;
    }
    let master = sock.master(Duration::from_secs(10));
    t.start(&id).assert_success();
    let out = read_all(master, Duration::from_secs(10));
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    known_deviation(
        "runc crun",
        "predates the CVE-2025-52565 fix (runc 1.1.5, crun 1.8.1)",
        || {
            assert_eq!(
                lines.first().copied(),
                Some("regular empty file"),
                "the console was mounted over a procfs file: {out:?}"
            );
        },
    );
}

fn assert_dev_symlink_harmless(keep_dev_tmpfs: bool, name: &str) {
    let t = TestCtx::new(name);
    let hostdev = t.path("hostdev");
    std::fs::create_dir_all(&hostdev).unwrap();
    let mut b = t.bundle();
    if !keep_dev_tmpfs {
        b.remove_mount("/dev");
    }
    std::fs::remove_dir(b.host_path("/dev")).unwrap();
    symlink(&hostdev, b.host_path("/dev")).unwrap();
    b.args(&["true"]);
    let o = t.run(&b);
    assert!(!o.timed_out, "{o}");
    assert!(host::mounts_under(&t.dir).is_empty());
    known_deviation("runc", "runc 1.1.5 creates /dev symlinks (fd, stdin, ptmx…) through a /dev symlink, outside the rootfs", || {
        let made: Vec<_> = std::fs::read_dir(&hostdev).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(made.is_empty(), "files created outside the rootfs: {made:?}");
    });
}

#[test]
fn cve_2026_41579_dev_symlink_with_dev_tmpfs() {
    assert_dev_symlink_harmless(true, "cve202641579a");
}

#[test]
fn cve_2026_41579_dev_symlink_without_dev_tmpfs() {
    // crun CVE-2026-47766 is the same attack on device creation.
    assert_dev_symlink_harmless(false, "cve202641579b");
}

#[test]
fn cve_2021_30465_mount_destination_through_symlink_stays_inside() {
    let t = TestCtx::new("cve202130465");
    let outside = t.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let mut b = t.bundle();
    symlink(&outside, b.host_path("/data")).unwrap();
    let depth = "../".repeat(30);
    let rel = format!("{depth}{}", outside.display()).replace("//", "/");
    symlink(&rel, b.host_path("/data2")).unwrap();
    // CVE-2024-45310 too: the runtime's MkdirAll of sub/deeper must stay inside.
    b.mount("/data/sub/deeper", "tmpfs", "tmpfs", &["size=1m"])
        .mount("/data2/other", "tmpfs", "tmpfs", &["size=1m"])
        .args(&["true"]);
    let o = t.run(&b);
    assert!(!o.timed_out, "{o}");
    assert!(
        dir_is_empty(&outside),
        "directories created outside the rootfs"
    );
    assert!(host::mounts_under(&t.dir).is_empty());
}

#[test]
fn cve_2022_29162_inheritable_capabilities_empty_unless_configured() {
    let t = TestCtx::new("cve202229162");
    let mut b = t.bundle();
    b.sh("grep CapInh /proc/self/status");
    assert_eq!(
        t.run_ok(&b).split_whitespace().nth(1),
        Some("0000000000000000")
    );
    let mut b = t.bundle();
    b.set(
        "process/capabilities/inheritable",
        serde_json::json!(["CAP_KILL"]),
    )
    .sh("grep CapInh /proc/self/status");
    assert_eq!(
        t.run_ok(&b).split_whitespace().nth(1),
        Some("0000000000000020")
    );
}

#[test]
fn podman_cve_2024_9676_passwd_symlink_to_host_fifo_does_not_hang() {
    let t = TestCtx::new("cve20249676");
    let fifo = t.path("fifo");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let mut b = t.bundle();
    std::fs::remove_file(b.host_path("/etc/passwd")).unwrap();
    symlink(&fifo, b.host_path("/etc/passwd")).unwrap();
    b.user(1000, 1000).args(&["true"]);
    b.write();
    let id = t.id();
    let dir = b.dir.to_string_lossy().to_string();
    let opts = gantry_tests::RunOpts {
        timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let o = t.rt_with(&["run", "--bundle", &dir, &id], &opts);
    assert!(!o.timed_out, "the runtime hung on a host FIFO: {o}");
}

#[test]
fn ghsa_q6r4_cwd_through_symlink_creates_nothing_outside() {
    let t = TestCtx::new("ghsaq6r4");
    let outside = t.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let mut b = t.bundle();
    symlink(&outside, b.host_path("/work")).unwrap();
    b.cwd("/work/newdir").args(&["true"]);
    let o = t.run(&b);
    assert!(!o.timed_out, "{o}");
    assert!(dir_is_empty(&outside), "cwd created outside the rootfs");
}

#[test]
fn rkt_cve_2019_10144_exec_is_confined_like_init() {
    let t = TestCtx::new("rktexec");
    let mut b = t.bundle();
    let probe = "cat /proc/self/cgroup; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; \
                 for n in pid mnt net; do readlink /proc/self/ns/$n; done";
    b.sh(&format!("({probe}) > /tmp/init-info; exec sleep 1000"));
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    assert!(wait_file(&b.host_path("/tmp/init-info")));
    let o = t.rt(&["exec", &id, "sh", "-c", probe]);
    o.assert_success();
    assert_eq!(o.stdout, t.read_rootfs(&b, "/tmp/init-info"));
}
