//! systemd's readiness protocol (sd_notify): `NOTIFY_SOCKET` names a unix datagram socket (a path, or an
//! abstract name starting with `@`) to which `READY=1` is sent. With `--sdnotify container` the first app gets
//! the socket (a path socket is bound into it at [`APP_SOCKET`]); with `--sdnotify conmon` gantry sends
//! `READY=1` itself once every app has started.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use anyhow::Context;
use oci_spec::runtime::{Mount, Spec};

use super::plan::PodNet;

/// Where the app finds the socket (podman's path).
pub const APP_SOCKET: &str = "/run/notify/notify.sock";

/// Sends `msg` (e.g. `READY=1`) to the socket `sock`.
pub fn send(sock: &str, msg: &str) -> anyhow::Result<()> {
    let s = UnixDatagram::unbound().context("creating a datagram socket")?;
    if let Some(name) = sock.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            .with_context(|| format!("NOTIFY_SOCKET {sock:?}"))?;
        s.send_to_addr(msg.as_bytes(), &addr)
    } else {
        s.send_to(msg.as_bytes(), sock)
    }
    .with_context(|| format!("sending {msg:?} to NOTIFY_SOCKET {sock}"))?;
    Ok(())
}

/// Gives the first app the socket: a path socket is bind-mounted to [`APP_SOCKET`]; an abstract one only
/// reaches the host's network namespace, so it needs `--net host`.
pub fn pass_to_app(spec: &mut Spec, sock: &str, net: &PodNet) -> anyhow::Result<()> {
    let inside = if sock.starts_with('@') {
        anyhow::ensure!(
            *net == PodNet::Host,
            "--sdnotify container: NOTIFY_SOCKET {sock:?} is an abstract socket, which the pod's own network \
             namespace cannot reach; use --net host or --sdnotify conmon"
        );
        sock.to_owned()
    } else {
        let mut m = Mount::default();
        m.set_destination(PathBuf::from(APP_SOCKET));
        m.set_typ(Some("bind".into()));
        m.set_source(Some(PathBuf::from(sock)));
        m.set_options(Some(vec!["bind".into(), "rprivate".into()]));
        let mut mounts = spec.mounts().clone().unwrap_or_default();
        mounts.push(m);
        spec.set_mounts(Some(mounts));
        APP_SOCKET.to_owned()
    };
    let mut p = spec.process().clone().unwrap_or_default();
    let mut env = p.env().clone().unwrap_or_default();
    env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
    env.push(format!("NOTIFY_SOCKET={inside}"));
    p.set_env(Some(env));
    spec.set_process(Some(p));
    Ok(())
}
