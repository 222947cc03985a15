//! systemd's readiness protocol (sd_notify): `NOTIFY_SOCKET` names a unix datagram socket (a path, or an
//! abstract name starting with `@`) to which `READY=1` is sent. With `--sdnotify container` the first app gets
//! the socket (a path socket is bound into it at [`APP_SOCKET`]); with `--sdnotify conmon` gantry sends
//! `READY=1` itself once every app has started.
//!
//! systemd accepts a notification only from a process of the unit's own cgroup, and the apps run in the pod's
//! cgroup: so a path socket is not handed to the app as is. The supervisor binds a [`Proxy`] socket under the
//! state root (a socket path must fit in 108 bytes), the app gets that one, and the supervisor (the unit's main process) forwards what the app sends.

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

/// The supervisor's end of the app's notify socket: datagrams the app sends are forwarded to systemd.
pub struct Proxy {
    sock: UnixDatagram,
    /// systemd's `NOTIFY_SOCKET`.
    target: String,
    /// The socket file the app gets.
    pub path: PathBuf,
}

impl Proxy {
    /// Binds the proxy socket of pod `id` at `STATE_ROOT/notify-ID12.sock` for systemd's socket `target`.
    pub fn bind(state_root: &std::path::Path, id: &str, target: &str) -> anyhow::Result<Proxy> {
        std::fs::create_dir_all(state_root)
            .with_context(|| format!("--state-root: creating {}", state_root.display()))?;
        let path = state_root.join(format!("notify-{}.sock", &id[..id.len().min(12)]));
        let _ = std::fs::remove_file(&path);
        let sock = UnixDatagram::bind(&path).with_context(|| {
            format!(
                "--sdnotify container: binding the notify proxy socket {}",
                path.display()
            )
        })?;
        sock.set_nonblocking(true)
            .context("--sdnotify container: making the notify proxy socket non-blocking")?;
        // Apps running as another user must be able to send too.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
            .with_context(|| format!("--sdnotify container: chmod {}", path.display()))?;
        Ok(Proxy {
            sock,
            target: target.to_owned(),
            path,
        })
    }

    /// The socket, to poll for input.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.sock.as_fd()
    }

    /// Forwards every queued datagram to systemd, without `MAINPID=` (the app's PID means nothing to systemd:
    /// the main process is the supervisor).
    pub fn forward(&self) {
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]);
            let kept: Vec<&str> = msg
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with("MAINPID="))
                .collect();
            if kept.is_empty() {
                continue;
            }
            if let Err(e) = send(&self.target, &kept.join("\n")) {
                eprintln!("gantry: forwarding the app's notification to systemd: {e:#}");
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
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
