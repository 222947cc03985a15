//! Pod network setup timings (ignored by default; root):
//! `cargo test --release -p gantry-net --test bench_attach -- --ignored --nocapture`
//! Medians over 20 rounds of: creating the namespace (ours vs `ip netns add`), attaching it to a private
//! bridge + host-local + portmap (one port) + firewall + tuning chain, and tearing it down (DEL + netns removal).

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
    let list = net.conflist();
    let (mut ours, mut iproute, mut attach, mut teardown) = (vec![], vec![], vec![], vec![]);
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

        let pod_dir = net.dir.join(format!("pods/{i}"));
        let path = net.dir.join(format!("netns/{i}"));
        net.pods.push(pod_dir.clone());
        net.netns.push(path.clone());
        let t = Instant::now();
        let ns = PodNetns::create(&path).unwrap();
        ours.push(t.elapsed());
        let id = net.id(&i.to_string());
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
                std::slice::from_ref(&list),
                &ports,
            )
            .unwrap();
        attach.push(t.elapsed());
        drop(att);
        let t = Instant::now();
        net.cni.gc(&pod_dir).unwrap();
        teardown.push(t.elapsed());
    }
    println!(
        "netns create, lo up: gantry-net {:?}, ip netns add + ip link set lo up {:?}",
        median(ours),
        median(iproute)
    );
    println!(
        "attach (bridge, host-local, portmap 1 port, firewall, tuning): {:?}",
        median(attach)
    );
    println!("teardown (DEL x4 + netns removal): {:?}", median(teardown));
}
