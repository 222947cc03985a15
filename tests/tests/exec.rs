//! `exec`: a new process in a running container's namespaces, cgroup and confinement, with runc's flags.
//! Spec: runtime.md has no exec; behaviour follows runc's CLI (`runc exec`), which podman and containerd use.

use gantry_tests::console::{read_all, ConsoleSocket};
use gantry_tests::{host, known_deviation, Bundle, RunOpts, TestCtx};
use std::time::Duration;

/// Creates and starts `b` (running `sleep 1000` unless it has other args) and returns its id.
fn running(t: &TestCtx, b: &Bundle) -> String {
    let id = t.id();
    t.create(b, &id).assert_success();
    t.start(&id).assert_success();
    id
}

/// The container init's host PID.
fn init_pid(t: &TestCtx, id: &str) -> i32 {
    t.state_json(id)["pid"].as_i64().unwrap() as i32
}

/// Runs `sh -c script` in the container; asserts success and returns its output lines.
#[track_caller]
fn exec_sh(t: &TestCtx, id: &str, script: &str) -> Vec<String> {
    exec_sh_with(t, id, &[], script)
}

/// [`exec_sh`] with extra `exec` flags.
#[track_caller]
fn exec_sh_with(t: &TestCtx, id: &str, flags: &[&str], script: &str) -> Vec<String> {
    let mut args = vec!["exec"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[id, "sh", "-c", script]);
    let o = t.rt(&args);
    o.assert_success();
    o.stdout.lines().map(String::from).collect()
}

fn sleeper(t: &TestCtx) -> Bundle {
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b
}

#[test]
fn exec_sees_the_containers_hostname_pid_namespace_and_cgroup() {
    let t = TestCtx::new("exec_ns");
    let b = sleeper(&t);
    let id = running(&t, &b);
    let init = init_pid(&t, &id);
    let lines = exec_sh(
        &t,
        &id,
        "hostname; echo $$; cat /proc/1/cmdline | tr '\\0' ' '",
    );
    let o = lines.join("\n");
    assert_eq!(lines[0], "gantry-test", "{o}");
    let pid: i32 = lines[1].parse().unwrap();
    assert!(
        pid > 1 && pid < 100,
        "exec'd shell must have a small pid in the container's pid ns: {o}"
    );
    assert_eq!(
        lines[2].trim(),
        "sleep 1000",
        "pid 1 is the container's init: {o}"
    );
    for ns in ["pid", "mnt", "net", "ipc", "uts", "cgroup"] {
        let o = t.rt(&["exec", &id, "readlink", &format!("/proc/self/ns/{ns}")]);
        o.assert_success();
        let want = std::fs::read_link(format!("/proc/{init}/ns/{ns}")).unwrap();
        assert_eq!(o.out(), want.to_string_lossy(), "{ns} namespace");
    }
    // The exec'd process is in the container's cgroup while it runs.
    let o = t.rt(&["exec", "-d", &id, "sleep", "1000"]);
    o.assert_success();
    let pids = host::pids_in_cgroup(&b.cgroups_path);
    assert_eq!(pids.len(), 2, "init and the detached exec: {pids:?}");
}

#[test]
fn exec_exit_status_env_cwd_and_user() {
    let t = TestCtx::new("exec_flags");
    let b = sleeper(&t);
    let id = running(&t, &b);
    t.rt(&["exec", &id, "sh", "-c", "exit 7"]).assert_code(7);
    t.rt(&["exec", &id, "sh", "-c", "kill -TERM $$"])
        .assert_code(128 + 15);
    let o = t.rt(&[
        "exec",
        "--env",
        "FOO=bar",
        "--cwd",
        "/etc",
        "--user",
        "1000:1001",
        "-g",
        "2000",
        &id,
        "sh",
        "-c",
        "echo $FOO $(pwd) $(id -u) $(id -g) $(id -G)",
    ]);
    o.assert_success();
    assert_eq!(o.out(), "bar /etc 1000 1001 1001 2000");
    // A missing cwd or command is a clear error, not a half-started process.
    t.rt(&["exec", "--cwd", "/nonexistent", &id, "true"])
        .assert_failure()
        .assert_error_mentions(&["/nonexistent"]);
    t.rt(&["exec", &id, "no-such-command"])
        .assert_failure()
        .assert_error_mentions(&["no-such-command"]);
}

