//! The container process: args, env, cwd, user, umask, rlimits, oomScoreAdj,
//! noNewPrivileges, terminal and console socket, preserved fds, stdio.
//! Spec: config.md "Process" (args, env, cwd, terminal, consoleSize, user, rlimits,
//! oomScoreAdj, noNewPrivileges, umask); runtime.md "Lifecycle" step 7 (the program runs
//! with the configured process); runc CLI (--console-socket, --preserve-fds, LISTEN_FDS).

use gantry_tests::console::{read_all, ConsoleSocket};
use gantry_tests::{known_deviation, RunOpts, TestCtx};
use std::time::Duration;

fn status_field(status: &str, key: &str) -> Vec<String> {
    status
        .lines()
        .find(|l| l.starts_with(&format!("{key}:")))
        .map(|l| l.split_whitespace().skip(1).map(str::to_string).collect())
        .unwrap_or_default()
}

#[test]
fn args_are_passed_verbatim() {
    let t = TestCtx::new("proc_args");
    let mut b = t.bundle();
    b.args(&[
        "sh",
        "-c",
        "printf '%s|' \"$0\" \"$@\"",
        "zero",
        "a b",
        "",
        "c*",
    ]);
    assert_eq!(t.run_ok(&b), "zero|a b||c*|");
}

#[test]
fn env_is_set_as_configured() {
    let t = TestCtx::new("proc_env");
    let mut b = t.bundle();
    b.env("GANTRY_A=1")
        .env("GANTRY_B=with space=and equals")
        .sh("env");
    let out = t.run_ok(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"GANTRY_A=1"), "{out}");
    assert!(lines.contains(&"GANTRY_B=with space=and equals"), "{out}");
    assert!(lines.contains(&"TERM=xterm"), "{out}");
    assert!(
        lines.iter().any(|l| l.starts_with("PATH=/usr/local/sbin")),
        "{out}"
    );
}

#[test]
fn cwd_is_the_working_directory() {
    let t = TestCtx::new("proc_cwd");
    let mut b = t.bundle();
    b.cwd("/home/user").sh("pwd");
    assert_eq!(t.run_ok(&b), "/home/user\n");
}

#[test]
fn user_uid_gid_and_additional_gids() {
    let t = TestCtx::new("proc_user");
    let mut b = t.bundle();
    b.user(1000, 1000)
        .additional_gids(&[2000])
        .sh("cat /proc/self/status; id");
    let out = t.run_ok(&b);
    assert_eq!(status_field(&out, "Uid"), ["1000"; 4], "{out}");
    assert_eq!(status_field(&out, "Gid"), ["1000"; 4], "{out}");
    let groups = status_field(&out, "Groups");
    assert!(groups.contains(&"2000".to_string()), "{out}");
    assert!(
        !groups.contains(&"0".to_string()),
        "root group must be dropped: {out}"
    );
    assert!(out.contains("uid=1000(user) gid=1000(user)"), "{out}");
}

#[test]
fn non_root_user_has_no_capabilities() {
    let t = TestCtx::new("proc_usercaps");
    let mut b = t.bundle();
    b.user(1000, 1000)
        .sh("grep -E '^Cap(Eff|Prm)' /proc/self/status");
    let out = t.run_ok(&b);
    for l in out.lines() {
        // The template grants ambient caps, so a non-root user keeps exactly those.
        let v = u64::from_str_radix(l.split_whitespace().nth(1).unwrap(), 16).unwrap();
        let allowed = (1 << 29) | (1 << 5) | (1 << 10); // AUDIT_WRITE, KILL, NET_BIND_SERVICE
        assert_eq!(
            v & !allowed,
            0,
            "capability beyond the configured set: {out}"
        );
    }
}

#[test]
fn umask_is_applied() {
    let t = TestCtx::new("proc_umask");
    let mut b = t.bundle();
    b.umask(0o077).sh("umask; touch /tmp/f; stat -c %a /tmp/f");
    let out = t.run_ok(&b);
    assert_eq!(out, "0077\n600\n", "{out}");
}

#[test]
fn rlimits_are_applied() {
    let t = TestCtx::new("proc_rlimit");
    let mut b = t.bundle();
    b.rlimit("RLIMIT_NOFILE", 512, 800)
        .rlimit("RLIMIT_CORE", 0, 0)
        .sh("ulimit -n; ulimit -Hn; ulimit -c; grep 'Max open files' /proc/self/limits");
    let out = t.run_ok(&b);
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(&l[..3], ["512", "800", "0"], "{out}");
    let f: Vec<&str> = l[3].split_whitespace().collect();
    assert_eq!(&f[3..5], ["512", "800"], "{out}");
}

#[test]
fn rlimit_above_hard_limit_fails_cleanly() {
    let t = TestCtx::new("proc_rlimit_hi");
    let mut b = t.bundle();
    // No CAP_SYS_RESOURCE here: nofile cannot go above the host's hard limit (20000).
    b.rlimit("RLIMIT_NOFILE", 30000, 30000).args(&["true"]);
    let id = t.id();
    let o = t.run_id(&b, &id, &[]);
    o.assert_failure();
    t.assert_nothing_left(&id, &b);
    known_deviation("runc", "runc names the rlimit by number (`type 7`)", || {
        o.assert_error_mentions(&["RLIMIT_NOFILE"]);
    });
}

