//! A pod's CNI networks (`--net default|NAME[,NAME...]`, `-p`), through gantry-net: the network namespace is a
//! pod-level object bind-mounted at `<root>/netns/<pod>` (made before the supervisor's private mount
//! namespace, so `gantry gc` sees it after a crash), attached once before any app starts and joined by path by
//! every app. Teardown (CNI DEL with the recorded results, then the namespace) runs at the pod's end and, after
//! a killed supervisor, from `gantry gc`: both work from `<pod dir>/network.json` alone.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use gantry_net::{Attachment, Cni, HostEntry, NetOptions, PodNetns, PodRef};

use super::plan::{PodPlan, PortMapping};

/// Where pod `id`'s network namespace is bound.
pub fn netns_path(root: &Path, id: &str) -> PathBuf {
    root.join("netns").join(id)
}

fn cni() -> Cni {
    Cni::new(NetOptions::system())
}

/// `-p` as gantry-net reads it.
fn net_ports(ports: &[PortMapping]) -> anyhow::Result<Vec<gantry_net::PortMapping>> {
    ports
        .iter()
        .map(|p| {
            let ip = match p.host_ip.as_str() {
                "" => String::new(),
                ip if ip.contains(':') => format!("[{ip}]:"),
                ip => format!("{ip}:"),
            };
            let s = format!("{ip}{}:{}/{}", p.host_port, p.container_port, p.protocol);
            Ok(gantry_net::PortMapping::parse(&s)?)
        })
        .collect()
}

/// Checks `--net` names and `-p` before anything is created: unknown networks, colliding or bound ports.
pub fn check(names: &[String], ports: &[PortMapping]) -> anyhow::Result<()> {
    cni().networks(names)?;
    // Colliding -p are refused by attach, before it touches anything.
    for p in &net_ports(ports)? {
        p.ensure_host_port_free()?;
    }
    Ok(())
}

/// The pod's attached networks; keep it for the pod's lifetime (it holds the published host ports).
pub struct PodNetwork {
    _attachment: Attachment,
    /// The namespace every app joins.
    pub netns: PathBuf,
    /// The pod's address on its first network.
    pub pod_ip: Option<IpAddr>,
    /// That network's gateway.
    pub gateway: Option<IpAddr>,
}

/// Creates the namespace and runs CNI ADD for every network; on failure nothing is left.
pub fn attach(
    root: &Path,
    plan: &PodPlan,
    names: &[String],
    pod_dir: &Path,
) -> anyhow::Result<PodNetwork> {
    let c = cni();
    let networks = c.networks(names)?;
    let ports = net_ports(&plan.ports)?;
    let path = netns_path(root, &plan.id);
    std::fs::create_dir_all(root.join("netns")).context("creating the netns directory")?;
    let netns = PodNetns::create(&path)?;
    let pod = PodRef {
        id: &plan.id,
        dir: pod_dir,
    };
    match c.attach(&pod, &netns, &networks, &ports) {
        Ok(a) => Ok(PodNetwork {
            pod_ip: a.pod_ip(),
            gateway: a.gateway(),
            netns: netns.path().to_owned(),
            _attachment: a,
        }),
        Err(e) => {
            let _ = netns.remove();
            Err(e.into())
        }
    }
}

/// CNI DEL for every attached network and removal of the namespace; idempotent, also after a crash.
pub fn release(root: &Path, id: &str, pod_dir: &Path) -> anyhow::Result<()> {
    if pod_dir.join("network.json").exists() {
        cni().gc(pod_dir)?;
    }
    gantry_net::remove_netns(&netns_path(root, id))?;
    Ok(())
}

/// The pod's /etc/hosts and /etc/resolv.conf contents for CNI and host networking (gantry-net's rules: the
/// host's resolvers, a loopback-only one replaced by systemd-resolved's upstreams or the gateway, or refused).
pub fn etc_contents(plan: &PodPlan, net: Option<&PodNetwork>) -> anyhow::Result<(String, String)> {
    let extra = plan
        .add_hosts
        .iter()
        .map(|(h, ip)| HostEntry::parse(&format!("{h}:{ip}")))
        .collect::<Result<Vec<_>, _>>()?;
    let dns = plan
        .dns
        .iter()
        .map(|d| gantry_net::parse_dns(d))
        .collect::<Result<Vec<_>, _>>()?;
    let host_net = net.is_none();
    let hosts = if host_net {
        let host = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        gantry_net::host_network_hosts_file(&host, &plan.hostname, &extra)
    } else {
        gantry_net::hosts_file(&plan.hostname, net.and_then(|n| n.pod_ip), &extra)
    };
    let host_resolv = gantry_net::HostResolv::read();
    let input = host_resolv.input(
        &dns,
        net.and_then(|n| n.gateway),
        gantry_net::LoopbackResolver::UseGateway,
        host_net,
    );
    let resolv = gantry_net::resolv_conf(&input)?;
    Ok((hosts, resolv))
}