#[test]
fn exec_process_json_is_used_as_given() {
    let t = TestCtx::new("exec_json");
    let b = sleeper(&t);
    let id = running(&t, &b);
    let p = t.path("process.json");
    std::fs::write(
        &p,
        serde_json::json!({
            "args": ["sh", "-c", "echo $X; id -u"], "env": ["X=from-json", "PATH=/bin"],
            "cwd": "/", "user": {"uid": 33, "gid": 33}
        })
        .to_string(),
    )
    .unwrap();
    let o = t.rt(&["exec", "--process", p.to_str().unwrap(), &id]);
    o.assert_success();
    assert_eq!(o.out(), "from-json\n33");
}

#[test]
fn exec_cap_adds_to_effective_but_never_inheritable() {
    let t = TestCtx::new("exec_cap");
    let b = sleeper(&t);
    let id = running(&t, &b);
    let status = |extra: &[&str]| -> (u64, u64) {
        let mut args = vec!["exec"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[&id, "grep", "-E", "^Cap(Inh|Eff)", "/proc/self/status"]);
        let o = t.rt(&args);
        o.assert_success();
        let val = |k: &str| {
            let l = o.stdout.lines().find(|l| l.starts_with(k)).unwrap();
            u64::from_str_radix(l.split_whitespace().nth(1).unwrap(), 16).unwrap()
        };
        (val("CapInh"), val("CapEff"))
    };
    let sys_admin = 1u64 << 21;
    let (inh, eff) = status(&[]);
    assert_eq!(eff & sys_admin, 0);
    assert_eq!(inh, 0);
    let (inh, eff) = status(&["--cap", "CAP_SYS_ADMIN"]);
    assert_ne!(eff & sys_admin, 0, "--cap CAP_SYS_ADMIN must be effective");
    assert_eq!(inh, 0, "CVE-2022-29162: inheritable must stay empty");
    known_deviation(
        "runc",
        "an unknown --cap is only a warning; the process runs",
        || {
            t.rt(&["exec", "--cap", "CAP_BOGUS", &id, "true"])
                .assert_failure()
                .assert_error_mentions(&["CAP_BOGUS"]);
        },
    );
}

#[test]
fn exec_is_seccomp_and_nnp_confined_and_leaks_no_fds() {
    let t = TestCtx::new("exec_conf");
    let mut b = sleeper(&t);
    b.set(
        "/linux/seccomp",
        serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdirat", "mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}),
    );
    let id = running(&t, &b);
    let o = t.rt(&[
        "exec",
        &id,
        "sh",
        "-c",
        "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; ls /proc/self/fd",
    ]);
    o.assert_success();
    assert!(o.stdout.contains("Seccomp:\t2"), "{o}");
    assert!(o.stdout.contains("NoNewPrivs:\t1"), "{o}");
    let fds: Vec<&str> = o.stdout.lines().skip(2).collect();
    assert_eq!(
        fds,
        ["0", "1", "2", "3"],
        "only stdio (and ls's own dir fd): {o}"
    );
    t.rt(&["exec", &id, "mkdir", "/x"])
        .assert_failure()
        .assert_error_mentions(&["not permitted"]);
}

#[test]
fn exec_with_tty_sends_the_pty_master_to_the_console_socket() {
    let t = TestCtx::new("exec_tty");
    let b = sleeper(&t);
    let id = running(&t, &b);
    let sock = ConsoleSocket::bind(&t.path("console.sock"));
    let o = t.rt(&[
        "exec",
        "-t",
        "-d",
        "--console-socket",
        sock.path().to_str().unwrap(),
        &id,
        "sh",
        "-c",
        "tty; [ -t 0 ] && echo interactive",
    ]);
    o.assert_success();
    let text = read_all(
        sock.master(Duration::from_secs(10)),
        Duration::from_secs(10),
    );
    assert!(text.contains("/dev/pts/"), "{text:?}");
    assert!(text.contains("interactive"), "{text:?}");
}

