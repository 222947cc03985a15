//! The pod's `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`, generated as files under the pod directory for
//! the engine to bind-mount into every app; plus parsing of `--hostname`, `--add-host` and `--dns`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::error::{io_err, Error, Result};

/// One `--add-host NAME:IP` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// The host name.
    pub name: String,
    /// Its address.
    pub ip: IpAddr,
}

impl HostEntry {
    /// Parses `--add-host NAME:IP` (the IP may be IPv6, e.g. `db:fd00::1`, or bracketed `db:[fd00::1]`).
    pub fn parse(value: &str) -> Result<Self> {
        let bad = |reason: String| Error::BadFlag {
            flag: "--add-host",
            value: value.to_string(),
            reason: format!("{reason} (expected NAME:IP, e.g. db:10.0.0.5)"),
        };
        let (name, ip) = value
            .split_once(':')
            .ok_or_else(|| bad("missing ':'".into()))?;
        validate_hostname(name).map_err(|r| bad(format!("host name {name:?} {r}")))?;
        let ip_text = ip.trim_start_matches('[').trim_end_matches(']');
        let ip = ip_text
            .parse()
            .map_err(|_| bad(format!("{ip:?} is not an IP address")))?;
        Ok(Self {
            name: name.to_string(),
            ip,
        })
    }
}

/// Parses a `--dns IP` value.
pub fn parse_dns(value: &str) -> Result<IpAddr> {
    value.parse().map_err(|_| Error::BadFlag {
        flag: "--dns",
        value: value.to_string(),
        reason: "not an IP address (expected e.g. 1.1.1.1 or 2606:4700::1111)".into(),
    })
}

/// Checks a `--hostname` value (RFC 1123: labels of letters, digits and `-`, at most 253 characters).
pub fn parse_hostname(value: &str) -> Result<String> {
    validate_hostname(value).map_err(|reason| Error::BadFlag {
        flag: "--hostname",
        value: value.to_string(),
        reason,
    })?;
    Ok(value.to_string())
}

fn validate_hostname(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("must be 1 to 253 characters".into());
    }
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok {
            return Err(
                "must be dot-separated labels of letters, digits and '-' (not at either end)"
                    .into(),
            );
        }
    }
    Ok(())
}

/// The content of the pod's `/etc/hosts`: the loopback names, the pod's host name on its address (on
/// `127.0.1.1` when it has none, as with `--net none`), then the `--add-host` entries.
pub fn hosts_file(hostname: &str, pod_ip: Option<IpAddr>, extra: &[HostEntry]) -> String {
    let mut out = String::from(
        "127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    );
    match pod_ip {
        Some(ip) => {
            let _ = writeln!(out, "{ip}\t{hostname}");
        }
        None => {
            let _ = writeln!(out, "127.0.1.1\t{hostname}");
        }
    }
    for e in extra {
        let _ = writeln!(out, "{}\t{}", e.ip, e.name);
    }
    out
}

/// The `/etc/hosts` of a `--net host` pod: the host's own file (`host_hosts`), then the pod's host name on
/// `127.0.1.1` unless the host's file already names it, then the `--add-host` entries.
pub fn host_network_hosts_file(host_hosts: &str, hostname: &str, extra: &[HostEntry]) -> String {
    let mut out = host_hosts.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let named = host_hosts.lines().any(|l| {
        let l = l.split('#').next().unwrap_or_default();
        l.split_whitespace().skip(1).any(|n| n == hostname)
    });
    if !named {
        let _ = writeln!(out, "127.0.1.1\t{hostname}");
    }
    for e in extra {
        let _ = writeln!(out, "{}\t{}", e.ip, e.name);
    }
    out
}

/// What to do when the host's only resolvers are on loopback (unreachable from a pod's own namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopbackResolver {
    /// Use the pod network's gateway instead (right when the host's resolver listens on every address, as
    /// dnsmasq does by default).
    UseGateway,
    /// Fail, telling the user to pass `--dns`.
    Refuse,
}

