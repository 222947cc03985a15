//! Pods end to end (issue 8): several apps under one supervisor, detached supervision (`-d`, `logs`, `exec`,
//! `stop`, `rm`, `status`), restart policies, a killed supervisor cleaned by `gc`, a 50-pod loop, bad input,
//! and systemd's NOTIFY_SOCKET. As root, with the built binary and a store and state of the test's own; every
//! test leaves no pod, container, mount, cgroup or runtime state behind, even when it fails.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::env::Env;
use common::{assert_no_cgroup, describe, stderr, stdout, GANTRY};

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// The value of `key` on the status line that starts with `line_prefix`.
fn field(status: &str, line_prefix: &str, key: &str) -> Option<String> {
    let line = status.lines().find(|l| l.starts_with(line_prefix))?;
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(String::from))
}

#[test]
fn two_apps_share_localhost_and_hostname_and_the_first_failure_is_the_exit_code() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&[
        "run", "--rm", "--name", "duo", "busybox", "--app-name", "web", "--", "sh", "-c",
        "echo hi > /tmp/index.html; httpd -f -p 8080 -h /tmp & sleep 3; exit 0",
        "---", "busybox", "--app-name", "client", "--", "sh", "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://localhost:8080/index.html && break; sleep 0.2; done; \
         hostname; cat /etc/hostname; grep -c duo /etc/hosts; exit 7",
    ]);
    assert_eq!(o.status.code(), Some(7), "{}", describe(&o));
    assert_eq!(stdout(&o), "hi\nduo\nduo\n1\n", "{}", describe(&o));
    assert!(env.ids().is_empty(), "--rm left the pod");
}

