//! Lifecycle and CLI verbs.
//! Spec: runtime.md "State", "Lifecycle", "Errors", "Operations" (state, create, start,
//! kill, delete); runc CLI compatibility (run, --detach, list, --pid-file, spec, features).

use gantry_tests::host;
use gantry_tests::{known_deviation, Bundle, TestCtx};
use std::time::Duration;

/// A container that marks /tmp/started, then sleeps until killed.
fn sleeper(t: &TestCtx) -> Bundle {
    let mut b = t.bundle();
    b.sh("touch /tmp/started; exec sleep 1000");
    b
}

#[track_caller]
fn one_line_error(o: &gantry_tests::Output) {
    o.assert_code(1);
    let lines = o.stderr.trim().lines().count();
    assert_eq!(lines, 1, "error should be one line: {o}");
}

#[test]
fn create_reports_created_state_and_does_not_run_the_program() {
    let t = TestCtx::new("create_state");
    let mut b = sleeper(&t);
    b.annotation("org.gantry.test", "yes");
    let id = t.id();
    t.create(&b, &id).assert_success();
    let st = t.state_json(&id);
    assert!(
        st["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "{st}"
    );
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["status"], "created");
    let pid = st["pid"].as_i64().expect("pid");
    assert!(pid > 0, "{st}");
    assert_eq!(st["bundle"].as_str(), Some(b.dir.to_str().unwrap()));
    assert!(st["bundle"].as_str().unwrap().starts_with('/'));
    assert_eq!(st["annotations"]["org.gantry.test"], "yes", "{st}");
    // While created, the user program has not been executed.
    assert!(
        !b.host_path("/tmp/started").exists(),
        "program ran before start"
    );
    assert!(
        !host::cmdline(pid as i32).contains("sleep"),
        "program exec'd before start"
    );
    t.start(&id).assert_success();
    assert!(host::wait_until(Duration::from_secs(5), || b
        .host_path("/tmp/started")
        .exists()));
    assert_eq!(t.status(&id).as_deref(), Some("running"));
    assert!(host::cmdline(pid as i32).contains("sleep"));
    t.kill(&id, "KILL").assert_success();
    t.wait_status(&id, "stopped");
    t.delete(&id).assert_success();
    t.assert_nothing_left(&id, &b);
}

#[test]
fn start_twice_fails() {
    let t = TestCtx::new("start_twice");
    let b = sleeper(&t);
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    t.start(&id).assert_failure();
    assert_eq!(t.status(&id).as_deref(), Some("running"));
}

#[test]
fn start_of_stopped_container_fails() {
    let t = TestCtx::new("start_stopped");
    let mut b = t.bundle();
    b.args(&["true"]);
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    t.wait_status(&id, "stopped");
    t.start(&id).assert_failure();
}

#[test]
fn delete_of_running_container_without_force_fails() {
    let t = TestCtx::new("delete_running");
    let b = sleeper(&t);
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    t.delete(&id).assert_failure();
    assert_eq!(
        t.status(&id).as_deref(),
        Some("running"),
        "delete must not affect it"
    );
}

#[test]
fn delete_force_of_running_container_removes_everything() {
    let t = TestCtx::new("delete_force");
    let b = sleeper(&t);
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    let pid = t.state_json(&id)["pid"].as_i64().unwrap() as i32;
    t.rt(&["delete", "--force", &id]).assert_success();
    assert!(host::wait_until(Duration::from_secs(5), || {
        !host::pid_alive(pid)
    }));
    t.assert_nothing_left(&id, &b);
}

#[test]
fn delete_of_created_container_fails_without_force() {
    let t = TestCtx::new("delete_created");
    let b = sleeper(&t);
    let id = t.id();
    t.create(&b, &id).assert_success();
    let o = t.delete(&id);
    // runtime.md: deleting a container that is not stopped MUST fail and change nothing.
    known_deviation(
        "runc crun",
        "`delete` without --force removes a created container",
        || {
            o.assert_failure();
            assert_eq!(t.status(&id).as_deref(), Some("created"));
        },
    );
    assert!(
        !b.host_path("/tmp/started").exists(),
        "program must never run"
    );
}

