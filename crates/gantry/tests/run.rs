//! `gantry run`, `ps` and `rm` end to end: the built binary, as root, with its store and state in a temp dir.
//! Each test leaves nothing behind (containers, mounts, cgroups, state), even when it fails: the `Env` guard
//! force-removes every container it knows and checks for leftovers.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

mod common;
use common::env::Env;
use common::{assert_no_cgroup, describe, sh, stdout, testbed_images};

#[test]
fn hello_prints_the_greeting_without_network() {
    let env = Env::bare("run");
    let o = env.gantry(&["run", "--rm", "hello"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert_eq!(stdout(&o), "Hello from Gantry!\n");
    // Second run: the image is already in the store.
    let o = env.gantry(&["run", "--rm", "hello"]);
    assert_eq!(stdout(&o), "Hello from Gantry!\n", "{}", describe(&o));
    assert!(env.ids().is_empty());
}

#[test]
fn exit_codes_pass_through() {
    let env = Env::with_busybox("run");
    let o = env.gantry(&["run", "--rm", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", describe(&o));
    let o = env.gantry(&["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(o.status.code(), Some(127), "{}", describe(&o));
    let o = env.gantry(&["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(o.status.code(), Some(126), "{}", describe(&o));
    let o = env.gantry(&["run", "--rm", "--pull", "never", "no-such-image"]);
    assert_eq!(o.status.code(), Some(125), "{}", describe(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("gantry pull"),
        "{}",
        describe(&o)
    );
    assert!(env.ids().is_empty());
}

#[test]
fn signals_are_forwarded() {
    let env = Env::with_busybox("run");
    // The container's init is PID 1 of its namespace: the kernel only delivers SIGTERM to a handler there.
    let script = "trap 'echo got-term; exit 7' TERM; echo ready; sleep 30 & wait";
    let mut child = env
        .cmd(&["run", "--rm", "busybox", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "got-term\n");
    assert_eq!(child.wait().unwrap().code(), Some(7));
}

#[test]
fn killed_container_exits_128_plus_signal() {
    let env = Env::with_busybox("run");
    let mut child = env
        .cmd(&["run", "--name", "sleeper", "busybox", "sleep", "30"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(|| {
        let o = env.gantry(&["ps"]);
        stdout(&o).contains("sleeper")
    });
    let o = env.gantry(&["rm", "-f", "sleeper"]);
    assert!(o.status.success(), "{}", describe(&o));
    assert_eq!(child.wait().unwrap().code(), Some(137));
    assert!(env.ids().is_empty(), "rm -f forgot the container");
}

#[test]
fn a_killed_gantry_takes_its_container_along() {
    // gantry supervises its foreground container: when it is SIGKILLed (systemd's last resort), the container
    // must not live on.
    let env = Env::with_busybox("run");
    let mut child = env
        .cmd(&[
            "run",
            "--name",
            "orphan",
            "busybox",
            "sh",
            "-c",
            "echo ready; exec sleep 1234",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let sleeper = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x001234\x00")
        })
    };
    wait_for(sleeper);
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
    let _ = child.wait();
    wait_for(|| !sleeper());
}

fn wait_for(mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out");
}

#[test]
fn env_workdir_and_user() {
    let env = Env::with_busybox("run");
    let o = env.gantry(&[
        "run",
        "--rm",
        "-e",
        "FOO=bar baz",
        "-w",
        "/tmp",
        "-u",
        "1000",
        "busybox",
        "sh",
        "-c",
        "echo $FOO; pwd; id -u; id -g",
    ]);
    assert_eq!(
        stdout(&o),
        "bar baz\n/tmp\n1000\n0\n", // uid 1000 is not in /etc/passwd: gid 0, as with docker
        "{}",
        describe(&o)
    );
    let o = env.gantry(&["run", "--rm", "-u", "1000:2000", "busybox", "id", "-g"]);
    assert_eq!(stdout(&o), "2000\n", "{}", describe(&o));
}

#[test]
fn bind_mounts_read_only_and_read_write() {
    let env = Env::with_busybox("run");
    let host = env.dir.path().join("vol");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "from host\n").unwrap();
    let ro = format!("{}:/data:ro", host.display());
    let o = env.gantry(&[
        "run",
        "--rm",
        "-v",
        &ro,
        "busybox",
        "sh",
        "-c",
        "cat /data/f; touch /data/x",
    ]);
    assert_eq!(stdout(&o), "from host\n", "{}", describe(&o));
    assert_ne!(
        o.status.code(),
        Some(0),
        "write to a read-only volume succeeded"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Read-only"),
        "{}",
        describe(&o)
    );
    assert!(!host.join("x").exists());
    let rw = format!("{}:/deep/data", host.display());
    let o = env.gantry(&[
        "run",
        "--rm",
        "-v",
        &rw,
        "busybox",
        "sh",
        "-c",
        "echo hi > /deep/data/x",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    assert_eq!(std::fs::read_to_string(host.join("x")).unwrap(), "hi\n");
}

#[test]
fn network_none_has_only_loopback_up() {
    let env = Env::with_busybox("run");
    let host_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
    let script = "ls /sys/class/net; cat /sys/class/net/lo/flags; readlink /proc/self/ns/net";
    let o = env.gantry(&[
        "run", "--rm", "--net", "none", "busybox", "sh", "-c", script,
    ]);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{}", describe(&o));
    assert_eq!(lines[0], "lo", "{}", describe(&o));
    // IFF_UP | IFF_LOOPBACK (| IFF_RUNNING on some kernels)
    let flags = u32::from_str_radix(lines[1].trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 0x9, 0x9, "lo is not up: {}", describe(&o));
    assert_ne!(
        lines[2],
        host_ns.to_str().unwrap(),
        "shares the host's network namespace"
    );
    let o = env.gantry(&[
        "run",
        "--rm",
        "--net",
        "host",
        "busybox",
        "readlink",
        "/proc/self/ns/net",
    ]);
    assert_eq!(
        stdout(&o).trim(),
        host_ns.to_str().unwrap(),
        "{}",
        describe(&o)
    );
}

#[test]
fn hostname_and_name() {
    let env = Env::with_busybox("run");
    let o = env.gantry(&["run", "--rm", "--hostname", "box1", "busybox", "hostname"]);
    assert_eq!(stdout(&o), "box1\n", "{}", describe(&o));
    let o = env.gantry(&["run", "--name", "twice", "busybox", "true"]);
    assert!(o.status.success(), "{}", describe(&o));
    let o = env.gantry(&["run", "--name", "twice", "busybox", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("in use"),
        "{}",
        describe(&o)
    );
}

#[test]
fn ps_lists_and_rm_removes_everything() {
    let env = Env::with_busybox("run");
    let o = env.gantry(&["run", "--name", "keep", "busybox", "sh", "-c", "exit 4"]);
    assert_eq!(o.status.code(), Some(4), "{}", describe(&o));
    let ps = stdout(&env.gantry(&["ps"]));
    assert!(
        !ps.contains("keep"),
        "exited container listed without -a:\n{ps}"
    );
    let ps = stdout(&env.gantry(&["ps", "-a"]));
    assert!(ps.starts_with("CONTAINER ID"), "{ps}");
    assert!(
        ps.contains("keep") && ps.contains("Exited (4)") && ps.contains("busybox"),
        "{ps}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&env.gantry(&["ps", "-a", "--format", "json"]).stdout).unwrap();
    assert_eq!(json[0]["name"], "keep");
    assert_eq!(json[0]["exit_code"], 4);
    assert_eq!(json[0]["state"], "exited");
    let id = json[0]["id"].as_str().unwrap().to_owned();
    let o = env.gantry(&["rm", "keep"]);
    assert!(o.status.success(), "{}", describe(&o));
    assert!(env.ids().is_empty());
    assert_no_cgroup(&id);
    assert!(!env.root().join("containers").join(&id).exists());
    let o = env.gantry(&["rm", "keep"]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
}

#[test]
fn detached_container_is_supervised_with_logs_exec_status_and_exit_code() {
    let env = Env::with_busybox("run");
    let o = env.gantry(&[
        "run",
        "-d",
        "--name",
        "bg",
        "busybox",
        "sh",
        "-c",
        "echo started; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo ending >&2; exit 3",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let id = stdout(&o).trim().to_owned();
    assert_eq!(id.len(), 64);
    let ps = stdout(&env.gantry(&["ps"]));
    assert!(ps.contains("bg") && ps.contains("Up"), "{ps}");
    let o = env.gantry(&["rm", "bg"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "removed a running container without -f"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("running"),
        "{}",
        describe(&o)
    );
    // The overlay lives only in the supervisor's mount namespace: nothing was mounted on the host.
    let inspect: serde_json::Value =
        serde_json::from_slice(&env.gantry(&["inspect", "bg"]).stdout).unwrap();
    let app_id = inspect[0]["plan"]["apps"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mi.contains(&id) && !mi.contains(&app_id),
        "the rootfs is mounted on the host:\n{mi}"
    );
    // Its output is kept by the supervisor: `gantry logs`, not a file of the container.
    wait_for(|| stdout(&env.gantry(&["logs", "bg"])) == "started\n");
    assert!(stdout(&env.gantry(&["status", "bg"])).contains("state=running"));
    let o = env.gantry(&["exec", "bg", "touch", "/tmp/go"]);
    assert!(o.status.success(), "{}", describe(&o));
    wait_for(|| env.gantry(&["status", "bg"]).status.code() == Some(1));
    let st = stdout(&env.gantry(&["status", "bg"]));
    assert!(
        st.contains("state=exited") && st.contains("\nexit-code=3\n"),
        "{st}"
    );
    let o = env.gantry(&["logs", "bg"]);
    assert_eq!(
        (stdout(&o).as_str(), common::stderr(&o).as_str()),
        ("started\n", "ending\n")
    );
    let inspect: serde_json::Value =
        serde_json::from_slice(&env.gantry(&["inspect", "bg"]).stdout).unwrap();
    assert_eq!(inspect[0]["exit_code"], 3, "{inspect}");
    assert!(stdout(&env.gantry(&["ps", "-a"])).contains("Exited (3)"));
    let o = env.gantry(&["rm", "bg"]);
    assert!(o.status.success(), "{}", describe(&o));
    assert_no_cgroup(&id);
    assert!(env.ids().is_empty());
}

#[test]
fn detached_rm_removes_itself_and_dit_keeps_a_shell() {
    let env = Env::with_busybox("run");
    let o = env.gantry(&["run", "-d", "--rm", "--name", "gone", "busybox", "true"]);
    assert!(o.status.success(), "{}", describe(&o));
    wait_for(|| env.ids().is_empty());
    let o = env.gantry(&["run", "-dit", "--name", "sh", "busybox", "sh"]);
    assert!(o.status.success(), "{}", describe(&o));
    std::thread::sleep(Duration::from_millis(300));
    let o = env.gantry(&["exec", "sh", "sh", "-c", "readlink /proc/1/fd/0"]);
    assert_eq!(stdout(&o), "/dev/pts/0\n", "{}", describe(&o));
    let o = env.gantry(&["stop", "-t", "1", "sh"]);
    assert!(o.status.success(), "{}", describe(&o));
    assert!(env.gantry(&["rm", "sh"]).status.success());
    assert!(env.ids().is_empty());
}

/// A foreground `gantry run` of one image leaves a record that `status`, `inspect` and `logs` understand.
#[test]
fn status_inspect_and_logs_of_a_foreground_container() {
    let env = Env::with_busybox("run");
    let o = env.gantry(&["run", "--name", "fg", "busybox", "sh", "-c", "exit 5"]);
    assert_eq!(o.status.code(), Some(5), "{}", describe(&o));
    let o = env.gantry(&["status", "fg"]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let st = stdout(&o);
    assert!(
        st.starts_with("container=")
            && st.contains(" name=fg\n")
            && st.contains("state=exited\n")
            && st.contains("exit-code=5\n"),
        "{st}"
    );
    let inspect: serde_json::Value =
        serde_json::from_slice(&env.gantry(&["inspect", "fg"]).stdout).unwrap();
    assert_eq!(inspect[0]["kind"], "container", "{inspect}");
    assert_eq!(inspect[0]["status"], "exited", "{inspect}");
    assert_eq!(inspect[0]["exit_code"], 5, "{inspect}");
    let o = env.gantry(&["logs", "fg"]);
    assert_eq!(o.status.code(), Some(125), "{}", describe(&o));
    assert!(
        common::stderr(&o).contains("foreground") && common::stderr(&o).contains("-d"),
        "{}",
        describe(&o)
    );
    // While it runs: state=running with its PID, exit 0.
    let mut run = env
        .cmd(&["run", "--name", "live", "busybox", "sleep", "300"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(|| stdout(&env.gantry(&["status", "live"])).contains("state=running"));
    let o = env.gantry(&["status", "live"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert!(
        stdout(&o).contains("state=running\npid="),
        "{}",
        describe(&o)
    );
    let o = env.gantry(&["stop", "-t", "0", "live"]);
    assert!(o.status.success(), "{}", describe(&o));
    assert_eq!(run.wait().unwrap().code(), Some(137));
    let o = env.gantry(&["status", "nosuch"]);
    assert_eq!(o.status.code(), Some(125), "{}", describe(&o));
    assert!(
        common::stderr(&o).contains("no pod or container"),
        "{}",
        describe(&o)
    );
    for n in ["fg", "live"] {
        assert!(env.gantry(&["rm", n]).status.success());
    }
}

#[test]
fn terminal_is_a_tty_sized_like_ours_and_gets_stdin() {
    let env = Env::with_busybox("run");
    let (code, out) = common::run_on_pty(
        env.cmd(&["run", "--rm", "-it", "busybox", "sh"]),
        b"tty; stty size; echo sum-$((40+2)); exit 5\n",
    );
    common::assert_shell_on_our_terminal(code, &out);
}

/// Stops the private registry (its recorded PID only) even when the test fails.
struct Registry(PathBuf);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = sh("registry.sh", &["stop"], &self.0);
    }
}

#[test]
fn missing_image_is_pulled_from_the_registry() {
    let env = Env::bare("run");
    let reg = Registry(env.dir.path().join("testbed"));
    let addr = sh("registry.sh", &["start"], &reg.0).trim().to_owned();
    let layout = testbed_images("gantry-run-images").join("oci");
    sh("registry.sh", &["push", layout.to_str().unwrap()], &reg.0);
    let image = format!("{addr}/testbed/busybox:latest");
    let o = env.gantry(&["-q", "run", "--rm", &image, "sh", "-c", "echo pulled"]);
    assert_eq!(stdout(&o), "pulled\n", "{}", describe(&o));
    // Now in the store: no registry needed.
    drop(reg);
    let o = env.gantry(&["run", "--rm", "--pull", "never", &image, "true"]);
    assert!(o.status.success(), "{}", describe(&o));
}

#[test]
fn stdin_only_with_interactive() {
    use std::io::Write;
    let env = Env::with_busybox("run");
    let feed = |args: &[&str]| {
        let mut c = env
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(b"piped in\n").unwrap();
        c.wait_with_output().unwrap()
    };
    let o = feed(&["run", "--rm", "-i", "busybox", "cat"]);
    assert_eq!(stdout(&o), "piped in\n", "{}", describe(&o));
    // Without -i the container reads /dev/null, as with docker.
    let o = feed(&["run", "--rm", "busybox", "cat"]);
    assert!(o.status.success(), "{}", describe(&o));
    assert_eq!(stdout(&o), "", "{}", describe(&o));
}

#[test]
fn concurrent_runs_share_the_store_and_names_stay_unique() {
    let env = Env::with_busybox("run");
    let children: Vec<_> = (0..4)
        .map(|i| {
            let script = format!("echo run-{i}");
            env.cmd(&["run", "--rm", "busybox", "sh", "-c", &script])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().unwrap();
        assert_eq!(stdout(&o), format!("run-{i}\n"), "{}", describe(&o));
    }
    let racers: Vec<_> = (0..3)
        .map(|_| {
            env.cmd(&["run", "--name", "same", "busybox", "true"])
                .stdin(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let codes: Vec<Option<i32>> = racers
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code())
        .collect();
    assert_eq!(
        codes.iter().filter(|c| **c == Some(0)).count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == Some(125)).count(),
        2,
        "{codes:?}"
    );
    assert_eq!(env.ids().len(), 1);
}
