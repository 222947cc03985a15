//! What a pod is made of, as decided by `gantry run` before anything starts: the pod-level settings and one
//! [`AppPlan`] per app. It is saved in the pod's directory, so a detached supervisor (a fresh `gantry` process)
//! runs exactly what the command line asked for.

use serde::{Deserialize, Serialize};

/// The pod's network (`--net`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodNet {
    /// A new network namespace with only `lo` up.
    None,
    /// The host's network namespace.
    Host,
    /// CNI networks by name (`default` is gantry's bridge); needs the CNI library (gantry-net).
    Cni(Vec<String>),
}

impl PodNet {
    /// Parses `--net none|host|default|NAME[,NAME...]`.
    pub fn parse(s: &str) -> anyhow::Result<PodNet> {
        match s {
            "none" => Ok(PodNet::None),
            "host" => Ok(PodNet::Host),
            "" => anyhow::bail!("--net \"\": give none, host, default or a network name"),
            list => {
                let names: Vec<String> = list.split(',').map(str::to_owned).collect();
                for n in &names {
                    let ok = !n.is_empty()
                        && n.len() <= 64
                        && n.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
                    anyhow::ensure!(
                        ok,
                        "--net {s:?}: {n:?} is not a network name ([A-Za-z0-9_.-], at most 64 characters)"
                    );
                    anyhow::ensure!(
                        n != "none" && n != "host",
                        "--net {s:?}: none and host cannot be combined with other networks"
                    );
                }
                Ok(PodNet::Cni(names))
            }
        }
    }
}

/// One `-p [IP:]HOST:CTR[/tcp|udp]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// Host address to bind (empty: all).
    pub host_ip: String,
    /// Host port.
    pub host_port: u16,
    /// Port inside the pod.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

impl PortMapping {
    /// Parses `[IP:]HOST:CTR[/tcp|udp]`; both ports 1-65535, the IP a literal IPv4 or `[IPv6]` address.
    pub fn parse(s: &str) -> anyhow::Result<PortMapping> {
        let bad = || anyhow::anyhow!("-p {s:?}: expected [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]");
        let (main, protocol) = match s.rsplit_once('/') {
            Some((m, p @ ("tcp" | "udp"))) => (m, p),
            Some((_, p)) => anyhow::bail!("-p {s:?}: unknown protocol {p:?} (use tcp or udp)"),
            None => (s, "tcp"),
        };
        let (host_ip, rest) = if let Some(r) = main.strip_prefix('[') {
            let (ip, rest) = r.split_once("]:").ok_or_else(bad)?;
            ip.parse::<std::net::Ipv6Addr>()
                .map_err(|_| anyhow::anyhow!("-p {s:?}: {ip:?} is not an IPv6 address"))?;
            (ip.to_owned(), rest)
        } else {
            match main.matches(':').count() {
                1 => (String::new(), main),
                2 => {
                    let (ip, rest) = main.split_once(':').ok_or_else(bad)?;
                    ip.parse::<std::net::Ipv4Addr>()
                        .map_err(|_| anyhow::anyhow!("-p {s:?}: {ip:?} is not an IPv4 address"))?;
                    (ip.to_owned(), rest)
                }
                _ => return Err(bad()),
            }
        };
        let (h, c) = rest.split_once(':').ok_or_else(bad)?;
        let port = |p: &str| -> anyhow::Result<u16> {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => Ok(n),
                _ => anyhow::bail!("-p {s:?}: {p:?} is not a port number (1-65535)"),
            }
        };
        Ok(PortMapping {
            host_ip,
            host_port: port(h)?,
            container_port: port(c)?,
            protocol: protocol.to_owned(),
        })
    }
}

/// `--restart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartPolicy {
    /// Never restart.
    No,
    /// Restart an app that exits non-zero, at most `max` times (`None`: without limit).
    OnFailure {
        /// The most restarts per app.
        max: Option<u32>,
    },
    /// Restart every app whenever it exits, until the pod is stopped.
    Always,
}

impl RestartPolicy {
    /// Parses `no`, `on-failure`, `on-failure:N` or `always`.
    pub fn parse(s: &str) -> anyhow::Result<RestartPolicy> {
        match s {
            "no" => Ok(RestartPolicy::No),
            "always" => Ok(RestartPolicy::Always),
            "on-failure" => Ok(RestartPolicy::OnFailure { max: None }),
            _ => match s.strip_prefix("on-failure:").map(str::parse::<u32>) {
                Some(Ok(n)) => Ok(RestartPolicy::OnFailure { max: Some(n) }),
                _ => anyhow::bail!(
                    "--restart {s:?}: expected no, on-failure, on-failure:N or always"
                ),
            },
        }
    }

    /// Whether an app that exited with `code` after `restarts` restarts is started again.
    pub fn restarts(&self, code: i32, restarts: u32) -> bool {
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure { max } => code != 0 && max.is_none_or(|m| restarts < m),
        }
    }
}

/// `--exit-policy`: when the pod ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum ExitPolicy {
    /// When every app has exited.
    All,
    /// When the first app exits (the others get SIGTERM, then SIGKILL after the stop timeout).
    First,
}