#[test]
fn exec_detach_writes_the_pid_file() {
    let t = TestCtx::new("exec_pidfile");
    let b = sleeper(&t);
    let id = running(&t, &b);
    let pf = t.path("exec.pid");
    t.rt(&[
        "exec",
        "-d",
        "--pid-file",
        pf.to_str().unwrap(),
        &id,
        "sleep",
        "1000",
    ])
    .assert_success();
    let pid: i32 = std::fs::read_to_string(&pf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    t.track_pid(pid);
    assert!(host::cmdline(pid).contains("sleep"));
    assert!(host::pids_in_cgroup(&b.cgroups_path).contains(&pid));
}

#[test]
fn exec_preserve_fds_passes_exactly_the_extra_descriptors() {
    let t = TestCtx::new("exec_fds");
    let b = sleeper(&t);
    let id = running(&t, &b);
    let f = t.path("extra");
    std::fs::write(&f, "hello-fd").unwrap();
    let opts = RunOpts {
        extra_fds: vec![f.clone()],
        ..RunOpts::default()
    };
    let o = t.rt_with(
        &["exec", "--preserve-fds", "1", &id, "cat", "/proc/self/fd/3"],
        &opts,
    );
    o.assert_success();
    assert_eq!(o.out(), "hello-fd");
}

#[test]
fn exec_into_a_stopped_or_paused_container_is_a_clear_error() {
    let t = TestCtx::new("exec_state");
    let mut b = t.bundle();
    b.args(&["true"]);
    let id = running(&t, &b);
    assert!(host::wait_until(Duration::from_secs(5), || t
        .status(&id)
        .as_deref()
        == Some("stopped")));
    let o = t.rt(&["exec", &id, "true"]);
    o.assert_failure().assert_error_mentions(&["stopped"]);
    assert_eq!(o.stderr.trim().lines().count(), 1, "one line: {o}");

    let b = sleeper(&t);
    let id = running(&t, &b);
    t.rt(&["pause", &id]).assert_success();
    t.rt(&["exec", &id, "true"])
        .assert_failure()
        .assert_error_mentions(&["paused", "--ignore-paused"]);
    let quick = RunOpts {
        timeout: Duration::from_secs(5),
        ..RunOpts::default()
    };
    known_deviation(
        "runc",
        "exec -d --ignore-paused hangs: runc waits for the frozen process to finish its setup",
        || {
            t.rt_with(&["exec", "-d", "--ignore-paused", &id, "true"], &quick)
                .assert_success();
        },
    );
    t.rt(&["resume", &id]).assert_success();
    t.rt(&["exec", &id, "true"]).assert_success();
}

#[test]
fn exec_lsm_flags_are_refused_clearly() {
    let t = TestCtx::new("exec_lsm");
    let b = sleeper(&t);
    let id = running(&t, &b);
    let o = t.rt(&["exec", "--apparmor", "foo", &id, "true"]);
    o.assert_failure().assert_error_mentions(&["apparmor"]);
    known_deviation(
        "runc",
        "the error is the kernel's EINVAL on /proc/self/attr/exec, not that AppArmor is absent",
        || {
            o.assert_error_mentions(&["not supported"]);
        },
    );
    t.rt(&["exec", "--process-label", "foo", &id, "true"])
        .assert_failure()
        .assert_error_mentions(&["selinux", "not supported"]);
}

#[test]
fn exec_forwards_signals_to_the_process() {
    let t = TestCtx::new("exec_sig");
    let b = sleeper(&t);
    let id = running(&t, &b);
    let rt = t.rt.clone();
    let id2 = id.clone();
    let h = std::thread::spawn(move || {
        rt.cmd(&[
            "exec",
            &id2,
            "sh",
            "-c",
            "trap 'echo got-term; exit 3' TERM; while :; do sleep 0.1; done",
        ])
    });
    // Find the runtime process running this exec and signal it.
    let found = host::wait_until(Duration::from_secs(10), || {
        host::pids_in_cgroup(&b.cgroups_path).len() >= 2
    });
    assert!(found, "exec'd shell never appeared");
    std::thread::sleep(Duration::from_millis(300));
    let in_container = host::pids_in_cgroup(&b.cgroups_path);
    let runtime_pid = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .find(|p| {
            let c = host::cmdline(*p);
            !in_container.contains(p) && c.contains(" exec ") && c.contains(&id)
        })
        .expect("the runtime's exec process");
    host::kill_pid(runtime_pid, rustix::process::Signal::TERM);
    let o = h.join().unwrap();
    o.assert_code(3);
    assert_eq!(o.out(), "got-term");
}

#[test]
fn exec_joins_the_containers_user_namespace_first() {
    let t = TestCtx::new("exec_userns");
    let mut b = t.bundle();
    b.namespace("user", None)
        .id_maps(0, 200000, 65536)
        .args(&["sleep", "1000"]);
    let id = running(&t, &b);
    let init = init_pid(&t, &id);
    let lines = exec_sh(&t, &id, "id -u; readlink /proc/self/ns/user; hostname");
    let o = lines.join("\n");
    assert_eq!(lines[0], "0", "root inside the user namespace: {o}");
    let want = std::fs::read_link(format!("/proc/{init}/ns/user")).unwrap();
    assert_eq!(lines[1], want.to_string_lossy());
    assert_eq!(lines[2], "gantry-test");
    // And on the host the exec'd process is the mapped uid.
    let o = t.rt(&["exec", "-d", &id, "sleep", "999"]);
    o.assert_success();
    let pid = host::pids_in_cgroup(&b.cgroups_path)
        .into_iter()
        .find(|p| host::cmdline(*p) == "sleep 999")
        .expect("the detached exec");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(uid.split_whitespace().nth(1), Some("200000"), "{uid}");
}

/// Every hierarchy of this hybrid host (v1 controllers, the unified mount) lists the container's cgroup for both
/// the init and an exec'd process: gantry's init and exec process move themselves into the v1 ones (`tasks`) and
/// are cloned into the unified one, runc writes `cgroup.procs`; the result must be the same.
#[test]
fn init_and_exec_are_in_the_containers_cgroup_in_every_hierarchy() {
    let t = TestCtx::new("exec_cg_all");
    let mut b = sleeper(&t);
    b.remove_namespace("cgroup");
    let id = running(&t, &b);
    let init = init_pid(&t, &id);
    let of_init = std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
    let of_exec = exec_sh(&t, &id, "cat /proc/self/cgroup").join("\n");
    for (who, text) in [("init", of_init.as_str()), ("exec", of_exec.as_str())] {
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.len() >= 2 && lines.iter().any(|l| l.starts_with("0::")),
            "{who}: expected v1 hierarchies and the unified one: {text}"
        );
        for line in lines {
            assert_eq!(
                line.splitn(3, ':').nth(2),
                Some(b.cgroups_path.as_str()),
                "{who}: {line} (all: {text})"
            );
        }
    }
}

