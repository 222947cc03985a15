//! Shared fixtures of the root integration tests: a private bridge network per test (own bridge name, subnet,
//! conflist directory, lease directory), commands run inside a namespace through `nsenter`, and snapshots of the
//! host's iptables rules, veths and leases to prove that teardown leaves nothing.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::{IpAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use gantry_net::{Cni, Conflist, DefaultNetwork, NetOptions, PodNetns};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One test's private network world. Dropping it tears down whatever the test left (pods, netns, bridge,
/// processes, files), even when the test failed half way.
pub struct Net {
    pub dir: PathBuf,
    pub bridge: String,
    pub subnet_prefix: String,
    pub network: String,
    pub cni: Cni,
    pub pods: Vec<PathBuf>,
    pub netns: Vec<PathBuf>,
    pub children: Vec<Child>,
    pub pids: Vec<i32>,
}

impl Net {
    /// A fresh network named `<tag>-<n>` on bridge `gnt<pid><n>` and a /24 no other test of this run uses.
    /// `extra_plugins` are appended after portmap/firewall (and `tuning`, last).
    pub fn new(tag: &str, extra_plugins: &[serde_json::Value]) -> Self {
        assert!(
            rustix::process::geteuid().is_root(),
            "these tests need root (run scripts/test.sh as root)"
        );
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let dir = PathBuf::from(format!("/tmp/gantry-net-test-{pid}-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("net.d")).unwrap();
        let bridge = format!("gnt{}x{n}", pid % 100_000);
        let octet = (pid as u64 * 7 + n as u64) % 200 + 20;
        let subnet_prefix = format!("10.231.{octet}.");
        let network = format!("{tag}-{n}");
        let mut plugins = vec![
            serde_json::json!({
                "type": "bridge", "bridge": bridge, "isGateway": true, "ipMasq": true, "hairpinMode": true,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": format!("{subnet_prefix}0/24")}]],
                         "routes": [{"dst": "0.0.0.0/0"}], "dataDir": dir.join("ipam")}
            }),
            serde_json::json!({"type": "portmap", "capabilities": {"portMappings": true}}),
            serde_json::json!({"type": "firewall"}),
        ];
        plugins.extend(extra_plugins.iter().cloned());
        plugins.push(serde_json::json!({"type": "tuning"}));
        let conf = serde_json::json!({"cniVersion": "1.0.0", "name": network, "plugins": plugins});
        std::fs::write(
            dir.join(format!("net.d/10-{network}.conflist")),
            serde_json::to_vec_pretty(&conf).unwrap(),
        )
        .unwrap();
        let cni = Cni::new(NetOptions {
            config_dir: dir.join("net.d"),
            plugin_dirs: vec![dir.join("plugins"), PathBuf::from("/usr/lib/cni")],
            default_network: DefaultNetwork::standard(dir.join("ipam")),
            run_dir: dir.join("run"),
            plugin_timeout: std::time::Duration::from_secs(60),
        });
        Self {
            dir,
            bridge,
            subnet_prefix,
            network,
            cni,
            pods: vec![],
            netns: vec![],
            children: vec![],
            pids: vec![],
        }
    }

    /// Rewrites the test network's conflist the way the built-in gantry0 is made: the bridge without `ipMasq`,
    /// no firewall plugin, gantry's network-wide masquerade and FORWARD rules instead.
    pub fn use_gantry_rules(&self) {
        let file = self.dir.join(format!("net.d/10-{}.conflist", self.network));
        let mut conf: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        conf["plugins"][0]["ipMasq"] = false.into();
        conf["plugins"]
            .as_array_mut()
            .unwrap()
            .retain(|p| p["type"] != "firewall");
        conf["gantryMasquerade"] = true.into();
        conf["gantryForward"] = true.into();
        std::fs::write(&file, serde_json::to_vec_pretty(&conf).unwrap()).unwrap();
    }

    /// The test network's conflist.
    pub fn conflist(&self) -> Conflist {
        self.cni
            .networks(std::slice::from_ref(&self.network))
            .unwrap()
            .remove(0)
    }

    /// A new pod: its directory (registered for cleanup) and a fresh namespace under `<dir>/netns/<name>`.
    pub fn pod(&mut self, name: &str) -> (PathBuf, PodNetns) {
        let pod_dir = self.dir.join("pods").join(name);
        std::fs::create_dir_all(&pod_dir).unwrap();
        let path = self.dir.join("netns").join(name);
        self.pods.push(pod_dir.clone());
        self.netns.push(path.clone());
        (pod_dir, PodNetns::create(&path).unwrap())
    }

    /// The CNI container ID used for pod `name` (unique per test run, so iptables comments can be traced).
    pub fn id(&self, name: &str) -> String {
        format!("{}-{name}", self.bridge)
    }

    /// Runs `busybox ARGS...` inside the namespace at `netns` (killed after 10 s) and returns (success, output).
    /// (busybox 1.35's `wget -T` crashes, so time limits come from `timeout`.)
    pub fn run_in(&self, netns: &Path, args: &[&str]) -> (bool, String) {
        let out = Command::new("nsenter")
            .arg(format!("--net={}", netns.display()))
            .args(["/bin/busybox", "timeout", "10", "/bin/busybox"])
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Starts busybox httpd on port 80 in `netns`, serving `body` at `/index.html`, and waits until it accepts
    /// connections on `ip`.
    pub fn httpd(&mut self, netns: &Path, ip: IpAddr, body: &str) {
        let www = self.dir.join(format!("www-{}", self.children.len()));
        std::fs::create_dir_all(&www).unwrap();
        std::fs::write(www.join("index.html"), body).unwrap();
        let child = Command::new("nsenter")
            .arg(format!("--net={}", netns.display()))
            .args(["/bin/busybox", "httpd", "-f", "-p", "80", "-h"])
            .arg(&www)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(child);
        let url = format!("http://{ip}/index.html");
        let (ok, out) = wait_for(
            || {
                self.run_in(netns, &["wget", "-q", "-O", "/dev/null", &url])
                    .0
            },
            "httpd",
        );
        assert!(ok, "httpd in {} never listened: {out}", netns.display());
    }
}

impl Net {
    /// A namespace "outside" the pod network, joined to the host by a veth pair on a /30 of its own
    /// (10.232.X.0/30, X from this test's subnet) and with no route back to the pods' subnet: it can answer a pod
    /// only if the pod's traffic was masqueraded to the host's address. Returns its address. Removed with the
    /// test's namespaces (which takes the veth pair along).
    pub fn outside(&mut self) -> String {
        let octet = self
            .subnet_prefix
            .trim_end_matches('.')
            .rsplit('.')
            .next()
            .unwrap()
            .to_string();
        let path = self.dir.join("netns/outside");
        self.netns.push(path.clone());
        let _ns = PodNetns::create(&path).unwrap();
        let (host_end, far_end) = (format!("{}h", self.bridge), format!("{}o", self.bridge));
        let nsenter = |args: &[&str]| {
            let ok = Command::new("nsenter")
                .arg(format!("--net={}", path.display()))
                .args(args)
                .status()
                .unwrap()
                .success();
            assert!(ok, "in the outside namespace: {args:?}");
        };
        let ip = |args: &[&str]| {
            let ok = Command::new("ip").args(args).status().unwrap().success();
            assert!(ok, "ip {args:?}");
        };
        ip(&[
            "link", "add", &host_end, "type", "veth", "peer", "name", &far_end,
        ]);
        ip(&[
            "link",
            "set",
            &far_end,
            "netns",
            &path.display().to_string(),
        ]);
        ip(&[
            "addr",
            "add",
            &format!("10.232.{octet}.1/30"),
            "dev",
            &host_end,
        ]);
        ip(&["link", "set", &host_end, "up"]);
        let far = format!("10.232.{octet}.2");
        nsenter(&["ip", "addr", "add", &format!("{far}/30"), "dev", &far_end]);
        nsenter(&["ip", "link", "set", &far_end, "up"]);
        far
    }
}

/// Polls `f` for up to 5 s.
pub fn wait_for(mut f: impl FnMut() -> bool, what: &str) -> (bool, String) {
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if f() {
            return (true, String::new());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (false, format!("timed out waiting for {what}"))
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for pid in &self.pids {
            if let Some(p) = rustix::process::Pid::from_raw(*pid) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
        }
        for pod in &self.pods {
            if let Err(e) = self.cni.gc(pod) {
                eprintln!("cleanup: gc {}: {e}", pod.display());
            }
        }
        for ns in &self.netns {
            let _ = gantry_net::remove_netns(ns);
        }
        // The bridge, and the host end of `outside`'s veth pair if the test made one.
        for dev in [self.bridge.clone(), format!("{}h", self.bridge)] {
            let _ = Command::new("ip")
                .args(["link", "del", &dev])
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every iptables rule and chain line (all tables) of the host.
pub fn iptables_lines() -> BTreeSet<String> {
    let out = Command::new("iptables-save").output().unwrap();
    assert!(out.status.success(), "iptables-save failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('-') || l.starts_with(':'))
        .map(|l| l.split(" [").next().unwrap_or(l).to_string())
        .collect()
}

/// The chain names (`CNI-...`) defined in a snapshot.
pub fn cni_chains(lines: &BTreeSet<String>) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(':'))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| c.starts_with("CNI-"))
        .map(str::to_string)
        .collect()
}

/// The CNI chains this test made: chains named in lines of `during` that mention one of `needles` (pod IDs, the
/// subnet), which did not exist in `before` (shared chains such as CNI-HOSTPORT-DNAT stay).
pub fn our_chains(
    during: &BTreeSet<String>,
    before: &BTreeSet<String>,
    needles: &[String],
) -> BTreeSet<String> {
    let old = cni_chains(before);
    during
        .iter()
        .filter(|l| needles.iter().any(|n| l.contains(n.as_str())))
        .flat_map(|l| {
            l.split_whitespace()
                .filter(|w| w.starts_with("CNI-"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|c| !old.contains(c))
        .collect()
}

/// Lines of `now` that belong to this test: they mention one of `needles` or one of `chains`.
pub fn our_rules(
    now: &BTreeSet<String>,
    chains: &BTreeSet<String>,
    needles: &[String],
) -> Vec<String> {
    now.iter()
        .filter(|l| {
            needles.iter().any(|n| l.contains(n.as_str()))
                || l.split_whitespace().any(|w| chains.contains(w))
        })
        .cloned()
        .collect()
}

/// Interfaces enslaved to `bridge` (the host ends of the pods' veths).
pub fn bridge_ports(bridge: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["-o", "link", "show", "master", bridge])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// host-local lease files (named by IP) under the test's lease directory.
pub fn leases(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for net in std::fs::read_dir(dir.join("ipam"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for f in std::fs::read_dir(net.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.file_name().to_string_lossy().parse::<IpAddr>().is_ok() {
                out.push(f.path());
            }
        }
    }
    out
}

/// The host's own non-loopback address: the source of its default route, else its first global address.
pub fn host_ip() -> IpAddr {
    let out = Command::new("ip")
        .args(["-4", "-o", "route", "get", "1.1.1.1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if let Some(ip) = text
        .split_whitespace()
        .skip_while(|w| *w != "src")
        .nth(1)
        .and_then(|s| s.parse().ok())
    {
        return ip;
    }
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let addr = text.split_whitespace().skip_while(|w| *w != "inet").nth(1);
    addr.and_then(|a| a.split('/').next()?.parse().ok())
        .unwrap_or_else(|| panic!("this host has no global IPv4 address to publish on: {text}"))
}

/// A TCP port nothing on the host is bound to right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.0 GET from the host; returns the body.
pub fn http_get(ip: IpAddr, port: u16) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    s.write_all(b"GET /index.html HTTP/1.0\r\nHost: test\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}
