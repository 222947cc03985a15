//! Pod network setup timings (ignored by default; root):
//! `cargo test --release -p gantry-net --test bench_attach -- --ignored --nocapture`
//! Medians over 20 rounds of: creating the namespace (ours vs `ip netns add`), attaching it to a private
//! bridge + host-local + portmap (one port) + firewall + tuning chain, and tearing it down (DEL + netns removal);
//! the attach and teardown both with per-pod rules (the bridge plugin's `ipMasq` and the firewall plugin) and with
//! gantry's network-wide rules instead (`gantryMasquerade`, `gantryForward`, no firewall plugin: as the built-in
//! gantry0), interleaved.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use gantry_net::{PodNetns, PodRef, PortMapping};
use support::*;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
fn attach_and_teardown_timings() {
    const ROUNDS: usize = 20;
    let mut net = Net::new("bench", &[]);
    let per_pod = net.conflist();
    let mut network_wide = per_pod.clone();
    network_wide.plugins[0].insert("ipMasq".into(), false.into());
    network_wide
        .plugins
        .retain(|p| p.get("type").and_then(|t| t.as_str()) != Some("firewall"));
    network_wide.gantry_masquerade = true;
    network_wide.gantry_forward = true;
    let (mut ours, mut iproute) = (vec![], vec![]);
    let mut attach = [vec![], vec![]];
    let mut teardown = [vec![], vec![]];
    for i in 0..ROUNDS {
        let name = format!("gantry-net-bench-{}-{i}", std::process::id());
        let t = Instant::now();
        assert!(Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap()
            .success());
        assert!(Command::new("ip")
            .args(["-n", &name, "link", "set", "lo", "up"])
            .status()
            .unwrap()
            .success());
        iproute.push(t.elapsed());
        assert!(Command::new("ip")
            .args(["netns", "del", &name])
            .status()
            .unwrap()
            .success());
        for (k, list) in [&per_pod, &network_wide].into_iter().enumerate() {
            let pod_dir = net.dir.join(format!("pods/{i}-{k}"));
            let path = net.dir.join(format!("netns/{i}-{k}"));
            net.pods.push(pod_dir.clone());
            net.netns.push(path.clone());
            let t = Instant::now();
            let ns = PodNetns::create(&path).unwrap();
            ours.push(t.elapsed());
            let id = net.id(&format!("{i}-{k}"));
            let ports = [PortMapping::parse(&format!("{}:80", free_port())).unwrap()];
            let t = Instant::now();
            let att = net
                .cni
                .attach(
                    &PodRef {
                        id: &id,
                        dir: &pod_dir,
                    },
                    &ns,
                    std::slice::from_ref(list),
                    &ports,
                )
                .unwrap();
            attach[k].push(t.elapsed());
            drop(att);
            let t = Instant::now();
            net.cni.gc(&pod_dir).unwrap();
            teardown[k].push(t.elapsed());
        }
    }
    let [a_pod, a_net] = attach;
    let [t_pod, t_net] = teardown;
    println!(
        "netns create, lo up: gantry-net {:?}, ip netns add + ip link set lo up {:?}",
        median(ours),
        median(iproute)
    );
    println!(
        "attach (bridge, host-local, portmap 1 port, tuning): per-pod rules (ipMasq, firewall) {:?}, network-wide {:?}",
        median(a_pod),
        median(a_net)
    );
    println!(
        "teardown (DEL + netns removal): per-pod rules {:?}, network-wide {:?}",
        median(t_pod),
        median(t_net)
    );
}
