//! config-linux.md "Seccomp": `SCMP_ACT_NOTIFY` with `listenerPath`/`listenerMetadata`. The runtime sends the
//! container process state (with `fds: ["seccompFd"]` and the metadata) and the notify fd to the listener over a
//! unix socket; the listener then receives the container's syscall and answers it. This test is that listener.

use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use gantry_tests::{json, TestCtx, Value};
use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};

/// Accepts the runtime's connection, reads the state and the fd, answers one notification with EXDEV; returns the
/// state and the notified syscall's name.
fn agent(listener: UnixListener) -> Result<(Value, String), String> {
    let (conn, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let msg = rustix::net::recvmsg(
        &conn,
        &mut [IoSliceMut::new(&mut buf)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| format!("recvmsg: {e}"))?;
    let mut fds: Vec<OwnedFd> = Vec::new();
    for m in control.drain() {
        if let RecvAncillaryMessage::ScmRights(r) = m {
            fds.extend(r);
        }
    }
    let state: Value =
        serde_json::from_slice(&buf[..msg.bytes]).map_err(|e| format!("state JSON: {e}"))?;
    let fd = fds.first().ok_or("no fd came with the state")?;
    let req = ScmpNotifReq::receive(fd.as_raw_fd()).map_err(|e| format!("receive: {e}"))?;
    let name = req.data.syscall.get_name().unwrap_or_default();
    ScmpNotifResp::new_error(req.id, -libc_exdev(), ScmpNotifRespFlags::empty())
        .respond(fd.as_raw_fd())
        .map_err(|e| format!("respond: {e}"))?;
    Ok((state, name))
}

fn libc_exdev() -> i32 {
    rustix::io::Errno::XDEV.raw_os_error()
}

#[test]
fn the_listener_gets_the_state_the_fd_and_the_syscall() {
    let t = TestCtx::new("seccomp_notify");
    let sock = t.path("agent.sock");
    let listener = UnixListener::bind(&sock).expect("bind the agent socket");
    let agent = std::thread::spawn(move || agent(listener));
    let mut b = t.bundle();
    b.set(
        "linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": sock,
            "listenerMetadata": "gantry-test-metadata",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
        }),
    )
    .sh("mkdir /tmp/notified; echo rc=$?");
    let id = t.id();
    let out = t.run_id(&b, &id, &[]);
    let (state, name) = agent.join().expect("agent thread").expect("agent");
    out.assert_success();
    assert!(
        name == "mkdir" || name == "mkdirat",
        "notified syscall: {name}"
    );
    assert!(
        out.stdout.contains("rc=1"),
        "the agent's EXDEV must reach the container: {}",
        out.stdout
    );
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["metadata"], json!("gantry-test-metadata"), "{state}");
    assert_eq!(state["state"]["id"], json!(id), "{state}");
    assert!(state["pid"].as_i64().unwrap_or(0) > 0, "{state}");
}
