//! The image commands of the `gantry` binary against the testbed's real registry on loopback:
//! pull (OCI and Docker media types, both platforms of an index), images/inspect/tag/rmi,
//! save → load, import of a layout, push, an interrupted pull resumed without refetching,
//! and gc. Run as root (the testbed scripts install packages and start the registry).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{accept_anything_policy, run_logged, sh, stop_registry};

/// A gantry invocation with a private store.
struct Gantry {
    root: PathBuf,
}

impl Gantry {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gantry"));
        c.arg("--root").arg(&self.root).args(args);
        c.env("GANTRY_REGISTRIES_CONF", "/nonexistent/registries.toml");
        // These tests pull unsigned testbed images: trust them explicitly (signatures are tested in trust.rs).
        let policy = self.root.with_extension("policy.json");
        accept_anything_policy(&policy);
        c.env("GANTRY_POLICY", policy);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        run_logged(&mut self.cmd(args), args)
    }

    /// Runs and requires success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "gantry {args:?} failed");
        String::from_utf8(out.stdout).unwrap()
    }

    fn inspect(&self, image: &str) -> Value {
        let v: Value = serde_json::from_str(&self.ok(&["inspect", image])).unwrap();
        v[0].clone()
    }

    fn blobs(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.root.join("blobs/sha256"))
            .unwrap()
            .map(|e| format!("sha256:{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        v.sort();
        v
    }
}

/// Every blob the store's images reference (index, manifest, config, layers).
fn referenced(g: &Gantry) -> Vec<String> {
    let list: Value = serde_json::from_str(&g.ok(&["images", "--format", "json"])).unwrap();
    let mut out = Vec::new();
    for img in list.as_array().unwrap() {
        let i = g.inspect(img["name"].as_str().unwrap());
        out.push(i["digest"].as_str().unwrap().to_owned());
        out.push(i["manifestDigest"].as_str().unwrap().to_owned());
        out.push(i["id"].as_str().unwrap().to_owned());
        for l in i["layers"].as_array().unwrap() {
            out.push(l["digest"].as_str().unwrap().to_owned());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The testbed's registry; stopped (its recorded PID only) on drop.
struct Registry {
    state: PathBuf,
    addr: String,
}

impl Registry {
    fn start(state: PathBuf) -> Registry {
        let addr = sh("registry.sh", &["start"], &state).trim().to_owned();
        assert!(!addr.is_empty(), "registry.sh start printed no address");
        Registry { state, addr }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        stop_registry(&self.state);
    }
}

/// Per-blob traffic seen by [`Proxy`].
#[derive(Default, Debug, Clone)]
struct BlobTraffic {
    /// Per GET, in order: the `Range` header (empty if none) and the body bytes sent.
    requests: Vec<(String, u64)>,
}

/// A loopback HTTP proxy in front of the registry: one request per connection, counts blob
/// GETs and body bytes, and can throttle its responses.
struct Proxy {
    addr: String,
    throttle: Arc<AtomicU64>,
    traffic: Arc<Mutex<HashMap<String, BlobTraffic>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let p = Proxy {
            addr,
            throttle: Arc::new(AtomicU64::new(0)),
            traffic: Arc::default(),
            stop: Arc::default(),
        };
        let (up, throttle, traffic, stop) = (
            upstream.to_owned(),
            p.throttle.clone(),
            p.traffic.clone(),
            p.stop.clone(),
        );
        std::thread::spawn(move || {
            for c in l.incoming() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(c) = c else { continue };
                let (up, throttle, traffic) = (up.clone(), throttle.clone(), traffic.clone());
                std::thread::spawn(move || {
                    let _ = serve(c, &up, &throttle, &traffic);
                });
            }
        });
        p
    }

    fn traffic(&self) -> HashMap<String, BlobTraffic> {
        self.traffic.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(&self.addr);
    }
}

/// Forwards one request (no body: GET/HEAD) with `Connection: close`, then the response.
fn serve(
    client: TcpStream,
    upstream: &str,
    throttle: &AtomicU64,
    traffic: &Mutex<HashMap<String, BlobTraffic>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut range = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") {
            continue;
        }
        if lower.starts_with("range:") {
            range = line[6..].trim().to_owned();
        }
        head.push(line);
    }
    let request = head.first().cloned().unwrap_or_default();
    let mut parts = request.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let blob = (method == "GET" && path.contains("/blobs/sha256:"))
        .then(|| path.rsplit('/').next().unwrap().to_owned());
    let slot = blob.as_ref().map(|b| {
        let mut t = traffic.lock().unwrap();
        let reqs = &mut t.entry(b.clone()).or_default().requests;
        reqs.push((range, 0));
        reqs.len() - 1
    });
    let mut up = TcpStream::connect(upstream)?;
    let mut req = head.concat();
    req.push_str("Connection: close\r\n\r\n");
    up.write_all(req.as_bytes())?;
    let mut client = client;
    let mut buf = vec![0u8; 16 * 1024];
    let mut seen_head = Vec::new();
    let mut in_body = false;
    loop {
        let n = up.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let mut body = n as u64;
        if !in_body {
            seen_head.extend_from_slice(&buf[..n]);
            if let Some(i) = seen_head.windows(4).position(|w| w == b"\r\n\r\n") {
                in_body = true;
                body = (seen_head.len() - i - 4) as u64;
            } else {
                body = 0;
            }
        }
        let bps = throttle.load(Ordering::Relaxed);
        if bps > 0 && blob.is_some() {
            std::thread::sleep(Duration::from_secs_f64(n as f64 / bps as f64));
        }
        client.write_all(&buf[..n])?;
        if let (Some(b), Some(i)) = (&blob, slot) {
            traffic.lock().unwrap().get_mut(b).unwrap().requests[i].1 += body;
        }
    }
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