#[test]
fn exit_policy_first_ends_the_pod_when_one_app_exits() {
    let env = Env::with_busybox("pod");
    let start = Instant::now();
    let o = env.gantry(&[
        "run",
        "--rm",
        "--exit-policy",
        "first",
        "busybox",
        "sh",
        "-c",
        "exit 0",
        "---",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn detached_pod_logs_exec_stop_and_rm() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&[
        "run", "-d", "--name", "bg", "busybox", "--app-name", "talk", "--", "sh", "-c",
        "trap 'echo bye; exit 143' TERM; echo started; echo oops >&2; while true; do sleep 0.1; done",
        "---", "busybox", "--app-name", "idle", "--", "sleep", "300",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let id = stdout(&o).trim().to_owned();
    assert_eq!(id.len(), 64);
    let st = env.status("bg");
    assert!(st.contains("state=running"), "{st}");
    // The CLI is gone; the supervisor keeps the apps and their output.
    wait_for("the log", || {
        stdout(&env.gantry(&["logs", "bg", "talk"])).contains("started")
    });
    let o = env.gantry(&["logs", "bg", "talk"]);
    assert_eq!(stdout(&o), "started\n");
    assert_eq!(stderr(&o), "oops\n");
    let o = env.gantry(&["logs", "--since", "1h", "bg"]);
    assert!(stdout(&o).contains("talk| started"), "{}", describe(&o));
    let o = env.gantry(&[
        "exec",
        "bg",
        "--app",
        "idle",
        "sh",
        "-c",
        "hostname; ps -o comm | grep -c sleep; exit 4",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", describe(&o));
    assert_eq!(stdout(&o), "bg\n1\n");
    let ps = stdout(&env.gantry(&["ps"]));
    assert!(
        ps.contains("bg/talk") && ps.contains("bg/idle") && ps.contains("Up"),
        "{ps}"
    );
    let inspect: serde_json::Value =
        serde_json::from_slice(&env.gantry(&["inspect", "bg"]).stdout).unwrap();
    assert_eq!(inspect[0]["kind"], "pod");
    assert_eq!(inspect[0]["phase"], "running");
    assert_eq!(inspect[0]["plan"]["apps"][1]["name"], "idle");
    let o = env.gantry(&["rm", "bg"]);
    assert_eq!(o.status.code(), Some(1), "removed a running pod without -f");
    assert!(stderr(&o).contains("running"), "{}", describe(&o));
    // `logs -f` follows until the pod ends; stop it from here.
    let follow = env
        .cmd(&["logs", "-f", "bg", "talk"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let o = env.gantry(&["stop", "-t", "2", "bg"]);
    assert!(o.status.success(), "{}", describe(&o));
    let f = follow.wait_with_output().unwrap();
    assert_eq!(stdout(&f), "started\nbye\n");
    let st = env.status("bg");
    assert!(st.contains("state=exited"), "{st}");
    assert_eq!(
        field(&st, "app=talk", "exit-code").as_deref(),
        Some("143"),
        "{st}"
    );
    // sleep as PID 1 ignores SIGTERM: SIGKILL after the timeout.
    assert_eq!(
        field(&st, "app=idle", "exit-code").as_deref(),
        Some("137"),
        "{st}"
    );
    assert_eq!(
        field(&st, "exit-code", "exit-code").as_deref(),
        Some("143"),
        "{st}"
    );
    let o = env.gantry(&["rm", "bg"]);
    assert!(o.status.success(), "{}", describe(&o));
    assert_no_cgroup(&id);
    assert!(env.ids().is_empty());
}

#[test]
fn restart_on_failure_restarts_twice_then_gives_up() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&[
        "run",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", describe(&o));
    assert_eq!(stdout(&o), "run\nrun\nrun\n");
    let st = env.status("flaky");
    assert_eq!(field(&st, "app=", "restarts").as_deref(), Some("2"), "{st}");
    assert!(env.gantry(&["rm", "flaky"]).status.success());
}

/// The network namespace inode of process `pid`.
fn netns(pid: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/net"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether any process is in network namespace `ns` (as `net:[N]`).
fn netns_in_use(ns: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let n = e.file_name();
        n.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) && netns(&n.to_string_lossy()) == ns
    })
}

#[test]
fn killed_supervisor_takes_the_pod_down_and_gc_removes_the_rest() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&[
        "run", "-d", "--name", "victim", "busybox", "sleep", "300", "---", "busybox", "sleep",
        "300",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let id = stdout(&o).trim().to_owned();
    let st = env.status("victim");
    let sup = field(&st, "supervisor-pid", "supervisor-pid").expect("supervisor pid");
    let app = field(&st, "app=busybox ", "pid").expect("app pid");
    let ns = netns(&app);
    assert!(
        !ns.is_empty() && ns != netns("self"),
        "the pod has its own network namespace"
    );
    let state = env.dir.path().join("state");
    assert!(std::fs::read_dir(&state).unwrap().count() > 0);
    let st = Command::new("kill").args(["-9", &sup]).status().unwrap();
    assert!(st.success());
    wait_for("the apps to die", || {
        !Path::new(&format!("/proc/{app}")).exists()
            || std::fs::read_to_string(format!("/proc/{app}/stat")).is_ok_and(|s| s.contains(") Z"))
    });
    wait_for("the pod to show as exited", || {
        env.status("victim").contains("state=exited")
    });
    let o = env.gantry(&["gc", "--grace", "1h"]);
    assert!(o.status.success(), "{}", describe(&o));
    assert!(stdout(&o).contains("cgroup /gantry/"), "{}", describe(&o));
    assert_no_cgroup(&id);
    let left: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "runtime state left: {left:?}");
    assert!(
        !netns_in_use(&ns),
        "the pod's network namespace outlived its supervisor"
    );
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mi.contains(env.dir.path().to_str().unwrap()));
    // The record stays (exited) until the grace period has passed.
    assert!(env.status("victim").contains("state=exited"));
    let o = env.gantry(&["gc", "--grace", "0"]);
    assert!(stdout(&o).contains("pod victim"), "{}", describe(&o));
    assert!(env.ids().is_empty());
}

#[test]
fn fifty_pods_start_and_stop_leaving_nothing() {
    let env = Env::with_busybox("pod");
    for i in 0..50 {
        let name = format!("loop{i}");
        // Every fifth pod on the default CNI network, the others with --net none.
        let net = if i % 5 == 0 { "default" } else { "none" };
        let o = env.gantry(&[
            "run", "-d", "--rm", "--name", &name, "--net", net, "busybox", "sleep", "300", "---",
            "busybox", "sleep", "300",
        ]);
        assert!(o.status.success(), "pod {i}: {}", describe(&o));
        let id = stdout(&o).trim().to_owned();
        let o = env.gantry(&["stop", "-t", "0", &name]);
        assert!(o.status.success(), "pod {i}: {}", describe(&o));
        assert_no_cgroup(&id);
        assert_no_network_leftovers(&env, &id);
    }
    assert!(env.ids().is_empty(), "{:?}", env.ids());
}

#[test]
fn bad_input_fails_with_one_line_naming_the_flag_and_exit_125() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&[
        "run", "-d", "--name", "taken", "busybox", "sleep", "300", "---", "busybox", "sleep", "300",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "run",
                "--net",
                "nosuchnet",
                "busybox",
                "true",
                "---",
                "busybox",
                "true",
            ],
            "--net",
        ),
        (
            &[
                "run", "-p", "80", "busybox", "true", "---", "busybox", "true",
            ],
            "-p",
        ),
        (&["run", "-p", "1:2:3:4", "busybox", "true"], "-p"),
        (
            &[
                "run", "--name", "taken", "busybox", "true", "---", "busybox", "true",
            ],
            "--name",
        ),
        (
            &[
                "run",
                "--pull",
                "never",
                "busybox",
                "true",
                "---",
                "nosuchimage",
                "true",
            ],
            "nosuchimage",
        ),
        (
            &["run", "--restart", "sometimes", "busybox", "true"],
            "--restart",
        ),
    ];
    for (args, flag) in cases {
        let o = env.gantry(args);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", describe(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
        assert!(err.contains(flag), "{args:?}: does not name {flag}: {err}");
    }
    // Only the first pod exists; nothing of the refused ones was left.
    assert_eq!(env.ids().len(), 1);
    let containers = std::fs::read_dir(env.root().join("containers"))
        .unwrap()
        .count();
    assert_eq!(
        containers, 2,
        "only the running pod's two apps have a rootfs"
    );
}

