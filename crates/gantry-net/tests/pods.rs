//! Root integration tests: real namespaces on a private bridge, attached with Debian's CNI plugins; traffic
//! between pods and from the host; and proof that teardown removes every veth, lease, iptables rule and netns.

mod support;

use std::process::Command;

use gantry_net::{is_mounted_netns, PodRef, PortMapping};
use support::*;

#[test]
fn new_netns_has_loopback_up_and_is_removed() {
    let mut net = Net::new("lo", &[]);
    let (_dir, ns) = net.pod("a");
    assert!(is_mounted_netns(ns.path()).unwrap());
    let (ok, out) = net.run_in(ns.path(), &["ip", "-o", "link", "show", "lo"]);
    assert!(ok && out.contains(",UP"), "lo not up: {out}");
    let (ok, out) = net.run_in(ns.path(), &["ping", "-c", "1", "-W", "2", "127.0.0.1"]);
    assert!(ok, "ping localhost in the pod: {out}");
    // The namespace is not the host's: it has no eth0.
    let (ok, _) = net.run_in(ns.path(), &["ip", "link", "show", "eth0"]);
    assert!(!ok, "new netns sees the host's eth0");
    let e = gantry_net::PodNetns::create(ns.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "{}: creating the netns mount point",
            ns.path().display()
        )),
        "{e}"
    );
    assert!(
        is_mounted_netns(ns.path()).unwrap(),
        "a failed second create damaged the first namespace"
    );
    let path = ns.path().to_path_buf();
    ns.remove().unwrap();
    assert!(!path.exists());
    gantry_net::remove_netns(&path).unwrap();
}