#[test]
fn config_changes_after_create_do_not_matter() {
    let t = TestCtx::new("config_after");
    let mut b = t.bundle();
    b.sh("echo original > /tmp/which; exec sleep 1000");
    let id = t.id();
    t.create(&b, &id).assert_success();
    b.sh("echo changed > /tmp/which; exec sleep 1000").write();
    t.start(&id).assert_success();
    assert!(host::wait_until(Duration::from_secs(5), || {
        !t.read_rootfs(&b, "/tmp/which").is_empty()
    }));
    assert_eq!(t.read_rootfs(&b, "/tmp/which"), "original\n");
}

#[test]
fn verbs_without_a_container_id_fail() {
    let t = TestCtx::new("no_id");
    let b = sleeper(&t);
    b.write();
    for args in [
        vec!["state"],
        vec!["start"],
        vec!["kill"],
        vec!["delete"],
        vec!["create", "--bundle", b.dir.to_str().unwrap()],
    ] {
        t.rt(&args).assert_failure();
    }
    assert_eq!(
        std::fs::read_dir(&t.rt.root)
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
    assert!(host::cgroup_dirs(&b.cgroups_path).is_empty());
}

#[test]
fn verbs_on_an_unknown_container_fail() {
    let t = TestCtx::new("unknown_id");
    for verb in ["start", "kill", "delete"] {
        t.rt(&[verb, "gt-no-such-container"]).assert_failure();
    }
}

#[test]
fn kill_of_stopped_container_fails() {
    let t = TestCtx::new("kill_stopped");
    let mut b = t.bundle();
    b.args(&["true"]);
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    t.wait_status(&id, "stopped");
    t.kill(&id, "KILL").assert_failure();
    assert_eq!(t.status(&id).as_deref(), Some("stopped"));
}

#[test]
fn run_passes_exit_code_through() {
    let t = TestCtx::new("run_exit3");
    let mut b = t.bundle();
    b.sh("exit 3");
    t.run(&b).assert_code(3);
}

#[test]
fn run_reports_sigkill_as_137() {
    let t = TestCtx::new("run_sigkill");
    let mut b = t.bundle();
    // Without a PID namespace the shell is not an init and SIGKILL reaches it.
    b.remove_namespace("pid").sh("kill -9 $$; sleep 5");
    t.run(&b).assert_code(137);
}

#[test]
fn run_passes_stdout_and_stderr() {
    let t = TestCtx::new("run_stdio");
    let mut b = t.bundle();
    b.sh("echo to-out; echo to-err >&2");
    let o = t.run(&b);
    o.assert_success();
    assert_eq!(o.stdout.trim(), "to-out", "{o}");
    assert!(o.stderr.contains("to-err"), "{o}");
}

#[test]
fn run_detach_leaves_container_running() {
    let t = TestCtx::new("run_detach");
    let b = sleeper(&t);
    let id = t.id();
    let o = t.run_id(&b, &id, &["--detach"]);
    o.assert_success();
    assert!(o.elapsed < Duration::from_secs(10));
    assert_eq!(t.status(&id).as_deref(), Some("running"));
    assert!(host::wait_until(Duration::from_secs(5), || b
        .host_path("/tmp/started")
        .exists()));
    t.rt(&["delete", "--force", &id]).assert_success();
    t.assert_nothing_left(&id, &b);
}

#[test]
fn kill_accepts_signal_names_and_numbers() {
    let t = TestCtx::new("kill_forms");
    let mut b = t.bundle();
    b.sh(
        "trap 'echo term >> /tmp/sig' TERM; trap 'echo usr1 >> /tmp/sig' USR1; \
         touch /tmp/ready; while true; do sleep 0.05; done",
    );
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    assert!(host::wait_until(Duration::from_secs(5), || b
        .host_path("/tmp/ready")
        .exists()));
    let lines = |n: usize| {
        host::wait_until(Duration::from_secs(5), || {
            t.read_rootfs(&b, "/tmp/sig").lines().count() >= n
        })
    };
    for (i, sig) in ["TERM", "SIGTERM", "15", "USR1", "SIGUSR1", "10"]
        .iter()
        .enumerate()
    {
        t.kill(&id, sig).assert_success();
        assert!(
            lines(i + 1),
            "signal {sig} not delivered: {:?}",
            t.read_rootfs(&b, "/tmp/sig")
        );
    }
    assert_eq!(
        t.read_rootfs(&b, "/tmp/sig"),
        "term\nterm\nterm\nusr1\nusr1\nusr1\n"
    );
    // The default signal of `kill` is SIGTERM.
    t.rt(&["kill", &id]).assert_success();
    assert!(lines(7));
    known_deviation("crun", "an unknown signal name is accepted", || {
        t.kill(&id, "NOSUCHSIG").assert_failure();
    });
}

#[test]
fn list_shows_containers() {
    let t = TestCtx::new("list");
    let b1 = sleeper(&t);
    let b2 = sleeper(&t);
    let (id1, id2) = (t.id(), t.id());
    t.create(&b1, &id1).assert_success();
    t.create(&b2, &id2).assert_success();
    t.start(&id2).assert_success();
    let q = t.rt(&["list", "-q"]);
    q.assert_success();
    let mut ids: Vec<&str> = q.stdout.lines().map(str::trim).collect();
    ids.sort();
    assert_eq!(ids, vec![id1.as_str(), id2.as_str()]);
    let j = t.rt(&["list", "--format", "json"]).assert_success().json();
    let arr = j.as_array().expect("list --format json is an array");
    assert_eq!(arr.len(), 2, "{j}");
    for c in arr {
        let want = if c["id"] == id1.as_str() {
            "created"
        } else {
            "running"
        };
        assert_eq!(c["status"], want, "{j}");
        assert!(c["pid"].as_i64().unwrap_or(0) > 0, "{j}");
    }
    let plain = t.rt(&["list"]).assert_success().stdout.clone();
    assert!(plain.contains(&id1) && plain.contains(&id2), "{plain}");
}

#[test]
fn state_of_unknown_container_fails() {
    let t = TestCtx::new("state_unknown");
    let o = t.state("gt-no-such-container");
    o.assert_failure();
    assert!(o.stdout.trim().is_empty(), "no state printed: {o}");
}

#[test]
fn invalid_ids_are_refused() {
    let t = TestCtx::new("bad_ids");
    let b = sleeper(&t);
    b.write();
    let long = "x".repeat(1024);
    for id in ["a/b", "..", ".", "../escape", long.as_str(), ""] {
        let o = t.create(&b, id);
        one_line_error(&o);
        assert!(
            std::fs::read_dir(&t.rt.root)
                .map(|d| d.count())
                .unwrap_or(0)
                == 0,
            "state left under --root for id {id:?}"
        );
        assert!(
            host::cgroup_dirs(&b.cgroups_path).is_empty(),
            "cgroup left for {id:?}"
        );
    }
    assert!(!t.dir.join("escape").exists());
}

#[test]
fn id_in_use_is_refused() {
    let t = TestCtx::new("id_in_use");
    let b1 = sleeper(&t);
    let b2 = sleeper(&t);
    let id = t.id();
    t.create(&b1, &id).assert_success();
    let pid = t.state_json(&id)["pid"].clone();
    let o = t.create(&b2, &id);
    one_line_error(&o);
    let st = t.state_json(&id);
    assert_eq!(st["pid"], pid);
    assert_eq!(st["bundle"].as_str(), Some(b1.dir.to_str().unwrap()));
    assert_eq!(st["status"], "created");
    assert!(host::cgroup_dirs(&b2.cgroups_path).is_empty());
}

#[test]
fn pid_file_holds_init_pid() {
    let t = TestCtx::new("pid_file");
    let b = sleeper(&t);
    let id = t.id();
    let pf = t.path("init.pid");
    t.create_with(&b, &id, &["--pid-file", pf.to_str().unwrap()])
        .assert_success();
    let text = std::fs::read_to_string(&pf).expect("pid file written");
    let pid: i64 = text.trim().parse().expect("pid file holds a number");
    assert_eq!(pid, t.state_json(&id)["pid"].as_i64().unwrap());
}

#[test]
fn spec_writes_a_valid_config() {
    let t = TestCtx::new("spec");
    let dir = t.path("specdir");
    std::fs::create_dir_all(&dir).unwrap();
    t.rt(&["spec", "--bundle", dir.to_str().unwrap()])
        .assert_success();
    let text = std::fs::read_to_string(dir.join("config.json")).expect("config.json written");
    let v: serde_json::Value = serde_json::from_str(&text).expect("spec output is JSON");
    assert!(
        v["ociVersion"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")),
        "{v}"
    );
    assert!(v["process"]["args"].is_array());
    assert_eq!(v["root"]["path"], "rootfs");
    assert!(v["linux"]["namespaces"].is_array());
    // A second `spec` must not overwrite the existing file.
    t.rt(&["spec", "--bundle", dir.to_str().unwrap()])
        .assert_failure();
}

#[test]
fn features_is_valid_json() {
    let t = TestCtx::new("features");
    let o = t.rt(&["features"]);
    known_deviation("crun", "crun 1.8 has no `features` command", || {
        o.assert_success();
    });
    if !o.success() {
        return;
    }
    let v = o.json();
    assert!(
        v["ociVersionMin"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")),
        "{v}"
    );
    assert!(
        v["ociVersionMax"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")),
        "{v}"
    );
    let hooks = v["hooks"].as_array().expect("features.hooks");
    for h in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        assert!(hooks.iter().any(|x| x == h), "hook {h} missing: {v}");
    }
    assert!(v["mountOptions"].is_array(), "{v}");
    let ns = v["linux"]["namespaces"]
        .as_array()
        .expect("linux.namespaces");
    for n in ["pid", "network", "ipc", "uts", "mount", "user", "cgroup"] {
        assert!(ns.iter().any(|x| x == n), "namespace {n} missing: {v}");
    }
}

#[test]
fn log_flags_write_json_errors_for_shims() {
    // containerd's shim and podman pass `--log FILE --log-format json` and read errors there.
    let t = TestCtx::new("log_json");
    let log = t.path("runtime-log.json");
    let log_s = log.to_str().unwrap().to_string();
    let missing = t.path("no-such-bundle");
    let o = t.rt(&[
        "--log",
        &log_s,
        "--log-format",
        "json",
        "create",
        "--bundle",
        missing.to_str().unwrap(),
        "gt-log-json",
    ]);
    o.assert_failure();
    known_deviation(
        "crun",
        "an early create error is not written to the --log file",
        || {
            let text = std::fs::read_to_string(&log).expect("log file written");
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .expect("a log line");
            let v: serde_json::Value = serde_json::from_str(last).expect("log line is JSON");
            assert_eq!(v["level"], "error", "{v}");
            assert!(v["msg"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
            assert!(v["time"].is_string(), "{v}");
        },
    );
    assert!(
        !o.stderr.trim().is_empty(),
        "the error also goes to stderr: {o}"
    );
}

/// containerd's shim calls `kill --all ID 9` after every exit and `kill ID 9` on stop; runc's answers are its
/// contract: `--all` signals what is left in the cgroup and succeeds, a plain kill fails naming "container not
/// running".
#[test]
fn kill_of_stopped_container_follows_runc() {
    let t = TestCtx::new("kill_stopped");
    let mut b = t.bundle();
    // Without a PID namespace a background process outlives the init, in the container's cgroup.
    b.remove_namespace("pid");
    b.sh("sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > /tmp/bg; exit 0");
    let id = t.id();
    t.create(&b, &id).assert_success();
    t.start(&id).assert_success();
    t.wait_status(&id, "stopped");
    assert!(host::wait_until(Duration::from_secs(5), || {
        !host::pids_in_cgroup(&b.cgroups_path).is_empty()
    }));
    let o = t.kill(&id, "KILL");
    one_line_error(&o);
    o.assert_error_mentions(&["container not running"]);
    t.rt(&["kill", "--all", &id, "KILL"]).assert_success();
    assert!(
        host::wait_until(Duration::from_secs(5), || host::pids_in_cgroup(
            &b.cgroups_path
        )
        .is_empty()),
        "kill --all left {:?} in the cgroup",
        host::pids_in_cgroup(&b.cgroups_path)
    );
    // Again, with nothing left at all.
    t.rt(&["kill", "--all", &id, "KILL"]).assert_success();
    t.delete(&id).assert_success();
    t.assert_nothing_left(&id, &b);
}

/// `state ID | head -c1`: the reader goes away; the runtime must not panic (runc dies quietly of SIGPIPE).
#[test]
fn closed_stdout_does_not_panic() {
    use std::process::{Command, Stdio};
    let t = TestCtx::new("state_epipe");
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id();
    t.create(&b, &id).assert_success();
    for args in [vec!["state", id.as_str()], vec!["list"], vec!["--version"]] {
        let mut child = Command::new(&t.rt.binary)
            .arg("--root")
            .arg(&t.rt.root)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the only read end before the runtime writes.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && out.status.code() != Some(101),
            "{args:?} with a closed stdout: {:?} {stderr}",
            out.status
        );
        assert!(
            stderr.is_empty(),
            "{args:?}: nothing to report, yet: {stderr}"
        );
    }
    t.rt(&["delete", "--force", &id]).assert_success();
    t.assert_nothing_left(&id, &b);
}
