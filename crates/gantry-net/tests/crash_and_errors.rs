//! Root integration tests of the failure paths: a `kill -9` of the attaching process half way through a chain,
//! then `gc`; and bad input (unknown network, malformed `-p`, a bound host port, a failing or missing plugin),
//! each failing clearly and leaving nothing behind.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gantry_net::{Cni, DefaultNetwork, NetOptions, PodNetns, PodRef, PortMapping};
use support::*;

/// A CNI plugin that records its PID and hangs in ADD (so the attach can be killed mid-chain) and succeeds for
/// everything else.
const SLOW_PLUGIN: &str = "#!/bin/sh\ncat >/dev/null\nif [ \"$CNI_COMMAND\" = ADD ]; then\n  echo $$ > \"$(dirname \"$0\")/../slow.pid\"\n  exec sleep 120\nfi\nexit 0\n";

/// Not a test by itself: the process `kill9_mid_attach_then_gc_leaves_nothing` starts and kills. It attaches one
/// pod as described by its environment and never returns (the slow plugin hangs).
#[test]
#[ignore = "helper process of kill9_mid_attach_then_gc_leaves_nothing, which runs it"]
fn crash_helper_attach_in_child() {
    let env = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run through kill9_mid_attach"))
    };
    let dir = PathBuf::from(env("GANTRY_NET_HELPER_DIR"));
    let cni = Cni::new(NetOptions {
        config_dir: dir.join("net.d"),
        plugin_dirs: vec![dir.join("plugins"), PathBuf::from("/usr/lib/cni")],
        default_network: DefaultNetwork::standard(dir.join("ipam")),
        run_dir: dir.join("run"),
        plugin_timeout: std::time::Duration::from_secs(60),
    });
    let networks = cni.networks(&[env("GANTRY_NET_HELPER_NETWORK")]).unwrap();
    let netns = PodNetns::adopt(Path::new(&env("GANTRY_NET_HELPER_NETNS"))).unwrap();
    let pod_dir = PathBuf::from(env("GANTRY_NET_HELPER_POD_DIR"));
    let ports = [PortMapping::parse(&env("GANTRY_NET_HELPER_PORT")).unwrap()];
    let id = env("GANTRY_NET_HELPER_ID");
    cni.attach(
        &PodRef {
            id: &id,
            dir: &pod_dir,
        },
        &netns,
        &networks,
        &ports,
    )
    .unwrap();
    panic!("the slow plugin should have hung the attach");
}

#[test]
fn kill9_mid_attach_then_gc_leaves_nothing() {
    kill9_mid_attach_then_gc(false);
}

/// The same with gantry's network-wide rules (as the built-in gantry0): gc releases the crashed pod's marker.
#[test]
fn kill9_mid_attach_with_gantry_rules_then_gc_leaves_nothing() {
    kill9_mid_attach_then_gc(true);
}