#[test]
fn two_pods_reach_each_other_and_teardown_leaves_nothing() {
    let before = iptables_lines();
    let mut net = Net::new("two", &[]);
    let list = net.conflist();
    let (dir_a, ns_a) = net.pod("a");
    let (dir_b, ns_b) = net.pod("b");
    let (id_a, id_b) = (net.id("a"), net.id("b"));
    let att_a = net
        .cni
        .attach(
            &PodRef {
                id: &id_a,
                dir: &dir_a,
            },
            &ns_a,
            std::slice::from_ref(&list),
            &[],
        )
        .unwrap();
    let att_b = net
        .cni
        .attach(
            &PodRef {
                id: &id_b,
                dir: &dir_b,
            },
            &ns_b,
            std::slice::from_ref(&list),
            &[],
        )
        .unwrap();
    let (ip_a, ip_b) = (att_a.pod_ip().unwrap(), att_b.pod_ip().unwrap());
    assert!(ip_a.to_string().starts_with(&net.subnet_prefix), "{ip_a}");
    assert_eq!(
        att_a.gateway().unwrap().to_string(),
        format!("{}1", net.subnet_prefix)
    );
    assert_eq!(att_a.networks[0].ifname, "eth0");
    assert_eq!(
        net.cni.attachment(&dir_a).unwrap().unwrap().networks,
        att_a.networks
    );
    net.cni.check(&dir_a).unwrap();
    net.cni.check(&dir_b).unwrap();

    let (ok, out) = net.run_in(
        ns_a.path(),
        &["ping", "-c", "1", "-W", "2", &ip_b.to_string()],
    );
    assert!(ok, "a -> b ping: {out}");
    net.httpd(ns_b.path(), ip_b, "hello from b\n");
    let (ok, out) = net.run_in(
        ns_a.path(),
        &[
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://{ip_b}/index.html"),
        ],
    );
    assert!(ok && out.contains("hello from b"), "a -> b http: {out}");
    assert_eq!(bridge_ports(&net.bridge).len(), 2);
    assert_eq!(leases(&net.dir).len(), 2);
    let needles = vec![id_a.clone(), id_b.clone(), net.subnet_prefix.clone()];
    let chains = our_chains(&iptables_lines(), &before, &needles);
    assert!(
        chains.len() >= 2,
        "expected masquerade chains for both pods, saw {chains:?}"
    );

    for c in &mut net.children {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    net.children.clear();
    for dir in [&dir_a, &dir_b] {
        net.cni.gc(dir).unwrap();
        assert!(!dir.join(gantry_net::STATE_FILE).exists());
    }
    assert!(
        !ns_a.path().exists() && !ns_b.path().exists(),
        "netns files left"
    );
    assert_eq!(
        bridge_ports(&net.bridge),
        Vec::<String>::new(),
        "veths left"
    );
    assert_eq!(
        leases(&net.dir),
        Vec::<std::path::PathBuf>::new(),
        "IPAM leases left"
    );
    let left = our_rules(&iptables_lines(), &chains, &needles);
    assert!(
        left.is_empty(),
        "iptables rules left after DEL:\n{}",
        left.join("\n")
    );
    // A second teardown is a no-op.
    net.cni.gc(&dir_a).unwrap();
    net.cni.detach(&dir_a).unwrap();
}

#[test]
fn published_port_is_reachable_from_the_host() {
    let before = iptables_lines();
    let mut net = Net::new("port", &[]);
    let list = net.conflist();
    let (dir, ns) = net.pod("web");
    let id = net.id("web");
    let port = free_port();
    let ports = [PortMapping::parse(&format!("{port}:80")).unwrap()];
    let att = net
        .cni
        .attach(
            &PodRef { id: &id, dir: &dir },
            &ns,
            std::slice::from_ref(&list),
            &ports,
        )
        .unwrap();
    let ip = att.pod_ip().unwrap();
    net.httpd(ns.path(), ip, "published\n");
    net.cni.check(&dir).unwrap();
    let host = host_ip();
    let body = http_get(host, port).unwrap_or_else(|e| panic!("GET http://{host}:{port}/: {e}"));
    assert_eq!(body, "published\n");
    let local = "127.0.0.1".parse().unwrap();
    let body =
        http_get(local, port).unwrap_or_else(|e| panic!("GET http://127.0.0.1:{port}/: {e}"));
    assert_eq!(body, "published\n");
    let needles = vec![id.clone(), net.subnet_prefix.clone()];
    let during = iptables_lines();
    let chains = our_chains(&during, &before, &needles);
    assert!(
        our_rules(&during, &chains, &needles)
            .iter()
            .any(|l| l.contains(&format!("--dport {port}"))),
        "no DNAT rule for port {port}"
    );
    drop(att); // releases the held host port, so a connection after DEL is refused rather than parked
    net.cni.gc(&dir).unwrap();
    assert!(
        http_get(host, port).is_err(),
        "port {port} still forwarded after DEL"
    );
    let left = our_rules(&iptables_lines(), &chains, &needles);
    assert!(
        left.is_empty(),
        "iptables rules left after DEL:\n{}",
        left.join("\n")
    );
    assert!(leases(&net.dir).is_empty() && bridge_ports(&net.bridge).is_empty());
}

#[test]
fn detach_after_the_netns_vanished_still_releases_everything() {
    let before = iptables_lines();
    let mut net = Net::new("gone", &[]);
    let list = net.conflist();
    let (dir, ns) = net.pod("p");
    let id = net.id("p");
    let ports = [PortMapping::parse(&format!("{}:80", free_port())).unwrap()];
    net.cni
        .attach(&PodRef { id: &id, dir: &dir }, &ns, &[list], &ports)
        .unwrap();
    let needles = vec![id.clone(), net.subnet_prefix.clone()];
    let chains = our_chains(&iptables_lines(), &before, &needles);
    // The namespace disappears first (e.g. removed by hand, or its mount lost), taking the veth with it.
    gantry_net::remove_netns(ns.path()).unwrap();
    net.cni.gc(&dir).unwrap();
    assert!(!dir.join(gantry_net::STATE_FILE).exists());
    assert_eq!(
        leases(&net.dir),
        Vec::<std::path::PathBuf>::new(),
        "lease left"
    );
    assert_eq!(bridge_ports(&net.bridge), Vec::<String>::new(), "veth left");
    let left = our_rules(&iptables_lines(), &chains, &needles);
    assert!(
        left.is_empty(),
        "iptables rules left after DEL without netns:\n{}",
        left.join("\n")
    );
}

#[test]
fn a_published_port_is_held_so_a_second_pod_cannot_take_it() {
    let mut net = Net::new("held", &[]);
    let list = net.conflist();
    let (dir_a, ns_a) = net.pod("a");
    let (dir_b, ns_b) = net.pod("b");
    let (id_a, id_b) = (net.id("a"), net.id("b"));
    let port = free_port();
    let ports = [PortMapping::parse(&format!("{port}:80")).unwrap()];
    let att = net
        .cni
        .attach(
            &PodRef {
                id: &id_a,
                dir: &dir_a,
            },
            &ns_a,
            std::slice::from_ref(&list),
            &ports,
        )
        .unwrap();
    assert_eq!(att.held_ports.len(), 1);
    let e = net
        .cni
        .attach(
            &PodRef {
                id: &id_b,
                dir: &dir_b,
            },
            &ns_b,
            std::slice::from_ref(&list),
            &ports,
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!(
            "host port {port}/tcp on 0.0.0.0 is already in use"
        )),
        "{e}"
    );
    assert!(!dir_b.join(gantry_net::STATE_FILE).exists());
    drop(att);
    net.cni.gc(&dir_a).unwrap();
    // Released with the attachment: the port is free again.
    ports[0].ensure_host_port_free().unwrap();
}