/// Runs a foreground pod with NOTIFY_SOCKET bound by the test and returns (the messages, the time the first
/// arrived, the time the pod started).
fn notify_run(env: &Env, mode: &str, app: &[&str]) -> (Vec<String>, Duration) {
    let sock_path = env.dir.path().join("notify.sock");
    let _ = std::fs::remove_file(&sock_path);
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut args = vec!["run", "--rm", "--sdnotify", mode];
    args.extend_from_slice(app);
    let start = Instant::now();
    let child = env
        .cmd(&args)
        .env("NOTIFY_SOCKET", &sock_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).unwrap_or(0);
    let first = start.elapsed();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", describe(&o));
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    (msg.lines().map(String::from).collect(), first)
}

#[test]
fn notify_socket_ready_comes_from_the_app_or_from_gantry() {
    let env = Env::with_busybox("pod");
    // The app sends READY=1 itself after 1.5 s, with the host's python (busybox cannot send datagrams).
    let (msgs, at) = notify_run(
        &env,
        "container",
        &[
            "-v", "/usr:/usr:ro", "-v", "/usr/lib:/lib:ro", "-v", "/usr/lib64:/lib64:ro",
            "busybox", "sh", "-c",
            "sleep 1.5; test \"$NOTIFY_SOCKET\" = /run/notify/notify.sock && python3 -c \
             'import os, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b\"READY=1\", os.environ[\"NOTIFY_SOCKET\"])'",
        ],
    );
    assert_eq!(msgs, vec!["READY=1"]);
    assert!(
        at >= Duration::from_millis(1500),
        "READY=1 came before the app sent it ({at:?})"
    );
    // conmon: gantry says it once the apps run; the app never sees the socket.
    let (msgs, _) = notify_run(
        &env,
        "conmon",
        &[
            "busybox",
            "sh",
            "-c",
            "test -z \"$NOTIFY_SOCKET\" && sleep 0.5",
        ],
    );
    assert_eq!(msgs, vec!["READY=1"]);
}

// Engine defaults (issue 8 point 4), for single containers and pods alike.

#[test]
fn default_capabilities_seccomp_and_setuid_work_like_docker() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&[
        "run", "--rm", "busybox", "sh", "-c",
        "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status; touch /f && chown 1000:1000 /f && echo chown-ok; \
         unshare -n true 2>/dev/null || echo unshare-refused",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let out = stdout(&o);
    // Docker's 14: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW
    // SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
    assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.contains("CapBnd:\t00000000a80425fb"), "{out}");
    assert!(
        out.contains("Seccomp:\t2") && out.contains("NoNewPrivs:\t0"),
        "{out}"
    );
    assert!(
        out.contains("chown-ok") && out.contains("unshare-refused"),
        "{out}"
    );
}