/// The inputs of the pod's `/etc/resolv.conf`.
#[derive(Debug, Clone)]
pub struct ResolvInput<'a> {
    /// The host's resolv.conf text (`/etc/resolv.conf`).
    pub host: &'a str,
    /// systemd-resolved's list of upstream servers (`/run/systemd/resolve/resolv.conf`), when that file exists;
    /// used instead of a `127.0.0.53` stub.
    pub resolved_upstream: Option<&'a str>,
    /// `--dns` servers: when non-empty they replace the host's.
    pub dns: &'a [IpAddr],
    /// The gateway of the pod's first network, if any.
    pub gateway: Option<IpAddr>,
    /// The loopback-resolver policy.
    pub loopback: LoopbackResolver,
    /// Whether the pod shares the host's network namespace (`--net host`): then loopback resolvers work as is.
    pub host_network: bool,
}

/// The host's resolver configuration, read once for [`ResolvInput`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostResolv {
    /// `/etc/resolv.conf` (empty if missing).
    pub resolv_conf: String,
    /// systemd-resolved's upstream list, `/run/systemd/resolve/resolv.conf`, if present.
    pub resolved_upstream: Option<String>,
}

impl HostResolv {
    /// Reads the host's files at their standard paths.
    pub fn read() -> Self {
        Self::read_from(
            Path::new("/etc/resolv.conf"),
            Path::new("/run/systemd/resolve/resolv.conf"),
        )
    }

    /// Reads `resolv_conf` and systemd-resolved's `upstream` file (tests point these elsewhere).
    pub fn read_from(resolv_conf: &Path, upstream: &Path) -> Self {
        Self {
            resolv_conf: std::fs::read_to_string(resolv_conf).unwrap_or_default(),
            resolved_upstream: std::fs::read_to_string(upstream).ok(),
        }
    }

    /// A [`ResolvInput`] over these files with the pod's settings.
    pub fn input<'a>(
        &'a self,
        dns: &'a [IpAddr],
        gateway: Option<IpAddr>,
        loopback: LoopbackResolver,
        host_network: bool,
    ) -> ResolvInput<'a> {
        ResolvInput {
            host: &self.resolv_conf,
            resolved_upstream: self.resolved_upstream.as_deref(),
            dns,
            gateway,
            loopback,
            host_network,
        }
    }
}

/// Builds the pod's `/etc/resolv.conf`: `search`/`domain`/`options` lines are kept from the host; name servers
/// are `--dns` if given, else the host's; on a pod network, loopback and IPv6 link-local servers are dropped
/// and a loopback-only host is handled per [`ResolvInput::loopback`].
pub fn resolv_conf(input: &ResolvInput<'_>) -> Result<String> {
    let mut other = Vec::new();
    let mut servers: Vec<String> = Vec::new();
    for line in input.host.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["nameserver", ip, ..] if server_ip(ip).is_some() => servers.push(ip.to_string()),
            [kw, ..] if matches!(*kw, "search" | "domain" | "options") => {
                other.push(line.trim().to_string())
            }
            _ => {}
        }
    }
    let servers: Vec<String> = if !input.dns.is_empty() {
        input.dns.iter().map(ToString::to_string).collect()
    } else if input.host_network {
        servers
    } else {
        let stub = servers
            .iter()
            .any(|s| server_ip(s).is_some_and(|ip| ip.is_loopback()));
        let mut kept: Vec<String> = servers
            .iter()
            .filter(|s| reachable_from_pod(s))
            .cloned()
            .collect();
        if stub && kept.is_empty() {
            if let Some(upstream) = input.resolved_upstream {
                kept = upstream
                    .lines()
                    .filter_map(|l| l.strip_prefix("nameserver"))
                    .map(str::trim)
                    .filter(|s| reachable_from_pod(s))
                    .map(str::to_string)
                    .collect();
            }
        }
        if stub && kept.is_empty() {
            match (input.loopback, input.gateway) {
                (LoopbackResolver::UseGateway, Some(gw)) => kept.push(gw.to_string()),
                _ => {
                    return Err(Error::Resolver {
                        reason: format!(
                            "the host's only name servers ({}) are on loopback, which a pod's network cannot reach; pass --dns IP (or use --net host)",
                            servers.join(", ")
                        ),
                    })
                }
            }
        }
        kept
    };
    let mut out = String::new();
    for line in other {
        let _ = writeln!(out, "{line}");
    }
    for s in servers {
        let _ = writeln!(out, "nameserver {s}");
    }
    Ok(out)
}

