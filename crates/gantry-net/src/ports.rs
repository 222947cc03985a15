//! Published ports: `-p [IP:]HOST:CTR[/tcp|udp]` parsing, portmap's `portMappings` runtime configuration, and a
//! check that the host port is free before rules are installed.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// One `-p` mapping: host `host_ip:host_port` forwards to the pod's `container_port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// Host address to listen on; `None` means every address.
    pub host_ip: Option<IpAddr>,
    /// Host port.
    pub host_port: u16,
    /// Port inside the pod.
    pub container_port: u16,
    /// Protocol.
    pub protocol: Protocol,
    /// The `-p` value as the user wrote it, for error messages.
    pub spec: String,
}

impl PortMapping {
    /// Parses a `-p` value: `[IP:]HOST:CTR[/tcp|udp]`; an IPv6 `IP` is written in brackets (`[::1]:8080:80`).
    /// Errors name `-p` and the value.
    pub fn parse(value: &str) -> Result<Self> {
        let bad = |reason: &str| {
            Error::BadFlag {
            flag: "-p",
            value: value.to_string(),
            reason: format!("{reason} (expected [IP:]HOST:CTR[/tcp|udp], e.g. 8080:80 or 127.0.0.1:8080:80/udp)"),
        }
        };
        let (ports, protocol) = match value.rsplit_once('/') {
            Some((p, "tcp")) => (p, Protocol::Tcp),
            Some((p, "udp")) => (p, Protocol::Udp),
            Some((_, other)) => {
                return Err(bad(&format!("unknown protocol {other:?} (use tcp or udp)")))
            }
            None => (value, Protocol::Tcp),
        };
        let (ip_part, rest) = if let Some(after) = ports.strip_prefix('[') {
            let (ip, rest) = after
                .split_once("]:")
                .ok_or_else(|| bad("unclosed '[' around the IP"))?;
            (Some(ip), rest)
        } else {
            match ports.matches(':').count() {
                1 => (None, ports),
                2 => {
                    let (ip, rest) = ports.split_once(':').unwrap_or_default();
                    (Some(ip), rest)
                }
                0 => return Err(bad("the host port is missing")),
                _ => return Err(bad("too many ':' (write an IPv6 address in brackets)")),
            }
        };
        let host_ip = match ip_part {
            None => None,
            Some(ip) => Some(
                ip.parse::<IpAddr>()
                    .map_err(|_| bad(&format!("{ip:?} is not an IP address")))?,
            ),
        };
        let (host, ctr) = rest
            .split_once(':')
            .ok_or_else(|| bad("the host port is missing"))?;
        let port = |s: &str, what: &str| -> Result<u16> {
            match s.parse::<u16>() {
                Ok(p) if p > 0 => Ok(p),
                _ => Err(bad(&format!(
                    "{what} port {s:?} is not a number from 1 to 65535"
                ))),
            }
        };
        Ok(Self {
            host_ip,
            host_port: port(host, "host")?,
            container_port: port(ctr, "container")?,
            protocol,
            spec: value.to_string(),
        })
    }

    /// The entry of portmap's `runtimeConfig.portMappings` for this mapping.
    pub fn to_runtime_config(&self) -> serde_json::Value {
        let mut m = serde_json::json!({
            "hostPort": self.host_port,
            "containerPort": self.container_port,
            "protocol": self.protocol.to_string(),
        });
        if let Some(ip) = self.host_ip {
            m["hostIP"] = ip.to_string().into();
        }
        m
    }

    /// Fails with [`Error::PortInUse`] when a socket on this host already holds the host port (for the address
    /// given, or any address). A check only: see [`PortMapping::reserve`] to keep the port.
    pub fn ensure_host_port_free(&self) -> Result<()> {
        self.reserve().map(drop)
    }