fn kill9_mid_attach_then_gc(gantry_rules: bool) {
    let before = iptables_lines();
    let mut net = Net::new("crash", &[serde_json::json!({"type": "slow"})]);
    if gantry_rules {
        net.use_gantry_rules();
    }
    std::fs::create_dir_all(net.dir.join("plugins")).unwrap();
    let slow = net.dir.join("plugins/slow");
    std::fs::write(&slow, SLOW_PLUGIN).unwrap();
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (pod_dir, netns) = net.pod("p");
    let id = net.id("p");
    let port = free_port();
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_helper_attach_in_child",
            "--ignored",
            "--nocapture",
        ])
        .env("GANTRY_NET_HELPER_DIR", &net.dir)
        .env("GANTRY_NET_HELPER_NETWORK", &net.network)
        .env("GANTRY_NET_HELPER_NETNS", netns.path())
        .env("GANTRY_NET_HELPER_POD_DIR", &pod_dir)
        .env("GANTRY_NET_HELPER_PORT", format!("{port}:80"))
        .env("GANTRY_NET_HELPER_ID", &id)
        .spawn()
        .unwrap();
    net.pids.push(helper.id() as i32);
    // Wait until the chain reached the slow plugin: bridge, portmap and firewall have run.
    let pid_file = net.dir.join("slow.pid");
    let end = Instant::now() + Duration::from_secs(20);
    let slow_pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            break pid;
        }
        if let Ok(Some(status)) = helper.try_wait() {
            panic!("attach helper ended early ({status}) before reaching the slow plugin");
        }
        assert!(
            Instant::now() < end,
            "the attach never reached the slow plugin"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    net.pids.push(slow_pid);
    helper.kill().unwrap(); // SIGKILL
    helper.wait().unwrap();

    // What a crashed supervisor leaves: the record, a veth, a lease, the DNAT and firewall rules.
    assert!(
        pod_dir.join(gantry_net::STATE_FILE).exists(),
        "no network record after the crash"
    );
    assert_eq!(bridge_ports(&net.bridge).len(), 1);
    assert_eq!(leases(&net.dir).len(), 1);
    let needles = vec![id.clone(), net.subnet_prefix.clone()];
    let during = iptables_lines();
    let chains = our_chains(&during, &before, &needles);
    let rules = our_rules(&during, &chains, &needles);
    assert!(
        rules.iter().any(|l| l.contains(&format!("--dport {port}"))),
        "no DNAT rule before gc: {rules:?}"
    );
    // gantry's rules are added once the chain returns (their check runs beside it), so a crash inside the chain
    // leaves only the pod's marker.
    let marker = net
        .dir
        .join(format!("run/{}_{}0_24/{id}", net.bridge, net.subnet_prefix));
    assert_eq!(marker.exists(), gantry_rules, "{}", marker.display());
    assert!(
        !rules.iter().any(|l| l.contains("--comment \"gantry ")),
        "gantry's rules before the chain finished: {rules:?}"
    );
    // The orphaned plugin is ended by the test (a real gc would find it gone with the pod's processes).
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(slow_pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();

    net.cni.gc(&pod_dir).unwrap();
    assert!(!pod_dir.join(gantry_net::STATE_FILE).exists());
    assert!(!marker.exists(), "marker left: {}", marker.display());
    assert!(!netns.path().exists(), "netns left");
    assert_eq!(bridge_ports(&net.bridge), Vec::<String>::new(), "veth left");
    assert_eq!(leases(&net.dir), Vec::<PathBuf>::new(), "lease left");
    let left = our_rules(&iptables_lines(), &chains, &needles);
    assert!(
        left.is_empty(),
        "iptables rules left after gc:\n{}",
        left.join("\n")
    );
}

/// Asserts that a failed attach left nothing: no record, no veth, no lease, no rules; the caller's namespace is
/// still there (it is the caller's to remove).
fn assert_nothing_left(net: &Net, pod_dir: &Path, netns: &PodNetns) {
    assert!(
        !pod_dir.join(gantry_net::STATE_FILE).exists(),
        "record left"
    );
    assert_eq!(bridge_ports(&net.bridge), Vec::<String>::new(), "veth left");
    assert_eq!(leases(&net.dir), Vec::<PathBuf>::new(), "lease left");
    let needles = vec![net.subnet_prefix.clone(), net.id("")];
    let left = our_rules(&iptables_lines(), &Default::default(), &needles);
    assert!(left.is_empty(), "iptables rules left:\n{}", left.join("\n"));
    assert!(gantry_net::is_mounted_netns(netns.path()).unwrap());
}

#[test]
fn unknown_network_and_malformed_port_fail_clearly() {
    let net = Net::new("bad", &[]);
    let e = net
        .cni
        .networks(&["no-such-net".into()])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("--net: unknown network \"no-such-net\""),
        "{e}"
    );
    assert!(
        e.contains(&net.dir.join("net.d").display().to_string()),
        "{e}"
    );
    let mut net = net;
    let list = net.conflist();
    let (pod_dir, netns) = net.pod("p");
    let e = net
        .cni
        .attach(
            &PodRef {
                id: "bad id",
                dir: &pod_dir,
            },
            &netns,
            &[list],
            &[],
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("pod ID \"bad id\": CNI container IDs are"),
        "{e}"
    );
    assert_nothing_left(&net, &pod_dir, &netns);
    let e = PortMapping::parse("80:http").unwrap_err().to_string();
    assert!(
        e.starts_with("-p \"80:http\": container port \"http\""),
        "{e}"
    );
}