#[test]
fn two_networks_give_eth0_and_eth1_and_check_notices_damage() {
    let before = iptables_lines();
    let mut first = Net::new("multi", &[]);
    let second = Net::new("multi", &[]);
    // Put the second network's conflist beside the first so one Cni resolves both.
    let conf = std::fs::read_dir(second.dir.join("net.d"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(
        &conf,
        first.dir.join("net.d").join(conf.file_name().unwrap()),
    )
    .unwrap();
    let lists = first
        .cni
        .networks(&[first.network.clone(), second.network.clone()])
        .unwrap();
    let (dir, ns) = first.pod("p");
    let id = first.id("p");
    let att = first
        .cni
        .attach(&PodRef { id: &id, dir: &dir }, &ns, &lists, &[])
        .unwrap();
    let names: Vec<_> = att
        .networks
        .iter()
        .map(|n| (n.name.as_str(), n.ifname.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (first.network.as_str(), "eth0"),
            (second.network.as_str(), "eth1")
        ]
    );
    assert!(att.networks[1]
        .result
        .pod_ip()
        .unwrap()
        .to_string()
        .starts_with(&second.subnet_prefix));
    let (ok, out) = first.run_in(ns.path(), &["ip", "-o", "-4", "addr", "show"]);
    assert!(
        ok && out.contains(&first.subnet_prefix) && out.contains(&second.subnet_prefix),
        "{out}"
    );
    first.cni.check(&dir).unwrap();

    // Damage the attachment behind CNI's back: CHECK must say so.
    let (ok, out) = first.run_in(ns.path(), &["ip", "addr", "flush", "dev", "eth1"]);
    assert!(ok, "{out}");
    let e = first.cni.check(&dir).unwrap_err().to_string();
    assert!(
        e.contains(&format!("network {}: CNI plugin", second.network))
            && e.contains("CHECK failed"),
        "{e}"
    );

    let needles = vec![
        id.clone(),
        first.subnet_prefix.clone(),
        second.subnet_prefix.clone(),
    ];
    let chains = our_chains(&iptables_lines(), &before, &needles);
    first.cni.gc(&dir).unwrap();
    assert!(
        bridge_ports(&first.bridge).is_empty() && bridge_ports(&second.bridge).is_empty(),
        "veths left"
    );
    assert!(leases(&first.dir).is_empty(), "leases left");
    let left = our_rules(&iptables_lines(), &chains, &needles);
    assert!(left.is_empty(), "iptables rules left:\n{}", left.join("\n"));
}

#[test]
fn a_dozen_pods_get_distinct_addresses_and_gc_leaves_nothing() {
    const PODS: usize = 12;
    let before = iptables_lines();
    let mut net = Net::new("many", &[]);
    let list = net.conflist();
    let mut pods = Vec::new();
    for i in 0..PODS {
        let name = format!("p{i}");
        let (dir, ns) = net.pod(&name);
        let id = net.id(&name);
        let ports = [PortMapping::parse(&format!("{}:80", free_port())).unwrap()];
        let att = net
            .cni
            .attach(
                &PodRef { id: &id, dir: &dir },
                &ns,
                std::slice::from_ref(&list),
                &ports,
            )
            .unwrap();
        pods.push((dir, ns, id, att));
    }
    let mut ips: Vec<_> = pods.iter().map(|p| p.3.pod_ip().unwrap()).collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), PODS, "addresses handed out twice");
    let last = pods[PODS - 1].3.pod_ip().unwrap().to_string();
    let (ok, out) = net.run_in(pods[0].1.path(), &["ping", "-c", "1", "-W", "2", &last]);
    assert!(ok, "first -> last pod: {out}");
    assert_eq!(bridge_ports(&net.bridge).len(), PODS);
    let mut needles: Vec<String> = pods.iter().map(|p| p.2.clone()).collect();
    needles.push(net.subnet_prefix.clone());
    let chains = our_chains(&iptables_lines(), &before, &needles);
    for (dir, ns, _, att) in pods {
        drop(att);
        net.cni.gc(&dir).unwrap();
        assert!(!ns.path().exists());
    }
    assert_eq!(
        bridge_ports(&net.bridge),
        Vec::<String>::new(),
        "veths left"
    );
    assert_eq!(
        leases(&net.dir),
        Vec::<std::path::PathBuf>::new(),
        "leases left"
    );
    let left = our_rules(&iptables_lines(), &chains, &needles);
    assert!(left.is_empty(), "iptables rules left:\n{}", left.join("\n"));
}