/// `--sdnotify`: what happens to systemd's `NOTIFY_SOCKET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum SdNotify {
    /// The first app gets the socket (bound into it) and says READY=1 itself.
    Container,
    /// gantry says READY=1 once every app has started (podman calls this `conmon`).
    Conmon,
    /// The socket is not used.
    Ignore,
}

/// One app of a pod: its image and the flags that apply to it alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPlan {
    /// Unique in the pod: names its cgroup (`/gantry/<pod>/<app>`) and its log.
    pub name: String,
    /// 64-hex container ID of this app (runtime state, rootfs).
    pub id: String,
    /// The image as named in the store.
    pub image: String,
    /// `--entrypoint` (`Some(vec![])` clears the image's).
    pub entrypoint: Option<Vec<String>>,
    /// Arguments after the image (replace its Cmd).
    pub cmd: Option<Vec<String>>,
    /// `-e` after resolving `KEY` from gantry's environment.
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `-v` as typed (parsed again by the supervisor, which checks the host paths).
    pub volumes: Vec<String>,
    /// Security and resource flags of this app.
    pub confinement: super::super::container::confine::Confinement,
}

/// A whole pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodPlan {
    /// 64 hex digits.
    pub id: String,
    /// Unique among pods and containers.
    pub name: String,
    /// Hostname of the pod's UTS namespace.
    pub hostname: String,
    /// `--net`.
    pub net: PodNet,
    /// `-p`.
    pub ports: Vec<PortMapping>,
    /// `--dns`: resolvers for /etc/resolv.conf (empty: the host's).
    pub dns: Vec<String>,
    /// `--add-host HOST:IP` lines for /etc/hosts.
    pub add_hosts: Vec<(String, String)>,
    /// `--restart`.
    pub restart: RestartPolicy,
    /// `--exit-policy`.
    pub exit_policy: ExitPolicy,
    /// `--stop-timeout`: seconds between SIGTERM and SIGKILL when the pod stops.
    #[serde(default = "default_stop_timeout")]
    pub stop_timeout: u64,
    /// `--pid pod`: the apps share the first app's PID namespace.
    pub share_pid: bool,
    /// `--rm`.
    pub auto_remove: bool,
    /// `-d`: run by a detached supervisor, the apps' output in log files.
    pub detach: bool,
    /// `-i`: the first app reads gantry's stdin.
    pub interactive: bool,
    /// `-t`: the first app gets a pty, relayed to gantry's terminal (foreground) or logged (`-d`).
    #[serde(default)]
    pub tty: bool,
    /// `--sdnotify`.
    pub sdnotify: SdNotify,
    /// `NOTIFY_SOCKET` as gantry received it.
    pub notify_socket: Option<String>,
    /// Listening sockets from systemd (LISTEN_FDS), passed to the first app as fds 3...
    pub listen_fds: u32,
    /// The apps, in command-line order.
    pub apps: Vec<AppPlan>,
}

/// The stop timeout without `--stop-timeout` (podman's).
pub const DEFAULT_STOP_TIMEOUT: u64 = 10;

fn default_stop_timeout() -> u64 {
    DEFAULT_STOP_TIMEOUT
}

/// Parses `--add-host HOST:IP`.
pub fn parse_add_host(s: &str) -> anyhow::Result<(String, String)> {
    let (h, ip) = s
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("--add-host {s:?}: expected HOST:IP"))?;
    anyhow::ensure!(
        !h.is_empty() && !h.contains(char::is_whitespace),
        "--add-host {s:?}: empty or blank host name"
    );
    ip.parse::<std::net::IpAddr>()
        .map_err(|_| anyhow::anyhow!("--add-host {s:?}: {ip:?} is not an IP address"))?;
    Ok((h.to_owned(), ip.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        let p = PortMapping::parse("8080:80").unwrap();
        assert_eq!(
            (p.host_port, p.container_port, p.protocol.as_str()),
            (8080, 80, "tcp")
        );
        let p = PortMapping::parse("127.0.0.1:53:53/udp").unwrap();
        assert_eq!(
            (p.host_ip.as_str(), p.protocol.as_str()),
            ("127.0.0.1", "udp")
        );
        assert_eq!(PortMapping::parse("[::1]:1:2").unwrap().host_ip, "::1");
        for bad in [
            "80", "a:80", "0:80", "1:2:3:4", "x.y:1:2", "1:2/sctp", "70000:1",
        ] {
            let e = PortMapping::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("-p "), "{bad}: {e}");
        }
    }

    #[test]
    fn restart_and_net() {
        assert_eq!(RestartPolicy::parse("no").unwrap(), RestartPolicy::No);
        let p = RestartPolicy::parse("on-failure:2").unwrap();
        assert!(p.restarts(1, 0) && p.restarts(1, 1) && !p.restarts(1, 2) && !p.restarts(0, 0));
        assert!(RestartPolicy::Always.restarts(0, 99));
        assert!(RestartPolicy::parse("sometimes").is_err());
        assert_eq!(PodNet::parse("none").unwrap(), PodNet::None);
        assert_eq!(
            PodNet::parse("a,b").unwrap(),
            PodNet::Cni(vec!["a".into(), "b".into()])
        );
        assert!(PodNet::parse("a/b").is_err() && PodNet::parse("host,a").is_err());
        assert!(parse_add_host("db:10.0.0.2").is_ok() && parse_add_host("db").is_err());
    }
}
