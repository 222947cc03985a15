//! A container joining a pod network namespace made by gantry-net (the engine's pod path, seen from the
//! runtime): it sees its CNI address on eth0, reaches the bridge gateway and itself by the pod host name, and
//! reads the generated /etc/hosts, /etc/hostname and /etc/resolv.conf bound into it. Runs against whichever
//! runtime `GANTRY_TEST_RUNTIME` names (runc too).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use gantry_net::{
    hosts_file, resolv_conf, write_etc_files, Cni, DefaultNetwork, HostEntry, LoopbackResolver,
    NetOptions, PodNetns, PodRef, ResolvInput,
};
use gantry_tests::TestCtx;

/// Tears the pod network down (DEL, netns, bridge) even if the test fails.
struct PodNet {
    cni: Cni,
    pod_dir: PathBuf,
    netns: PathBuf,
    bridge: String,
}

impl Drop for PodNet {
    fn drop(&mut self) {
        if let Err(e) = self.cni.gc(&self.pod_dir) {
            eprintln!("cleanup: {e}");
        }
        let _ = gantry_net::remove_netns(&self.netns);
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn container_in_a_pod_netns_sees_its_address_and_etc_files() {
    let t = TestCtx::new("podnet");
    let pid = std::process::id();
    let bridge = format!("gtt{}", pid % 100_000);
    let subnet = format!("10.232.{}.0/24", pid % 200 + 20);
    let conf = serde_json::json!({
        "cniVersion": "1.0.0", "name": "podnet",
        "plugins": [
            {"type": "bridge", "bridge": bridge, "isGateway": true, "ipMasq": true,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]], "dataDir": t.path("ipam")}},
            {"type": "portmap", "capabilities": {"portMappings": true}},
            {"type": "firewall"},
            {"type": "tuning"}
        ]
    });
    std::fs::create_dir_all(t.path("net.d")).unwrap();
    std::fs::write(t.path("net.d/podnet.conflist"), conf.to_string()).unwrap();
    let net = PodNet {
        cni: Cni::new(NetOptions {
            config_dir: t.path("net.d"),
            plugin_dirs: vec![PathBuf::from("/usr/lib/cni")],
            default_network: DefaultNetwork::standard(t.path("ipam")),
            run_dir: t.path("run"),
            plugin_timeout: Duration::from_secs(60),
        }),
        pod_dir: t.path("pod"),
        netns: t.path("netns/pod"),
        bridge,
    };
    let netns = PodNetns::create(&net.netns).unwrap();
    let networks = net.cni.networks(&["podnet".into()]).unwrap();
    let id = format!("gtt-{pid}");
    let pod = PodRef {
        id: &id,
        dir: &net.pod_dir,
    };
    let att = net.cni.attach(&pod, &netns, &networks, &[]).unwrap();
    let (ip, gw) = (att.pod_ip().unwrap(), att.gateway().unwrap());

    let hosts = hosts_file(
        "podhost",
        Some(ip),
        &[HostEntry::parse("db:10.1.2.3").unwrap()],
    );
    let resolv = resolv_conf(&ResolvInput {
        host: "search example.test\nnameserver 127.0.0.53\n",
        resolved_upstream: None,
        dns: &[],
        gateway: Some(gw),
        loopback: LoopbackResolver::UseGateway,
        host_network: false,
    })
    .unwrap();
    let files = write_etc_files(&net.pod_dir, "podhost", &hosts, &resolv).unwrap();

    let mut b = t.bundle();
    b.namespace("network", Some(netns.path().to_str().unwrap()))
        .hostname("podhost");
    for (dest, src) in [
        ("/etc/hosts", &files.hosts),
        ("/etc/hostname", &files.hostname),
        ("/etc/resolv.conf", &files.resolv_conf),
    ] {
        b.mount(dest, "bind", src.to_str().unwrap(), &["rbind", "ro"]);
    }
    for set in ["bounding", "effective", "permitted"] {
        b.push(&format!("process/capabilities/{set}"), "CAP_NET_RAW".into());
    }
    b.sh(&format!(
        "ip -4 -o addr show eth0; cat /etc/hosts /etc/resolv.conf /etc/hostname; hostname; \
         ping -c 1 -W 3 {gw} >/dev/null && echo gateway-reached; \
         ping -c 1 -W 3 podhost >/dev/null && echo self-reached-by-name"
    ));
    let out = t.run_ok(&b);
    assert!(
        out.contains(&format!("inet {ip}/24")),
        "eth0 lacks {ip}:\n{out}"
    );
    assert!(
        out.contains(&format!("{ip}\tpodhost\n")),
        "/etc/hosts:\n{out}"
    );
    assert!(
        out.contains("10.1.2.3\tdb\n") && out.contains("127.0.0.1\tlocalhost"),
        "{out}"
    );
    assert!(
        out.contains(&format!("search example.test\nnameserver {gw}\n")),
        "/etc/resolv.conf:\n{out}"
    );
    assert!(
        out.contains("podhost\npodhost\n"),
        "/etc/hostname and hostname:\n{out}"
    );
    assert!(
        out.contains("gateway-reached"),
        "no route to the gateway:\n{out}"
    );
    assert!(
        out.contains("self-reached-by-name"),
        "podhost did not resolve to the pod:\n{out}"
    );
}