#[test]
fn cap_drop_read_only_privileged_and_seccomp_files() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&[
        "run", "--rm", "--read-only", "--cap-drop", "CHOWN", "--cap-add", "sys_ptrace", "busybox", "sh", "-c",
        "touch /x 2>/dev/null || echo root-ro; touch /tmp/y && echo tmp-rw; chown 1 /tmp/y 2>/dev/null || echo chown-refused; \
         grep CapEff /proc/self/status",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let out = stdout(&o);
    assert!(
        out.contains("root-ro") && out.contains("tmp-rw") && out.contains("chown-refused"),
        "{out}"
    );
    assert!(out.contains("CapEff:\t00000000a80c25fa"), "{out}");
    let o = env.gantry(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "sh",
        "-c",
        "grep Seccomp: /proc/self/status; mount -t tmpfs t /tmp && echo mount-ok",
    ]);
    assert!(
        stdout(&o).contains("Seccomp:\t0") && stdout(&o).contains("mount-ok"),
        "{}",
        describe(&o)
    );
    let profile = env.dir.path().join("deny-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let o = env.gantry(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "sh",
        "-c",
        "mkdir /d || echo mkdir-refused",
    ]);
    assert!(stdout(&o).contains("mkdir-refused"), "{}", describe(&o));
    let o = env.gantry(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "no-new-privileges",
        "busybox",
        "grep",
        "-E",
        "^(Seccomp|NoNewPrivs):",
        "/proc/self/status",
    ]);
    assert_eq!(
        stdout(&o),
        "NoNewPrivs:\t1\nSeccomp:\t0\n",
        "{}",
        describe(&o)
    );
    let o = env.gantry(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=/nonexistent.json",
        "busybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("--security-opt"), "{}", describe(&o));
}

#[test]
fn init_is_pid_1_and_forwards_signals() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&["run", "--rm", "--init", "busybox", "ps", "-o", "pid,comm"]);
    assert!(stdout(&o).contains("1 gantry-init"), "{}", describe(&o));
    // sleep as PID 1 would ignore SIGTERM; under the init it is an ordinary process and dies of it.
    let child = env
        .cmd(&["run", "--rm", "--init", "busybox", "sleep", "300"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", describe(&o));
    assert!(start.elapsed() < Duration::from_secs(10));
}

// systemd (issue 8 point 5).

/// `gantry ARGS` as systemd's socket activation starts it, played by python: a listening socket at fd 3,
/// LISTEN_FDS=1, LISTEN_PID=gantry's; the socket's inode is the first line of the output.
fn socket_activated(env: &Env, args: &[&str]) -> Output {
    let script = "import os, socket, sys\n\
        s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n\
        os.dup2(s.fileno(), 3); os.set_inheritable(3, True)\n\
        os.environ['LISTEN_FDS'] = '1'; os.environ['LISTEN_PID'] = str(os.getpid())\n\
        print(os.fstat(3).st_ino, flush=True)\n\
        os.execv(sys.argv[1], sys.argv[1:])\n";
    let mut c = Command::new("python3");
    c.arg("-c").arg(script).arg(GANTRY);
    c.arg("--root")
        .arg(env.root())
        .arg("--state-root")
        .arg(env.dir.path().join("state"));
    c.args(args);
    c.stdin(Stdio::null()).output().unwrap()
}

#[test]
fn socket_activation_reaches_the_first_app_only() {
    let env = Env::with_busybox("pod");
    let o = socket_activated(
        &env,
        &[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo first $LISTEN_FDS $LISTEN_PID $(readlink /proc/self/fd/3 | cut -c1-7)",
            "---",
            "busybox",
            "sh",
            "-c",
            "sleep 0.3; echo second ${LISTEN_FDS:-none} $(readlink /proc/self/fd/3 | cut -c1-7)",
        ],
    );
    assert!(o.status.success(), "{}", describe(&o));
    let out = stdout(&o);
    assert!(out.contains("first 1 1 socket:"), "{out}");
    assert!(
        out.contains("second none") && !out.contains("second none socket"),
        "{out}"
    );
}

#[test]
fn generate_systemd_prints_a_notify_unit_that_recreates_the_pod() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&[
        "run",
        "-d",
        "--name",
        "unit",
        "--restart",
        "on-failure:3",
        "busybox",
        "--app-name",
        "web",
        "-e",
        "MSG=a b",
        "--",
        "sh",
        "-c",
        "echo $MSG; sleep 300",
        "---",
        "busybox",
        "sleep",
        "300",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let o = env.gantry(&["generate", "systemd", "unit"]);
    assert!(o.status.success(), "{}", describe(&o));
    let u = stdout(&o);
    for want in [
        "Type=notify\n",
        "NotifyAccess=all\n",
        "KillMode=mixed\n",
        "SuccessExitStatus=143\n",
        " run --rm --name unit --net none --restart on-failure:3 --sdnotify conmon busybox --app-name web -e \"MSG=a b\" -- sh -c \"echo $$MSG; sleep 300\" --- busybox --app-name busybox -- sleep 300\n",
    ] {
        assert!(u.contains(want), "missing {want:?} in:\n{u}");
    }
    assert!(env.gantry(&["rm", "-f", "unit"]).status.success());
}

#[test]
fn pid_pod_shares_the_first_apps_pid_namespace() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&[
        "run",
        "--rm",
        "--pid",
        "pod",
        "busybox",
        "sleep",
        "3",
        "---",
        "busybox",
        "sh",
        "-c",
        "sleep 0.5; ps -o pid,comm",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    assert!(stdout(&o).contains("1 sleep"), "{}", describe(&o));
}

/// The first of `files` (cgroup v1 or v2 names) that exists under the app's cgroup in some hierarchy.
fn cgroup_value(pod: &str, app: &str, files: &[&str]) -> Option<String> {
    let mut roots = vec![PathBuf::from("/sys/fs/cgroup")];
    roots.extend(
        std::fs::read_dir("/sys/fs/cgroup")
            .ok()?
            .flatten()
            .map(|e| e.path()),
    );
    for r in roots {
        for f in files {
            let p = r.join("gantry").join(pod).join(app).join(f);
            if let Ok(v) = std::fs::read_to_string(&p) {
                return Some(v.trim().to_owned());
            }
        }
    }
    None
}

#[test]
fn resource_limits_reach_the_apps_cgroup_and_rlimits() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "lim",
        "busybox",
        "--app-name",
        "capped",
        "--memory",
        "64m",
        "--pids-limit",
        "20",
        "--cpus",
        "0.5",
        "--ulimit",
        "nofile=100:200",
        "--",
        "sleep",
        "300",
        "---",
        "busybox",
        "sleep",
        "300",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let pod = stdout(&o).trim().to_owned();
    assert_eq!(
        cgroup_value(&pod, "capped", &["memory.limit_in_bytes", "memory.max"]).as_deref(),
        Some("67108864")
    );
    assert_eq!(
        cgroup_value(&pod, "capped", &["pids.max"]).as_deref(),
        Some("20")
    );
    let cpu = cgroup_value(&pod, "capped", &["cpu.cfs_quota_us", "cpu.max"]).unwrap_or_default();
    assert!(cpu.starts_with("50000"), "cpu quota {cpu:?}");
    // The other app has no limits of its own.
    assert_ne!(
        cgroup_value(&pod, "busybox", &["pids.max"]).as_deref(),
        Some("20")
    );
    let o = env.gantry(&["exec", "lim", "sh", "-c", "ulimit -n; ulimit -Hn"]);
    assert_eq!(stdout(&o), "100\n200\n", "{}", describe(&o));
    assert!(env.gantry(&["stop", "-t", "0", "lim"]).status.success());
    assert_no_cgroup(&pod);
}

