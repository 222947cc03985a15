//! SCMP_ACT_NOTIFY end to end: a child loads a notify filter for mkdir and reports the fd number; the parent
//! takes the fd with pidfd_getfd (as the runtime does) and answers the notification itself or through an agent
//! reached with `send_to_listener`.

use super::profile;
use crate::seccomp::{compile, fetch_notify_fd, process_state_json, send_to_listener};
use crate::testutil::{child_case, spawn_child};
use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use rustix::process::{pidfd_open, Pid, PidfdFlags};
use std::io::{BufRead, BufReader, IoSliceMut, Read};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

const EXDEV: i32 = 18;

/// The child: load a NOTIFY filter for mkdir/mkdirat, print `FD <n>`, then mkdir and print the outcome.
fn notify_child() -> i32 {
    let dir = tempfile::tempdir().unwrap();
    let f = compile(&profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    ))
    .unwrap();
    rustix::thread::set_no_new_privs(true).unwrap();
    let fd = f.load().unwrap().expect("a notify fd");
    println!("FD {}", fd.as_raw_fd());
    let r = match rustix::fs::mkdirat(
        rustix::fs::CWD,
        dir.path().join("a"),
        rustix::fs::Mode::from_raw_mode(0o755),
    ) {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.raw_os_error().to_string(),
    };
    println!("RESULT {r} {}", dir.path().join("a").is_dir());
    0
}

/// Kills the child if the test has not finished within a minute (a lost notification would hang it forever).
fn watchdog(child: &Child) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    let pid = Pid::from_child(child);
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(60)) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    });
    tx
}

/// Reads the child's `FD <n>` line and takes that fd out of the child with pidfd_getfd.
fn take_notify_fd(child: &mut Child, lines: &mut impl Iterator<Item = String>) -> (OwnedFd, i32) {
    let line = lines
        .find(|l| l.starts_with("FD "))
        .expect("the child printed no FD line");
    let n: i32 = line[3..].trim().parse().unwrap();
    let pidfd = pidfd_open(Pid::from_child(child), PidfdFlags::empty()).unwrap();
    (fetch_notify_fd(&pidfd, n).unwrap(), n)
}

/// Whether fd `n` of process `pid` is close-on-exec, from /proc/<pid>/fdinfo/<n> (`flags:` is octal).
fn cloexec_in(pid: u32, n: i32) -> bool {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{n}")).unwrap();
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .unwrap()
        .trim();
    u32::from_str_radix(flags, 8).unwrap() & 0o2000000 != 0
}

fn finish(
    mut child: Child,
    lines: impl Iterator<Item = String>,
    done: mpsc::Sender<()>,
) -> Vec<String> {
    let results: Vec<String> = lines
        .filter_map(|l| l.strip_prefix("RESULT ").map(str::to_owned))
        .collect();
    let status = child.wait().unwrap();
    let _ = done.send(());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "child: {status}: {err}");
    results
}

#[test]
fn the_runtime_answers_a_notification_from_the_fd_it_took() {
    let case = "notify-direct";
    child_case(case, notify_child);
    let mut child = spawn_child(
        "seccomp::tests::notify::the_runtime_answers_a_notification_from_the_fd_it_took",
        case,
    );
    let done = watchdog(&child);
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap);
    let (fd, n) = take_notify_fd(&mut child, &mut lines);
    assert!(
        cloexec_in(child.id(), n),
        "the notify fd in the container's init must be close-on-exec"
    );

    let req = ScmpNotifReq::receive(fd.as_raw_fd()).unwrap();
    // The notification names the thread (libtest runs the test on one of its own) of our child.
    assert!(std::path::Path::new(&format!("/proc/{}/task/{}", child.id(), req.pid)).exists());
    let name = req.data.syscall.get_name().unwrap();
    assert!(name == "mkdirat" || name == "mkdir", "{name}");
    ScmpNotifResp::new_error(req.id, -EXDEV, ScmpNotifRespFlags::empty())
        .respond(fd.as_raw_fd())
        .unwrap();

    assert_eq!(finish(child, lines, done), vec![format!("{EXDEV} false")]);
}

/// A minimal seccomp agent: accept one connection, read the state JSON and the fd, let the syscall continue.
fn agent(listener: UnixListener) -> serde_json::Value {
    let (conn, _) = listener.accept().unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let msg = recvmsg(
        &conn,
        &mut [IoSliceMut::new(&mut buf)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )
    .unwrap();
    let mut fds: Vec<OwnedFd> = Vec::new();
    for m in control.drain() {
        if let RecvAncillaryMessage::ScmRights(r) = m {
            fds.extend(r);
        }
    }
    let state: serde_json::Value = serde_json::from_slice(&buf[..msg.bytes]).unwrap();
    assert_eq!(fds.len(), 1);
    let req = ScmpNotifReq::receive(fds[0].as_raw_fd()).unwrap();
    ScmpNotifResp::new_continue(req.id, ScmpNotifRespFlags::CONTINUE)
        .respond(fds[0].as_raw_fd())
        .unwrap();
    state
}

#[test]
fn the_agent_at_listener_path_gets_the_state_and_the_fd() {
    let case = "notify-agent";
    child_case(case, notify_child);
    let sock_dir = tempfile::tempdir().unwrap();
    let sock = sock_dir.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let agent = std::thread::spawn(move || agent(listener));

    let mut child = spawn_child(
        "seccomp::tests::notify::the_agent_at_listener_path_gets_the_state_and_the_fd",
        case,
    );
    let done = watchdog(&child);
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap);
    let (fd, _) = take_notify_fd(&mut child, &mut lines);

    let state: oci_spec::runtime::State = serde_json::from_value(serde_json::json!({
        "ociVersion": "1.2.0", "id": "ctr-1", "status": "creating", "pid": child.id(), "bundle": "/b"
    }))
    .unwrap();
    let json = process_state_json(&state, child.id() as i32, Some("agent-metadata")).unwrap();
    send_to_listener(&sock, &[fd.as_fd()], &json).unwrap();
    drop(fd);

    let got = agent.join().unwrap();
    assert_eq!(got["ociVersion"], "1.2.0");
    assert_eq!(got["fds"], serde_json::json!(["seccompFd"]));
    assert_eq!(got["pid"], child.id());
    assert_eq!(got["metadata"], "agent-metadata");
    assert_eq!(got["state"]["id"], "ctr-1");
    assert_eq!(got["state"]["status"], "creating");
    // The agent let mkdir continue: it really ran.
    assert_eq!(finish(child, lines, done), vec!["ok true".to_owned()]);
}

#[test]
fn an_absent_agent_is_an_error_naming_the_listener_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nobody.sock");
    let fd = rustix::fs::memfd_create("x", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
    let e = send_to_listener(&path, &[fd.as_fd()], b"{}")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "linux.seccomp.listenerPath {}: connect:",
            path.display()
        )),
        "{e}"
    );
}