    /// Binds the host port (close-on-exec) so that no other program, and no other pod checking the same way, can
    /// take it while the returned [`PortReservation`] lives (podman's conmon holds its ports the same way).
    /// Traffic never reaches this socket: portmap's DNAT rules send it to the pod first. Fails with
    /// [`Error::PortInUse`] when the port is already bound. A host address that is not local cannot be bound;
    /// then nothing is held and portmap's rules still apply.
    pub fn reserve(&self) -> Result<PortReservation> {
        let ip = self.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let addr = SocketAddr::new(ip, self.host_port);
        let bound = match self.protocol {
            Protocol::Tcp => TcpListener::bind(addr).map(Held::Tcp),
            Protocol::Udp => UdpSocket::bind(addr).map(Held::Udp),
        };
        match bound {
            Ok(held) => Ok(PortReservation {
                addr,
                protocol: self.protocol,
                _held: Some(Arc::new(held)),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => Ok(PortReservation {
                addr,
                protocol: self.protocol,
                _held: None,
            }),
            Err(source) => Err(Error::PortInUse {
                spec: self.spec.clone(),
                ip: ip.to_string(),
                port: self.host_port,
                protocol: self.protocol.to_string(),
                source,
            }),
        }
    }
}

#[derive(Debug)]
enum Held {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

/// A host port held open for a pod (see [`PortMapping::reserve`]); released when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct PortReservation {
    /// The bound address.
    pub addr: SocketAddr,
    /// The protocol.
    pub protocol: Protocol,
    _held: Option<Arc<Held>>,
}

impl PortReservation {
    /// The held socket, if one is bound (none for a host address that is not local). It is close-on-exec: to
    /// keep holding the port across an `exec` (e.g. into a re-executed supervisor), pass this descriptor on
    /// with close-on-exec cleared and take it back with [`PortReservation::adopt`].
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self._held.as_deref().map(|h| match h {
            Held::Tcp(l) => l.as_fd(),
            Held::Udp(u) => u.as_fd(),
        })
    }

    /// Takes over a reservation's socket passed from another process (see [`PortReservation::fd`]). The
    /// descriptor must be a bound socket of `protocol`; its address is read back from it.
    pub fn adopt(fd: OwnedFd, protocol: Protocol) -> std::io::Result<Self> {
        let held = match protocol {
            Protocol::Tcp => Held::Tcp(TcpListener::from(fd)),
            Protocol::Udp => Held::Udp(UdpSocket::from(fd)),
        };
        let addr = match &held {
            Held::Tcp(l) => l.local_addr()?,
            Held::Udp(u) => u.local_addr()?,
        };
        Ok(Self {
            addr,
            protocol,
            _held: Some(Arc::new(held)),
        })
    }
}

impl PartialEq for PortReservation {
    fn eq(&self, other: &Self) -> bool {
        self.addr == other.addr && self.protocol == other.protocol
    }
}

impl Eq for PortReservation {}

/// portmap's `runtimeConfig.portMappings` for a list of mappings.
pub fn runtime_config(mappings: &[PortMapping]) -> serde_json::Value {
    serde_json::Value::Array(
        mappings
            .iter()
            .map(PortMapping::to_runtime_config)
            .collect(),
    )
}

/// Refuses two mappings of the same host address, port and protocol (portmap would install both, and only one
/// would ever receive traffic).
pub fn ensure_distinct(mappings: &[PortMapping]) -> Result<()> {
    for (i, a) in mappings.iter().enumerate() {
        if let Some(b) = mappings[..i].iter().find(|b| {
            b.host_port == a.host_port
                && b.protocol == a.protocol
                && (b.host_ip.is_none() || a.host_ip.is_none() || b.host_ip == a.host_ip)
        }) {
            return Err(Error::BadFlag {
                flag: "-p",
                value: a.spec.clone(),
                reason: format!(
                    "host port {}/{} is already published by -p {}",
                    a.host_port, a.protocol, b.spec
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let p = PortMapping::parse("8080:80").unwrap();
        assert_eq!(
            (p.host_ip, p.host_port, p.container_port, p.protocol),
            (None, 8080, 80, Protocol::Tcp)
        );
        let p = PortMapping::parse("127.0.0.1:53:5353/udp").unwrap();
        assert_eq!(p.host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(
            (p.host_port, p.container_port, p.protocol),
            (53, 5353, Protocol::Udp)
        );
        let p = PortMapping::parse("[::1]:8443:443/tcp").unwrap();
        assert_eq!(p.host_ip, Some("::1".parse().unwrap()));
        assert_eq!(
            p.to_runtime_config(),
            serde_json::json!({"hostPort":8443,"containerPort":443,"protocol":"tcp","hostIP":"::1"})
        );
    }

    #[test]
    fn malformed_values_name_the_flag_and_value() {
        for (v, why) in [
            ("80", "host port is missing"),
            ("x:80", "host port \"x\""),
            ("80:0", "container port \"0\""),
            ("80:70000", "container port"),
            ("80:80/sctp", "unknown protocol"),
            ("1.2.3:80:80", "not an IP address"),
            ("::1:80:80", "too many ':'"),
            ("[::1:80:80", "unclosed"),
            ("", "host port is missing"),
        ] {
            let e = PortMapping::parse(v).unwrap_err().to_string();
            assert!(e.starts_with(&format!("-p {v:?}: ")), "{e}");
            assert!(e.contains(why), "{v}: {e}");
        }
    }

    #[test]
    fn duplicate_host_ports_are_refused() {
        let a = PortMapping::parse("8080:80").unwrap();
        let b = PortMapping::parse("127.0.0.1:8080:81").unwrap();
        let c = PortMapping::parse("8080:80/udp").unwrap();
        assert!(ensure_distinct(&[a.clone(), c]).is_ok());
        let e = ensure_distinct(&[a, b]).unwrap_err().to_string();
        assert!(e.contains("already published by -p 8080:80"), "{e}");
    }

    #[test]
    fn a_reservation_holds_the_port_and_can_be_handed_over() {
        let m = PortMapping::parse("127.0.0.1:0:80").unwrap_err();
        assert!(m.to_string().contains("host port \"0\""));
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let m = PortMapping::parse(&format!("127.0.0.1:{port}:80")).unwrap();
        let held = m.reserve().unwrap();
        assert!(m.ensure_host_port_free().is_err());
        let fd = held.fd().unwrap().try_clone_to_owned().unwrap();
        drop(held);
        let adopted = PortReservation::adopt(fd, Protocol::Tcp).unwrap();
        assert_eq!(adopted.addr.port(), port);
        assert!(
            m.ensure_host_port_free().is_err(),
            "the adopted socket no longer holds the port"
        );
        drop(adopted);
        assert!(m.ensure_host_port_free().is_ok());
    }

    #[test]
    fn a_bound_port_is_detected() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let m = PortMapping::parse(&format!("127.0.0.1:{port}:80")).unwrap();
        let e = m.ensure_host_port_free().unwrap_err().to_string();
        assert!(e.contains("already in use"), "{e}");
        let any = PortMapping::parse(&format!("{port}:80")).unwrap();
        assert!(any.ensure_host_port_free().is_err());
        drop(held);
        assert!(m.ensure_host_port_free().is_ok());
    }
}