#[test]
fn oom_score_adj_raise_is_applied() {
    let t = TestCtx::new("proc_oom");
    let mut b = t.bundle();
    b.oom_score_adj(500).sh("cat /proc/self/oom_score_adj");
    assert_eq!(t.run_ok(&b), "500\n");
}

#[test]
fn oom_score_adj_lowering_without_privilege_fails_cleanly() {
    let t = TestCtx::new("proc_oom_low");
    let current: i32 = std::fs::read_to_string("/proc/self/oom_score_adj")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut b = t.bundle();
    // Lowering needs CAP_SYS_RESOURCE, which this machine does not grant.
    b.oom_score_adj((current - 100).max(-1000))
        .sh("cat /proc/self/oom_score_adj");
    let id = t.id();
    let o = t.run_id(&b, &id, &[]);
    o.assert_failure();
    o.assert_error_mentions(&["oom"]);
    t.assert_nothing_left(&id, &b);
}

#[test]
fn no_new_privileges_sets_the_flag() {
    let t = TestCtx::new("proc_nnp");
    let mut on = t.bundle();
    on.sh("grep NoNewPrivs /proc/self/status");
    assert_eq!(t.run_ok(&on).split_whitespace().nth(1), Some("1"));
    let mut off = t.bundle();
    off.no_new_privileges(false)
        .sh("grep NoNewPrivs /proc/self/status");
    assert_eq!(t.run_ok(&off).split_whitespace().nth(1), Some("0"));
}

#[test]
fn terminal_with_console_socket() {
    let t = TestCtx::new("proc_tty");
    let sock = ConsoleSocket::bind(&t.path("console.sock"));
    let mut b = t.bundle();
    b.terminal(true).console_size(40, 120).sh(
        "[ -t 0 ] && echo stdin-tty; [ -t 1 ] && echo stdout-tty; stty size; \
         tty; ls -l /dev/console | cut -c1",
    );
    let id = t.id();
    t.create_with(
        &b,
        &id,
        &["--console-socket", sock.path().to_str().unwrap()],
    )
    .assert_success();
    let master = sock.master(Duration::from_secs(10));
    t.start(&id).assert_success();
    let out = read_all(master, Duration::from_secs(10));
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert!(lines.contains(&"stdin-tty"), "{out:?}");
    assert!(lines.contains(&"stdout-tty"), "{out:?}");
    assert!(
        lines.contains(&"40 120"),
        "consoleSize not applied: {out:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("/dev/pts/")), "{out:?}");
    assert!(
        lines.contains(&"c"),
        "/dev/console must be a char device: {out:?}"
    );
}

#[test]
fn preserve_fds_passes_extra_fds() {
    let t = TestCtx::new("proc_presfds");
    let f3 = t.path("fd3");
    let f4 = t.path("fd4");
    std::fs::write(&f3, "three\n").unwrap();
    std::fs::write(&f4, "four\n").unwrap();
    let mut b = t.bundle();
    // The init is `ls` itself: its fds are 0-2, the preserved 3, and its own dir fd 4.
    b.args(&["ls", "/proc/self/fd"]);
    b.write();
    let id = t.id();
    let dir = b.dir.to_string_lossy().to_string();
    let opts = RunOpts {
        extra_fds: vec![f3.clone(), f4],
        ..RunOpts::default()
    };
    let o = t.rt_with(
        &["run", "--preserve-fds", "1", "--bundle", &dir, &id],
        &opts,
    );
    o.assert_success();
    let mut fds: Vec<u32> = o
        .stdout
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    fds.sort();
    assert_eq!(fds, [0, 1, 2, 3, 4], "only fd 3 is preserved: {o}");
    b.sh("cat <&3");
    b.write();
    let id = t.id();
    let o = t.rt_with(
        &["run", "--preserve-fds", "1", "--bundle", &dir, &id],
        &opts,
    );
    assert_eq!(o.stdout, "three\n", "{o}");
}

#[test]
fn listen_fds_passes_socket_activation_fds() {
    let t = TestCtx::new("proc_listenfds");
    let f3 = t.path("fd3");
    std::fs::write(&f3, "activated\n").unwrap();
    let mut b = t.bundle();
    b.sh("cat <&3; echo LISTEN_FDS=$LISTEN_FDS");
    b.write();
    let id = t.id();
    let dir = b.dir.to_string_lossy().to_string();
    let opts = RunOpts {
        extra_fds: vec![f3],
        env: vec![("LISTEN_FDS".into(), "1".into())],
        ..RunOpts::default()
    };
    let o = t.rt_with(&["run", "--bundle", &dir, &id], &opts);
    o.assert_success();
    assert!(o.stdout.starts_with("activated\n"), "{o}");
    known_deviation(
        "crun",
        "fd passed but LISTEN_FDS not set in the container",
        || {
            assert_eq!(o.stdout, "activated\nLISTEN_FDS=1\n", "{o}");
        },
    );
}

#[test]
fn stdin_is_passed_through() {
    let t = TestCtx::new("proc_stdin");
    let input = t.path("stdin");
    std::fs::write(&input, "from-stdin\n").unwrap();
    let mut b = t.bundle();
    b.sh("cat; echo done");
    b.write();
    let id = t.id();
    let dir = b.dir.to_string_lossy().to_string();
    let opts = RunOpts {
        stdin: Some(input),
        ..RunOpts::default()
    };
    let o = t.rt_with(&["run", "--bundle", &dir, &id], &opts);
    o.assert_success();
    assert_eq!(o.stdout, "from-stdin\ndone\n");
}