#[test]
fn bound_host_port_fails_before_anything_is_made() {
    let mut net = Net::new("busy", &[]);
    let list = net.conflist();
    let (pod_dir, netns) = net.pod("p");
    let id = net.id("p");
    let held = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let ports = [PortMapping::parse(&format!("{port}:80")).unwrap()];
    let e = net
        .cni
        .attach(
            &PodRef {
                id: &id,
                dir: &pod_dir,
            },
            &netns,
            &[list],
            &ports,
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "-p {port}:80: host port {port}/tcp on 0.0.0.0 is already in use"
        )),
        "{e}"
    );
    assert_nothing_left(&net, &pod_dir, &netns);
}

#[test]
fn failing_plugin_rolls_the_attach_back() {
    let bad_sysctl =
        serde_json::json!({"type": "tuning", "sysctl": {"net.ipv4.conf.eth0.no_such_knob": "1"}});
    let mut net = Net::new("fail", &[bad_sysctl]);
    let list = net.conflist();
    let (pod_dir, netns) = net.pod("p");
    let id = net.id("p");
    let ports = [PortMapping::parse(&format!("{}:80", free_port())).unwrap()];
    let e = net
        .cni
        .attach(
            &PodRef {
                id: &id,
                dir: &pod_dir,
            },
            &netns,
            std::slice::from_ref(&list),
            &ports,
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "network {}: CNI plugin tuning ADD failed: ",
            net.network
        )),
        "{e}"
    );
    assert_nothing_left(&net, &pod_dir, &netns);
}

#[test]
fn missing_plugin_rolls_the_attach_back() {
    let mut net = Net::new("missing", &[serde_json::json!({"type": "no-such-plugin"})]);
    let list = net.conflist();
    let (pod_dir, netns) = net.pod("p");
    let id = net.id("p");
    let e = net
        .cni
        .attach(
            &PodRef {
                id: &id,
                dir: &pod_dir,
            },
            &netns,
            &[list],
            &[],
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("CNI plugin \"no-such-plugin\" not found in"),
        "{e}"
    );
    assert_nothing_left(&net, &pod_dir, &netns);
}

#[test]
fn hung_plugin_is_killed_at_the_timeout_and_the_attach_rolled_back() {
    let mut net = Net::new("hang", &[serde_json::json!({"type": "slow"})]);
    std::fs::create_dir_all(net.dir.join("plugins")).unwrap();
    let slow = net.dir.join("plugins/slow");
    std::fs::write(&slow, SLOW_PLUGIN).unwrap();
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    net.cni = Cni::new(NetOptions {
        plugin_timeout: Duration::from_millis(1500),
        ..net.cni.options().clone()
    });
    let list = net.conflist();
    let (pod_dir, netns) = net.pod("p");
    let id = net.id("p");
    let start = Instant::now();
    let e = net
        .cni
        .attach(
            &PodRef {
                id: &id,
                dir: &pod_dir,
            },
            &netns,
            &[list],
            &[],
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("plugins/slow: waiting for the CNI plugin: no answer within"),
        "{e}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    let pid: i32 = std::fs::read_to_string(net.dir.join("slow.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the hung plugin {pid} was not killed"
    );
    assert_nothing_left(&net, &pod_dir, &netns);
}