/// The address of a `nameserver` value (an IPv6 one may carry a `%zone`).
fn server_ip(text: &str) -> Option<IpAddr> {
    text.split('%').next()?.parse().ok()
}

/// Whether a host name server can serve a pod on its own network: not loopback, and not IPv6 link-local (its
/// zone names a host interface the pod does not have).
fn reachable_from_pod(text: &str) -> bool {
    match server_ip(text) {
        Some(IpAddr::V4(ip)) => !ip.is_loopback(),
        Some(IpAddr::V6(ip)) => !ip.is_loopback() && !ip.is_unicast_link_local(),
        None => false,
    }
}

/// The generated files of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcFiles {
    /// `<pod dir>/etc/hosts`.
    pub hosts: PathBuf,
    /// `<pod dir>/etc/hostname`.
    pub hostname: PathBuf,
    /// `<pod dir>/etc/resolv.conf`.
    pub resolv_conf: PathBuf,
}

/// Writes the three files under `<pod_dir>/etc/` (each atomically: temp file, then rename) and returns their
/// paths, to bind-mount onto `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` of every app.
pub fn write_etc_files(
    pod_dir: &Path,
    hostname: &str,
    hosts: &str,
    resolv: &str,
) -> Result<EtcFiles> {
    let dir = pod_dir.join("etc");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir, "creating the pod's etc directory"))?;
    let files = EtcFiles {
        hosts: dir.join("hosts"),
        hostname: dir.join("hostname"),
        resolv_conf: dir.join("resolv.conf"),
    };
    write_atomic(&files.hosts, hosts)?;
    write_atomic(&files.hostname, &format!("{hostname}\n"))?;
    write_atomic(&files.resolv_conf, resolv)?;
    Ok(files)
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp, "creating"))?;
    f.write_all(text.as_bytes())
        .map_err(io_err(&tmp, "writing"))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io_err(path, "replacing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(host: &'a str, dns: &'a [IpAddr], loopback: LoopbackResolver) -> ResolvInput<'a> {
        ResolvInput {
            host,
            resolved_upstream: None,
            dns,
            gateway: Some("10.89.0.1".parse().unwrap()),
            loopback,
            host_network: false,
        }
    }

    #[test]
    fn hosts_has_localhost_the_pod_and_extras() {
        let extra = [
            HostEntry::parse("db:10.1.2.3").unwrap(),
            HostEntry::parse("v6:fd00::1").unwrap(),
        ];
        let h = hosts_file("web", Some("10.89.0.7".parse().unwrap()), &extra);
        assert!(h.starts_with("127.0.0.1\tlocalhost"));
        assert!(
            h.contains("\n10.89.0.7\tweb\n")
                && h.contains("\n10.1.2.3\tdb\n")
                && h.contains("\nfd00::1\tv6\n")
        );
        assert!(hosts_file("web", None, &[]).contains("127.0.1.1\tweb\n"));
    }

    #[test]
    fn host_network_hosts_keeps_the_hosts_file() {
        let extra = [HostEntry::parse("db:10.1.2.3").unwrap()];
        let host = "127.0.0.1 localhost\n192.0.2.2 box # me\n";
        let h = host_network_hosts_file(host, "web", &extra);
        assert_eq!(h, format!("{host}127.0.1.1\tweb\n10.1.2.3\tdb\n"));
        assert_eq!(host_network_hosts_file(host, "box", &[]), host);
        assert_eq!(host_network_hosts_file("", "web", &[]), "127.0.1.1\tweb\n");
    }

    #[test]
    fn flags_are_checked() {
        for (e, flag) in [
            (HostEntry::parse("db").unwrap_err(), "--add-host \"db\""),
            (HostEntry::parse("d b:1.2.3.4").unwrap_err(), "--add-host"),
            (HostEntry::parse("db:nope").unwrap_err(), "not an IP"),
            (parse_dns("8.8.8").unwrap_err(), "--dns \"8.8.8\""),
            (parse_hostname("-x").unwrap_err(), "--hostname \"-x\""),
        ] {
            assert!(e.to_string().contains(flag), "{e}");
        }
        assert_eq!(
            HostEntry::parse("x:[::1]").unwrap().ip,
            "::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(parse_hostname("a-1.example").unwrap(), "a-1.example");
    }

    #[test]
    fn resolv_keeps_host_servers_and_search() {
        let host = "# comment\nsearch corp.example\nnameserver 10.255.255.53\noptions ndots:2\n";
        let r = resolv_conf(&input(host, &[], LoopbackResolver::Refuse)).unwrap();
        assert_eq!(
            r,
            "search corp.example\noptions ndots:2\nnameserver 10.255.255.53\n"
        );
        let dns = ["1.1.1.1".parse().unwrap()];
        let r = resolv_conf(&input(host, &dns, LoopbackResolver::Refuse)).unwrap();
        assert!(
            r.ends_with("nameserver 1.1.1.1\n") && !r.contains("10.255"),
            "{r}"
        );
    }

    #[test]
    fn loopback_resolvers_are_replaced_or_refused() {
        let host = "nameserver 127.0.0.53\n";
        let e = resolv_conf(&input(host, &[], LoopbackResolver::Refuse))
            .unwrap_err()
            .to_string();
        assert!(e.contains("127.0.0.53") && e.contains("--dns"), "{e}");
        let r = resolv_conf(&input(host, &[], LoopbackResolver::UseGateway)).unwrap();
        assert_eq!(r, "nameserver 10.89.0.1\n");
        let mut i = input(host, &[], LoopbackResolver::Refuse);
        i.resolved_upstream = Some("nameserver 192.0.2.53\nnameserver 127.0.0.1\n");
        assert_eq!(resolv_conf(&i).unwrap(), "nameserver 192.0.2.53\n");
        let mut i = input(host, &[], LoopbackResolver::Refuse);
        i.host_network = true;
        assert_eq!(resolv_conf(&i).unwrap(), "nameserver 127.0.0.53\n");
        // Link-local IPv6 servers only work on the host (their zone is a host interface).
        let host = "nameserver fe80::1%eth0\nnameserver 192.0.2.53\n";
        assert_eq!(
            resolv_conf(&input(host, &[], LoopbackResolver::Refuse)).unwrap(),
            "nameserver 192.0.2.53\n"
        );
        let mut i = input(host, &[], LoopbackResolver::Refuse);
        i.host_network = true;
        assert_eq!(resolv_conf(&i).unwrap(), host);
        // A mixed list just drops the loopback entry.
        let r = resolv_conf(&input(
            "nameserver 127.0.0.1\nnameserver 9.9.9.9\n",
            &[],
            LoopbackResolver::Refuse,
        ));
        assert_eq!(r.unwrap(), "nameserver 9.9.9.9\n");
    }

    #[test]
    fn host_files_are_read_and_missing_ones_tolerated() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("resolv.conf");
        std::fs::write(&conf, "nameserver 127.0.0.53\n").unwrap();
        let up = dir.path().join("upstream");
        let h = HostResolv::read_from(&conf, &up);
        assert_eq!(h.resolved_upstream, None);
        assert!(resolv_conf(&h.input(&[], None, LoopbackResolver::Refuse, false)).is_err());
        std::fs::write(&up, "nameserver 192.0.2.53\n").unwrap();
        let h = HostResolv::read_from(&conf, &up);
        let r = resolv_conf(&h.input(&[], None, LoopbackResolver::Refuse, false)).unwrap();
        assert_eq!(r, "nameserver 192.0.2.53\n");
        assert_eq!(
            HostResolv::read_from(&dir.path().join("none"), &up).resolv_conf,
            ""
        );
    }

    #[test]
    fn files_are_written_under_the_pod_dir() {
        let dir = tempfile::tempdir().unwrap();
        let f = write_etc_files(dir.path(), "web", "h\n", "r\n").unwrap();
        assert_eq!(std::fs::read_to_string(&f.hostname).unwrap(), "web\n");
        assert_eq!(std::fs::read_to_string(&f.hosts).unwrap(), "h\n");
        assert_eq!(f.resolv_conf, dir.path().join("etc/resolv.conf"));
    }
}