fn scratch(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gantry-engine-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Removes a scratch directory on drop.
struct Scratch(PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn build_images(dir: &Path) {
    let state = dir.join("state");
    sh("images.sh", &[dir.join("imgs").to_str().unwrap()], &state);
}

fn platform_file(g: &Gantry, image: &str) -> String {
    // The unpacked top layer of multiarch carries /etc/platform.
    let i = g.inspect(image);
    let chain = i["layers"].as_array().unwrap().last().unwrap()["chainID"]
        .as_str()
        .unwrap()
        .replace("sha256:", "");
    std::fs::read_to_string(
        g.root
            .join("snapshots/sha256")
            .join(chain)
            .join("fs/etc/platform"),
    )
    .unwrap_or_default()
}

#[test]
fn pull_push_resume_and_gc_against_the_loopback_registry() {
    let dir = scratch("reg");
    let _cleanup = Scratch(dir.clone());
    build_images(&dir);
    let reg = Registry::start(dir.join("testbed-state"));
    sh(
        "registry.sh",
        &["push", dir.join("imgs/oci").to_str().unwrap()],
        &reg.state,
    );
    let g = Gantry {
        root: dir.join("root"),
    };
    let a = &reg.addr;

    // busybox, layers and multiarch (both platforms), OCI (:latest) and Docker (:docker).
    for tag in ["latest", "docker"] {
        for img in ["busybox", "layers"] {
            let r = format!("{a}/testbed/{img}:{tag}");
            let digest = g.ok(&["pull", "-q", &r]);
            let i = g.inspect(&r);
            assert_eq!(i["name"], r.as_str());
            assert_eq!(i["digest"].as_str().unwrap(), digest.trim());
            assert!(i["layers"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["unpacked"] == true));
            let want_docker = tag == "docker";
            assert_eq!(
                i["mediaType"].as_str().unwrap().contains("docker"),
                want_docker,
                "{i}"
            );
        }
        let r = format!("{a}/testbed/multiarch:{tag}");
        g.ok(&["pull", &r, "--platform", "linux/arm64"]);
        let i = g.inspect(&r);
        assert_eq!(i["architecture"], "arm64", "{i}");
        assert!(i["index"].is_object(), "an index is recorded: {i}");
        assert!(platform_file(&g, &r).contains("arm64"));
        g.ok(&["pull", &r]);
        assert_eq!(g.inspect(&r)["architecture"], "amd64");
        assert!(platform_file(&g, &r).contains("amd64"));
    }
    // By digest: recorded under the pinned name, same content as the tag.
    let bb = g.inspect(&format!("{a}/testbed/busybox:latest"));
    let pinned = format!("{a}/testbed/busybox@{}", bb["digest"].as_str().unwrap());
    assert_eq!(
        g.ok(&["pull", "-q", &pinned]).trim(),
        bb["digest"].as_str().unwrap()
    );
    assert_eq!(g.inspect(&pinned)["id"], bb["id"]);
    g.ok(&["rmi", &pinned]);
    // Short names find images when they are unambiguous.
    assert_eq!(
        g.inspect("busybox:docker")["name"],
        format!("{a}/testbed/busybox:docker").as_str()
    );
    let table = g.ok(&["images"]);
    assert!(table.starts_with("REPOSITORY"), "{table}");
    assert!(table.contains(&format!("{a}/testbed/layers")) && table.contains("docker"));

    // A wrong platform and an unknown image fail with exit 125 and say why.
    let out = g.run(&[
        "pull",
        &format!("{a}/testbed/multiarch:latest"),
        "--platform",
        "linux/s390x",
    ]);
    assert_eq!(out.status.code(), Some(125));
    let out = g.run(&["pull", &format!("{a}/testbed/nope:latest")]);
    assert_eq!(out.status.code(), Some(125));
    assert!(!out.stderr.is_empty());

    // push under a new name, then pull it back into a fresh store.
    let dest = format!("{a}/pushed/bb:v1");
    let pushed = g.ok(&["push", &format!("{a}/testbed/busybox:latest"), &dest]);
    let g2 = Gantry {
        root: dir.join("root2"),
    };
    let pulled = g2.ok(&["pull", "-q", &dest]);
    assert_eq!(pushed.trim(), pulled.trim());
    assert_eq!(
        g2.inspect(&dest)["id"],
        g.inspect(&format!("{a}/testbed/busybox:latest"))["id"]
    );

    // kill -9 mid-download through a throttling proxy, then resume without refetching.
    let proxy = Proxy::start(a);
    proxy.throttle.store(256 * 1024, Ordering::Relaxed);
    let g3 = Gantry {
        root: dir.join("root3"),
    };
    let r = format!("{}/testbed/busybox:latest", proxy.addr);
    let mut child = g3.cmd(&["pull", &r]).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    let partial = loop {
        let grown = std::fs::read_dir(g3.root.join("ingest"))
            .ok()
            .and_then(|rd| {
                rd.flatten()
                    .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                    .find(|&n| n > 64 * 1024)
            });
        if let Some(n) = grown {
            break n;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "pull ended before it could be killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no download progress"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(partial > 0);
    proxy.throttle.store(0, Ordering::Relaxed);
    let digest = g3.ok(&["pull", "-q", &r]);
    let i = g3.inspect(&r);
    assert_eq!(i["digest"].as_str().unwrap(), digest.trim());
    let sizes: HashMap<String, u64> = i["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["digest"].as_str().unwrap().to_owned(),
                l["size"].as_u64().unwrap(),
            )
        })
        .collect();
    let traffic = proxy.traffic();
    eprintln!("proxy traffic: {traffic:?}");
    for (blob, t) in &traffic {
        let Some(size) = sizes.get(blob) else {
            assert_eq!(t.requests.len(), 1, "config {blob} fetched twice: {t:?}");
            continue;
        };
        // At most the interrupted request and one resuming from what reached the disk: the
        // resumed request starts at or past the partial size seen before the kill and carries
        // exactly the rest, so no byte that was stored is fetched again.
        assert!(t.requests.len() <= 2, "{blob}: {t:?}");
        let (range, body) = t.requests.last().unwrap();
        let start: u64 = range
            .strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .map_or(0, |n| n.parse().unwrap());
        if t.requests.len() == 2 {
            assert!(
                start >= partial,
                "{blob} resumed at {start} < {partial} on disk: {t:?}"
            );
        }
        assert_eq!(start + body, *size, "{blob}: {t:?}");
    }
    assert!(
        traffic.values().any(|t| t.requests.len() == 2),
        "the second pull resumed an interrupted blob: {traffic:?}"
    );
    // gc keeps exactly what is referenced (nothing was left behind by the killed pull).
    g3.ok(&["gc", "--grace", "0"]);
    assert_eq!(g3.blobs(), referenced(&g3));
    assert_eq!(
        std::fs::read_dir(g3.root.join("ingest")).unwrap().count(),
        0
    );

    // Two pulls of one image into one store at once: both succeed, one copy of each blob.
    let g4 = Gantry {
        root: dir.join("root4"),
    };
    let r = format!("{a}/testbed/layers:docker");
    let kids: Vec<_> = (0..2)
        .map(|_| {
            g4.cmd(&["pull", "-q", &r])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let digests: Vec<String> = kids
        .into_iter()
        .map(|k| {
            let out = k.wait_with_output().unwrap();
            assert!(out.status.success(), "concurrent pull failed");
            String::from_utf8(out.stdout).unwrap()
        })
        .collect();
    assert_eq!(digests[0], digests[1]);
    assert_eq!(g4.blobs(), referenced(&g4));

    // rmi + gc in the big store: only the remaining images' content survives.
    g.ok(&[
        "rmi",
        &format!("{a}/testbed/layers:latest"),
        &format!("{a}/testbed/layers:docker"),
    ]);
    let before = g.blobs().len();
    let removed = g.ok(&["gc", "--grace", "0"]);
    assert!(removed.lines().any(|l| l.starts_with("blob ")), "{removed}");
    assert!(
        removed.lines().any(|l| l.starts_with("snapshot ")),
        "{removed}"
    );
    assert!(g.blobs().len() < before);
    assert_eq!(g.blobs(), referenced(&g));
    drop(proxy);
    drop(reg);
}

#[test]
fn import_tag_save_load_and_rmi() {
    let dir = scratch("local");
    let _cleanup = Scratch(dir.clone());
    build_images(&dir);
    let layout = dir.join("imgs/oci");
    let g = Gantry {
        root: dir.join("root"),
    };

    // One tag of the layout, then all of them.
    let out = g.ok(&["import", &format!("{}:busybox", layout.display())]);
    assert_eq!(out.trim(), "Imported image: localhost/busybox:latest");
    let out = g.ok(&["import", layout.to_str().unwrap()]);
    for t in ["busybox", "layers", "pause", "multiarch"] {
        assert!(out.contains(&format!("localhost/{t}:latest")), "{out}");
    }
    // Short names and digest prefixes find images.
    let i = g.inspect("busybox");
    assert_eq!(i["name"], "localhost/busybox:latest");
    let id = i["id"].as_str().unwrap().trim_start_matches("sha256:")[..12].to_owned();
    assert_eq!(g.inspect(&id)["name"], "localhost/busybox:latest");
    let ids = g.ok(&["images", "-q"]);
    assert!(ids.lines().any(|l| l.starts_with(&id)), "{ids}");

    // tag, then rmi of one name keeps the other.
    g.ok(&["tag", "busybox", "example.org/mine/bb:v2"]);
    assert_eq!(g.inspect("example.org/mine/bb:v2")["id"], i["id"]);
    g.ok(&["rmi", "localhost/busybox:latest"]);
    assert_eq!(g.inspect("example.org/mine/bb:v2")["id"], i["id"]);
    let out = g.run(&["rmi", "localhost/busybox:latest"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gantry pull"));

    // save → load into a new store (file and stdin), docker archives from the testbed too.
    let archive = dir.join("saved.tar");
    g.ok(&[
        "save",
        "-o",
        archive.to_str().unwrap(),
        "example.org/mine/bb:v2",
        "layers",
    ]);
    let g2 = Gantry {
        root: dir.join("root2"),
    };
    let out = g2.ok(&["load", "-i", archive.to_str().unwrap()]);
    assert!(
        out.contains("Loaded image: example.org/mine/bb:v2"),
        "{out}"
    );
    assert!(
        out.contains("Loaded image: localhost/layers:latest"),
        "{out}"
    );
    assert_eq!(g2.inspect("example.org/mine/bb:v2")["id"], i["id"]);
    let out = g2
        .cmd(&["load"])
        .stdin(std::fs::File::open(dir.join("imgs/archives/pause.oci.tar")).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("localhost/testbed/pause:latest"));

    // A container's image cannot be removed unless forced; gc then keeps its layers.
    {
        let store = gantry_image::Store::open(&g2.root).unwrap();
        store
            .create_container("ctr1", "localhost/layers:latest", &Default::default())
            .unwrap();
    }
    let out = g2.run(&["rmi", "layers"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ctr1"));
    g2.ok(&["rmi", "--force", "layers"]);
    g2.ok(&["gc", "--grace", "0"]);
    {
        let store = gantry_image::Store::open(&g2.root).unwrap();
        let rootfs = store.container_rootfs("ctr1").unwrap();
        assert!(
            rootfs.overlay_options().is_ok(),
            "snapshots kept for the container"
        );
        store.remove_container("ctr1").unwrap();
    }
    let removed = g2.ok(&["gc", "--grace", "0"]);
    assert!(
        removed
            .lines()
            .filter(|l| l.starts_with("snapshot "))
            .count()
            >= 2,
        "{removed}"
    );
    let out = g2.run(&["rmi", "no-such-image"]);
    assert_eq!(out.status.code(), Some(125));
}