#[test]
fn the_built_in_default_network_works_as_written() {
    let before = iptables_lines();
    let mut net = Net::new("dflt", &[]);
    // The real gantry0 chain, on this test's bridge and subnet (so the host's gantry0 is never touched).
    let default = gantry_net::DefaultNetwork {
        name: "gantry0".into(),
        bridge: net.bridge.clone(),
        subnet: format!("{}0/24", net.subnet_prefix),
        ipam_dir: net.dir.join("ipam"),
    };
    net.cni = gantry_net::Cni::new(gantry_net::NetOptions {
        default_network: default,
        ..net.cni.options().clone()
    });
    let lists = net.cni.networks(&["default".into()]).unwrap();
    assert!(
        net.dir.join("net.d/gantry0.conflist").exists(),
        "default conflist not written on first use"
    );
    let (dir, ns) = net.pod("p");
    let id = net.id("p");
    let ports = [PortMapping::parse(&format!("{}:80", free_port())).unwrap()];
    let att = net
        .cni
        .attach(&PodRef { id: &id, dir: &dir }, &ns, &lists, &ports)
        .unwrap();
    let gw = att.gateway().unwrap();
    let (ok, out) = net.run_in(ns.path(), &["ip", "route"]);
    assert!(
        ok && out.contains(&format!("default via {gw}")),
        "no default route via the gateway:\n{out}"
    );
    let (ok, out) = net.run_in(ns.path(), &["ping", "-c", "1", "-W", "2", &gw.to_string()]);
    assert!(ok, "pod -> gateway: {out}");
    net.cni.check(&dir).unwrap();
    // Outbound NAT and FORWARD acceptance come from gantry's rules for the whole subnet, not from per-pod
    // plugin rules. An address outside with no route back to the pods answers only if the pod's traffic was
    // masqueraded; the pod's forwarded packets are counted by gantry's ACCEPT rule at the top of FORWARD, so a
    // DROP policy (or DROP rules) below it never sees them.
    let comment = format!("gantry {} {}0/24", net.bridge, net.subnet_prefix);
    let gantry_rules = || {
        iptables_lines()
            .into_iter()
            .filter(|l| l.contains(&comment))
            .count()
    };
    assert_eq!(gantry_rules(), 3, "masquerade + 2 FORWARD rules");
    let far = net.outside();
    let forwarded_before = forward_accepts(&comment);
    let (ok, out) = net.run_in(ns.path(), &["ping", "-c", "1", "-W", "2", &far]);
    assert!(ok, "pod -> outside address (masqueraded): {out}");
    assert!(
        forward_accepts(&comment) > forwarded_before,
        "the pod's forwarded packets did not hit gantry's FORWARD accept rule"
    );
    let forward = Command::new("iptables")
        .args(["-S", "FORWARD"])
        .output()
        .unwrap();
    // Other gantry networks' rules may sit above ours; anything else may not.
    let ours_on_top = String::from_utf8_lossy(&forward.stdout)
        .lines()
        .filter(|l| l.starts_with("-A FORWARD"))
        .take_while(|l| l.contains("--comment \"gantry "))
        .any(|l| l.contains(&comment));
    assert!(
        ours_on_top,
        "gantry's accept rules are not at the top of FORWARD:\n{}",
        String::from_utf8_lossy(&forward.stdout)
    );
    // A second pod shares the rule; it stays until the last pod leaves.
    let (dir2, ns2) = net.pod("q");
    let id2 = net.id("q");
    let att2 = net
        .cni
        .attach(
            &PodRef {
                id: &id2,
                dir: &dir2,
            },
            &ns2,
            &lists,
            &[],
        )
        .unwrap();
    assert_eq!(gantry_rules(), 3, "one set of rules for two pods");
    let lines = iptables_lines();
    let per_pod: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(&id) || l.contains(&id2))
        .filter(|l| l.starts_with("-A POSTROUTING") || l.starts_with("-A CNI-FORWARD"))
        .collect();
    assert!(
        per_pod.is_empty(),
        "per-pod rules on the default network: {per_pod:?}"
    );
    let needles = vec![id.clone(), id2.clone(), net.subnet_prefix.clone()];
    let chains = our_chains(&lines, &before, &needles);
    drop(att);
    net.cni.gc(&dir).unwrap();
    assert_eq!(
        gantry_rules(),
        3,
        "the rules went with the first of two pods"
    );
    let (ok, out) = net.run_in(ns2.path(), &["ping", "-c", "1", "-W", "2", &far]);
    assert!(ok, "second pod -> outside after the first left: {out}");
    drop(att2);
    net.cni.gc(&dir2).unwrap();
    assert!(leases(&net.dir).is_empty() && bridge_ports(&net.bridge).is_empty());
    let left = our_rules(&iptables_lines(), &chains, &needles);
    assert!(left.is_empty(), "iptables rules left:\n{}", left.join("\n"));
}

/// The packets gantry's `-s SUBNET -j ACCEPT` FORWARD rule with `comment` has accepted so far.
fn forward_accepts(comment: &str) -> u64 {
    let out = Command::new("iptables-save")
        .args(["-c", "-t", "filter"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(comment) && l.contains(" -s ") && l.contains("-A FORWARD"))
        .filter_map(|l| l.strip_prefix('[')?.split(':').next()?.parse::<u64>().ok())
        .sum()
}