#[test]
fn detached_terminal_keeps_a_shell_alive_and_logs_its_output() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&["run", "-dit", "--name", "tty", "busybox", "sh"]);
    assert!(o.status.success(), "{}", describe(&o));
    let pod = stdout(&o).trim().to_owned();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        env.status("tty").contains("state=running"),
        "an interactive shell on a pty must not see end of file"
    );
    let o = env.gantry(&[
        "exec",
        "tty",
        "sh",
        "-c",
        "readlink /proc/1/fd/0; echo to-the-pty > /proc/1/fd/1",
    ]);
    assert_eq!(stdout(&o), "/dev/pts/0\n", "{}", describe(&o));
    wait_for("the pty output in the log", || {
        stdout(&env.gantry(&["logs", "tty"])).contains("to-the-pty")
    });
    let start = Instant::now();
    assert!(env.gantry(&["stop", "-t", "1", "tty"]).status.success());
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "stop took {:?}",
        start.elapsed()
    );
    assert!(env.status("tty").contains("state=exited"));
    assert!(env.gantry(&["rm", "tty"]).status.success());
    assert_no_cgroup(&pod);
}

#[test]
fn stop_also_stops_a_single_container() {
    let env = Env::with_busybox("pod");
    let run = env
        .cmd(&["run", "--name", "one", "busybox", "sleep", "300"])
        .spawn()
        .unwrap();
    wait_for("the container to run", || {
        stdout(&env.gantry(&["ps"])).contains("one")
    });
    let o = env.gantry(&["stop", "-t", "1", "one"]);
    assert!(o.status.success(), "{}", describe(&o));
    let o = run.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(137),
        "sleep as PID 1 ignores SIGTERM: SIGKILL after -t"
    );
    assert!(stdout(&env.gantry(&["ps", "-a"])).contains("Exited (137)"));
    assert!(env.gantry(&["rm", "one"]).status.success());
    let o = env.gantry(&["stop", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nosuch"), "{}", describe(&o));
}

// CNI networking (issue 8 point 3, through gantry-net): the built-in `default` network (bridge gantry0).

/// A TCP port free on the host right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where host-local keeps gantry0's leases: the `dataDir` of the conflist gantry used (host-wide, written on
/// first use), else host-local's default.
fn gantry0_lease_dir() -> std::path::PathBuf {
    let file = "/etc/gantry/net.d/gantry0.conflist";
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let conf: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dir = conf["plugins"]
        .as_array()
        .and_then(|ps| ps.iter().find_map(|p| p["ipam"]["dataDir"].as_str()))
        .unwrap_or("/var/lib/cni/networks");
    std::path::Path::new(dir).join("gantry0")
}

/// Nothing of pod `id` in iptables, no IPAM lease naming it, no namespace file.
fn assert_no_network_leftovers(env: &Env, id: &str) {
    let rules = Command::new("iptables-save").output().unwrap();
    assert!(!stdout(&rules).contains(id), "iptables rules of {id} left");
    let nat = Command::new("iptables-save")
        .args(["-t", "nat"])
        .output()
        .unwrap();
    assert!(!stdout(&nat).contains(id), "nat rules of {id} left");
    let leases = gantry0_lease_dir();
    let rd = std::fs::read_dir(&leases).unwrap_or_else(|e| {
        panic!(
            "gantry0's lease directory {} (host-local's dataDir in the conflist gantry used): {e}",
            leases.display()
        )
    });
    for e in rd.flatten() {
        let body = std::fs::read_to_string(e.path()).unwrap_or_default();
        assert!(
            !body.contains(id),
            "lease {} of {id} left",
            e.path().display()
        );
    }
    assert!(
        !env.root().join("netns").join(id).exists(),
        "netns of {id} left"
    );
}

/// `eth0`'s IPv4 address and the default gateway inside pod `name`.
fn pod_addresses(env: &Env, name: &str) -> (String, String) {
    let o = env.gantry(&[
        "exec", name, "sh", "-c",
        "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1; ip route | awk '/default/ {print $3}'",
    ]);
    let out = stdout(&o);
    let mut l = out.lines();
    (
        l.next().unwrap_or_default().to_owned(),
        l.next().unwrap_or_default().to_owned(),
    )
}

#[test]
fn pods_on_the_default_network_reach_each_other_and_publish_ports() {
    let env = Env::with_busybox("pod");
    let port = free_port().to_string();
    let publish = format!("{port}:8080");
    let o = env.gantry(&[
        "run",
        "-d",
        "--name",
        "neta",
        "--net",
        "default",
        "-p",
        &publish,
        "--add-host",
        "db.example:10.1.2.3",
        "--dns",
        "192.0.2.53",
        "busybox",
        "sh",
        "-c",
        "echo hello-a > /tmp/i.html; httpd -f -p 8080 -h /tmp",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let a = stdout(&o).trim().to_owned();
    let o = env.gantry(&[
        "run", "-d", "--name", "netb", "--net", "default", "busybox", "sleep", "300",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let b = stdout(&o).trim().to_owned();
    let (a_ip, gw) = pod_addresses(&env, "neta");
    assert!(a_ip.starts_with("10.89."), "pod a's address {a_ip:?}");
    // Pod b reaches pod a by IP across the bridge.
    let url = format!("http://{a_ip}:8080/i.html");
    let o = env.gantry(&["exec", "netb", "wget", "-q", "-O", "-", &url]);
    assert_eq!(stdout(&o), "hello-a\n", "{}", describe(&o));
    // The host reaches the published port (an HTTP request by hand, through portmap's DNAT).
    use std::io::{Read, Write};
    let mut resp = String::new();
    for _ in 0..50 {
        if let Ok(mut c) = std::net::TcpStream::connect(format!("{gw}:{port}")) {
            c.write_all(b"GET /i.html HTTP/1.0\r\n\r\n").unwrap();
            let _ = c.read_to_string(&mut resp);
            if resp.contains("hello-a") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        resp.starts_with("HTTP/1.") && resp.contains("hello-a"),
        "{resp:?}"
    );
    // /etc/hosts names the pod on its address, --add-host; resolv.conf has --dns.
    let o = env.gantry(&[
        "exec",
        "neta",
        "cat",
        "/etc/hosts",
        "/etc/resolv.conf",
        "/etc/hostname",
    ]);
    let etc = stdout(&o);
    assert!(etc.contains(&format!("{a_ip}\tneta")), "{etc}");
    assert!(
        etc.contains("10.1.2.3\tdb.example") && etc.contains("nameserver 192.0.2.53"),
        "{etc}"
    );
    // A second pod asking for the same host port is refused before anything is made.
    let o = env.gantry(&["run", "--net", "default", "-p", &publish, "busybox", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", describe(&o));
    assert!(
        stderr(&o).contains("-p") && stderr(&o).lines().count() == 1,
        "{}",
        describe(&o)
    );
    for p in ["neta", "netb"] {
        assert!(env.gantry(&["rm", "-f", p]).status.success());
    }
    assert_no_network_leftovers(&env, &a);
    assert_no_network_leftovers(&env, &b);
    std::net::TcpListener::bind(format!("0.0.0.0:{port}"))
        .expect("the published port is free again");
}

#[test]
fn killed_cni_pod_supervisor_then_gc_releases_its_network() {
    let env = Env::with_busybox("pod");
    let port = free_port().to_string();
    let publish = format!("{port}:80");
    let o = env.gantry(&[
        "run", "-d", "--name", "netkill", "--net", "default", "-p", &publish, "busybox", "sleep",
        "300",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let id = stdout(&o).trim().to_owned();
    let st = env.status("netkill");
    let sup = field(&st, "supervisor-pid", "supervisor-pid").expect("supervisor pid");
    assert!(env.root().join("netns").join(&id).exists());
    assert!(Command::new("kill")
        .args(["-9", &sup])
        .status()
        .unwrap()
        .success());
    wait_for("the pod to show as exited", || {
        env.status("netkill").contains("state=exited")
    });
    let o = env.gantry(&["gc", "--grace", "0"]);
    assert!(o.status.success(), "{}", describe(&o));
    assert!(
        stdout(&o).contains("networks of netkill"),
        "{}",
        describe(&o)
    );
    assert_no_network_leftovers(&env, &id);
    assert_no_cgroup(&id);
    assert!(env.ids().is_empty());
    std::net::TcpListener::bind(format!("0.0.0.0:{port}"))
        .expect("the published port is free again");
}

// The supervisor's remaining gaps (issue 8, second round).

#[test]
fn foreground_pod_sigkills_an_app_ignoring_sigterm_after_the_stop_timeout() {
    let env = Env::with_busybox("pod");
    // sleep as PID 1 ignores SIGTERM (no handler): only the escalation ends it.
    let run = env
        .cmd(&[
            "run",
            "--name",
            "fgstop",
            "--stop-timeout",
            "2",
            "busybox",
            "sleep",
            "300",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the pod to run", || {
        field(&env.status("fgstop"), "app=", "pid").is_some()
    });
    let st = env.status("fgstop");
    let pod = field(&st, "pod=", "pod").unwrap();
    let app_pid = field(&st, "app=", "pid").unwrap();
    let app_start = std::fs::read_to_string(format!("/proc/{app_pid}/stat")).unwrap();
    let gantry = rustix::process::Pid::from_raw(run.id() as i32).unwrap();
    rustix::process::kill_process(gantry, rustix::process::Signal::TERM).unwrap();
    let start = Instant::now();
    let o = run.wait_with_output().unwrap();
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(137), "{}", describe(&o));
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "stopping took {took:?} with --stop-timeout 2"
    );
    assert_ne!(
        std::fs::read_to_string(format!("/proc/{app_pid}/stat")).ok(),
        Some(app_start),
        "the app outlived its pod"
    );
    // A normal end: the exit is recorded and everything but the record is gone.
    let st = env.status("fgstop");
    assert!(st.contains("state=exited"), "{st}");
    for line in ["exit-code", "app="] {
        assert_eq!(
            field(&st, line, "exit-code").as_deref(),
            Some("137"),
            "{st}"
        );
    }
    assert_no_cgroup(&pod);
    assert!(env.gantry(&["rm", "fgstop"]).status.success());
}

#[test]
fn stop_without_t_uses_the_pods_stop_timeout_and_generate_matches_it() {
    let env = Env::with_busybox("pod");
    let o = env.gantry(&[
        "run",
        "-d",
        "--name",
        "st",
        "--stop-timeout",
        "1",
        "busybox",
        "sleep",
        "300",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let pod = stdout(&o).trim().to_owned();
    let u = stdout(&env.gantry(&["generate", "systemd", "st"]));
    assert!(
        u.contains(" --stop-timeout 1 ") && u.contains("TimeoutStopSec=11\n"),
        "{u}"
    );
    let u = stdout(&env.gantry(&["generate", "systemd", "-t", "30", "st"]));
    assert!(
        u.contains(" --stop-timeout 30 ") && u.contains("TimeoutStopSec=40\n"),
        "{u}"
    );
    let start = Instant::now();
    assert!(env.gantry(&["stop", "st"]).status.success());
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
    let st = env.status("st");
    assert_eq!(
        field(&st, "app=", "exit-code").as_deref(),
        Some("137"),
        "{st}"
    );
    assert!(env.gantry(&["rm", "st"]).status.success());
    assert_no_cgroup(&pod);
}

#[test]
fn foreground_pod_with_it_puts_the_first_app_on_our_terminal() {
    let env = Env::with_busybox("pod");
    let (code, out) = common::run_on_pty(
        env.cmd(&[
            "run",
            "--rm",
            "-it",
            "--name",
            "ttypod",
            "busybox",
            "sh",
            "---",
            "busybox",
            "sh",
            "-c",
            "sleep 0.5; echo second-$((1+1))",
        ]),
        b"tty; stty size; sleep 1; echo sum-$((40+2)); exit 5\n",
    );
    common::assert_shell_on_our_terminal(code, &out);
    assert!(
        out.contains("second-2"),
        "the second app's output is missing:\n{out}"
    );
    assert!(env.ids().is_empty(), "--rm left the pod");
}

#[test]
fn socket_activation_reaches_the_first_app_of_a_detached_pod() {
    let env = Env::with_busybox("pod");
    let o = socket_activated(
        &env,
        &[
            "run",
            "-d",
            "--name",
            "sockd",
            "busybox",
            "sh",
            "-c",
            "echo first $LISTEN_FDS $LISTEN_PID $(readlink /proc/self/fd/3); sleep 300",
            "---",
            "busybox",
            "sh",
            "-c",
            "echo second ${LISTEN_FDS:-none} $(readlink /proc/self/fd/3 | cut -c1-7); sleep 300",
        ],
    );
    assert!(o.status.success(), "{}", describe(&o));
    // The socket systemd made (its inode) is the one the app holds.
    let ino = stdout(&o).lines().next().unwrap().trim().to_owned();
    wait_for("both apps' output", || {
        let l = stdout(&env.gantry(&["logs", "sockd"]));
        l.contains("first") && l.contains("second")
    });
    let logs = stdout(&env.gantry(&["logs", "sockd"]));
    assert!(
        logs.contains(&format!("first 1 1 socket:[{ino}]")),
        "{logs}"
    );
    assert!(
        logs.contains("second none") && !logs.contains("second none socket"),
        "{logs}"
    );
    // The supervisor keeps the socket for restarts, close-on-exec: what it execs (CNI plugins) must not get it.
    let sup = field(&env.status("sockd"), "supervisor-pid=", "supervisor-pid").unwrap();
    let info = std::fs::read_to_string(format!("/proc/{sup}/fdinfo/3")).unwrap();
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .map(|f| u32::from_str_radix(f.trim(), 8).unwrap())
        .unwrap();
    assert_ne!(
        flags & libc::O_CLOEXEC as u32,
        0,
        "fd 3 of the supervisor: {info}"
    );
    assert!(env.gantry(&["stop", "-t", "0", "sockd"]).status.success());
    let pod = field(&env.status("sockd"), "pod=", "pod").unwrap();
    assert!(env.gantry(&["rm", "sockd"]).status.success());
    assert_no_cgroup(&pod);
}

/// CVE-2019-5736 for the engine: the processes that start apps (`gantry run`, the detached pod's supervisor, whose
/// forks become the apps' inits) run from a read-only file, so an app that reaches `/proc/PID/exe` of one of them
/// cannot rewrite the host's gantry binary. The binary under test itself sits on a writable mount.
#[test]
fn pod_supervisor_runs_from_a_read_only_executable() {
    let installed = rustix::fs::statvfs(GANTRY).unwrap();
    assert!(
        !installed
            .f_flag
            .contains(rustix::fs::StatVfsMountFlags::RDONLY),
        "{GANTRY} is on a read-only mount: this test would prove nothing"
    );
    let env = Env::with_busybox("pod");
    let o = env.gantry(&["run", "-d", "--name", "sealed", "busybox", "sleep", "300"]);
    assert!(o.status.success(), "{}", describe(&o));
    let sup =
        field(&env.status("sealed"), "supervisor-pid", "supervisor-pid").expect("supervisor pid");
    let exe = format!("/proc/{sup}/exe");
    let st = rustix::fs::statvfs(exe.as_str()).unwrap();
    assert!(
        st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
        "the supervisor's executable is writable"
    );
    let w = rustix::fs::open(
        exe.as_str(),
        rustix::fs::OFlags::WRONLY,
        rustix::fs::Mode::empty(),
    );
    assert!(w.is_err(), "opened the supervisor's executable for writing");
    assert!(env.gantry(&["stop", "-t", "0", "sealed"]).status.success());
}