#[test]
fn exec_cgroup_flag_places_the_process_in_a_sub_cgroup() {
    let t = TestCtx::new("exec_subcg");
    let b = sleeper(&t);
    let id = running(&t, &b);
    let memory = std::path::PathBuf::from(format!("/sys/fs/cgroup/memory{}", b.cgroups_path));
    if !memory.exists() {
        panic!("this test needs the v1 memory hierarchy at /sys/fs/cgroup/memory");
    }
    std::fs::create_dir(memory.join("sub")).unwrap();
    let lines = exec_sh_with(
        &t,
        &id,
        &["--cgroup", "memory:sub"],
        "grep memory /proc/self/cgroup",
    );
    assert!(lines[0].ends_with("/sub"), "{lines:?}");
    t.rt(&["exec", "--cgroup", "memory:../escape", &id, "true"])
        .assert_failure()
        .assert_error_mentions(&["../escape"]);
    t.rt(&["exec", "--cgroup", "memory:missing", &id, "true"])
        .assert_failure()
        .assert_error_mentions(&["missing"]);
}

#[test]
fn exec_tty_without_console_socket_relays_the_terminal() {
    let t = TestCtx::new("exec_tty_relay");
    let b = sleeper(&t);
    let id = running(&t, &b);
    // As `runc exec -t` typed at a shell (`script` gives the runtime a terminal): the runtime owns the pty and
    // copies it to its stdout.
    let cmd = format!(
        "{} --root {} exec -t {id} sh -c '[ -t 0 ] && [ -t 1 ] && tty; exit 5'",
        t.rt.binary.display(),
        t.rt.root.display()
    );
    let o = std::process::Command::new("timeout")
        .args(["20", "script", "-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running script(1) (util-linux)");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(5), "{stdout}");
    assert!(stdout.contains("/dev/pts/"), "{stdout}");
    t.rt(&["exec", "-t", "-d", &id, "true"])
        .assert_failure()
        .assert_error_mentions(&["console socket"]);
}
