//! The store under faults, driven through the `gantry` binary against the testbed's loopback
//! registry: 100 random `kill -9` during pulls leave nothing `fsck` calls damaged and nothing
//! the next pull does not clean up; a pull into a 20 MB tmpfs fails with "no space left" and
//! the store still lists, pulls (once there is room) and runs. Run as root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{sh, stop_registry};

/// A scratch directory with the test images and a registry holding them; all removed on drop
/// (the registry by its recorded PID, through registry.sh).
struct Bed {
    dir: PathBuf,
    addr: String,
    _serial: std::sync::MutexGuard<'static, ()>,
}

/// The tests of this file run one at a time (two registries starting at once race for a port).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Bed {
    fn new(what: &str) -> Bed {
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let dir = std::env::temp_dir().join(format!("gantry-faults-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let imgs = dir.join("imgs");
        sh("images.sh", &[imgs.to_str().unwrap()], &dir.join("state"));
        let addr = sh("registry.sh", &["start"], &dir.join("state"))
            .trim()
            .to_owned();
        let bed = Bed {
            dir,
            addr,
            _serial: serial,
        };
        sh(
            "registry.sh",
            &["push", imgs.join("oci").to_str().unwrap()],
            &bed.dir.join("state"),
        );
        bed
    }

    fn gantry(&self, root: &Path) -> Gantry {
        Gantry {
            root: root.to_owned(),
            state: self.dir.join("engine-state"),
        }
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        stop_registry(&self.dir.join("state"));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Gantry {
    root: PathBuf,
    state: PathBuf,
}

impl Gantry {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gantry"));
        c.arg("--root")
            .arg(&self.root)
            .arg("--state-root")
            .arg(&self.state)
            .args(args)
            .env("GANTRY_REGISTRIES_CONF", "/nonexistent/registries.toml");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().expect("run gantry");
        eprintln!(
            "$ gantry {} -> {:?}\n{}{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "gantry {args:?} failed");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Entries under the store's temporary areas.
    fn temporaries(&self) -> Vec<String> {
        ["snapshots/tmp", "ingest"]
            .iter()
            .flat_map(|d| std::fs::read_dir(self.root.join(d)).into_iter().flatten())
            .map(|e| e.unwrap().path().display().to_string())
            .collect()
    }
}

/// A small xorshift generator: random delays without a dependency.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn kill_9_during_pulls_then_fsck_is_clean_and_the_next_pull_leaves_no_temporaries() {
    let bed = Bed::new("kill");
    let g = bed.gantry(&bed.dir.join("root"));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}");
    let mut rng = Rng(seed);
    let images = ["busybox", "layers", "multiarch"];
    // How long a whole pull of each image takes here and now: kills are spread over that span
    // (so they land in resolve, download, unpack and record alike, whatever the machine's load).
    let spans: Vec<u64> = images
        .iter()
        .map(|img| {
            let r = format!("{}/testbed/{img}:latest", bed.addr);
            let t = Instant::now();
            g.ok(&["pull", &r]);
            let ms = t.elapsed().as_millis() as u64;
            g.ok(&["rmi", &r]);
            g.ok(&["gc", "--grace", "0"]);
            ms.max(2)
        })
        .collect();
    eprintln!("whole pulls take {spans:?} ms");
    let started = Instant::now();
    let (mut killed, mut finished) = (0, 0);
    // Until 100 pulls were killed mid-way (bounded, should the machine be very slow or fast).
    for i in 0..300 {
        if killed == 100 {
            break;
        }
        let r = format!("{}/testbed/{}:latest", bed.addr, images[i % images.len()]);
        let span = spans[i % images.len()];
        let mut child = g
            .cmd(&["pull", &r])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(span * 9 / 10)));
        // SIGKILL by PID: the child is ours.
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            finished += 1;
            // Start that image over so later kills land in real work again.
            g.ok(&["rmi", &r]);
            g.ok(&["gc", "--grace", "0"]);
        } else {
            killed += 1;
        }
    }
    eprintln!(
        "{killed} pulls killed, {finished} finished, in {:?}",
        started.elapsed()
    );
    assert_eq!(
        killed, 100,
        "100 pulls must be interrupted ({finished} finished)"
    );
    // Interruptions leave only temporaries: nothing fsck calls damaged.
    let report = g.run(&["fsck"]);
    let text = String::from_utf8_lossy(&report.stdout).to_string();
    for line in text.lines() {
        assert!(
            line.contains("left by an interrupted pull"),
            "damage after kill -9: {line}\n(fsck said:\n{text})"
        );
    }
    // Every image still pulls, and the pulls sweep what the killed ones left.
    for img in images {
        g.ok(&["pull", &format!("{}/testbed/{img}:latest", bed.addr)]);
    }
    assert_eq!(
        g.temporaries(),
        Vec::<String>::new(),
        "temporaries left after the next pull"
    );
    let fsck = g.run(&["fsck", "--full"]);
    assert!(
        fsck.status.success() && fsck.stdout.is_empty(),
        "fsck not clean"
    );
    let list = g.ok(&["images", "--format", "json"]);
    for img in images {
        assert!(list.contains(&format!("testbed/{img}")), "{list}");
    }
}

/// A tmpfs mounted for the test; unmounted (lazily, if busy) on drop.
struct Tmpfs(PathBuf);
impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let st = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs at {}", at.display());
        Tmpfs(at.to_owned())
    }
    fn resize(&self, size: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success(), "remount tmpfs");
    }
}
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes an OCI layout named `big` with one uncompressed layer of `mib` MiB of random bytes.
fn big_layout(dir: &Path, mib: usize) {
    let content = dir.join("content");
    std::fs::create_dir_all(&content).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let data: Vec<u8> = (0..mib * (1 << 20) / 8)
        .flat_map(|_| rng.below(u64::MAX).to_le_bytes())
        .collect();
    std::fs::write(content.join("blob.bin"), data).unwrap();
    let layer = dir.join("layer.tar");
    let st = Command::new("tar")
        .args(["--mtime=@0", "--owner=0", "--group=0", "-cf"])
        .arg(&layer)
        .arg("-C")
        .arg(&content)
        .arg("blob.bin")
        .status()
        .unwrap();
    assert!(st.success());
    let layer = std::fs::read(&layer).unwrap();
    let blobs = dir.join("layout/blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let d = gantry_image::Digest::sha256_of(b);
        std::fs::write(blobs.join(d.hex()), b).unwrap();
        d
    };
    let ld = put(&layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["/blob.bin"]}},"rootfs":{{"type":"layers","diff_ids":["{ld}"]}}}}"#
    );
    let cd = put(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{ld}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let md = put(manifest.as_bytes());
    std::fs::write(
        dir.join("layout/oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("layout/index.json"),
        format!(r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{md}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"big"}}}}]}}"#, manifest.len()),
    )
    .unwrap();
}

#[test]
fn a_full_disk_fails_the_pull_cleanly_and_the_store_stays_usable() {
    let bed = Bed::new("enospc");
    // The big image goes to the registry through another store.
    big_layout(&bed.dir.join("big"), 30);
    let helper = bed.gantry(&bed.dir.join("helper-root"));
    helper.ok(&["import", bed.dir.join("big/layout").to_str().unwrap()]);
    let big = format!("{}/testbed/big:latest", bed.addr);
    helper.ok(&["push", "big", &big]);

    let tmpfs = Tmpfs::mount(&bed.dir.join("small"), "20m");
    // The engine state on the same tmpfs: gantry-container's keep_config copies with
    // copy_file_range, which fails with EXDEV across these two filesystems (reported, not
    // this test's subject).
    let g = Gantry {
        root: tmpfs.0.join("store"),
        state: tmpfs.0.join("state"),
    };
    let busybox = format!("{}/testbed/busybox:latest", bed.addr);
    g.ok(&["pull", &busybox]);

    let out = g.run(&["pull", &big]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no space left on")
            && err.contains("bytes needed")
            && err.contains("/ingest/"),
        "{err}"
    );
    assert!(!err.contains("write failed"), "{err}");
    assert_eq!(
        g.temporaries(),
        Vec::<String>::new(),
        "a partial blob was left on a full disk"
    );
    let list = g.ok(&["images"]);
    assert!(
        list.contains("testbed/busybox") && !list.contains("testbed/big"),
        "{list}"
    );

    // Completely full: metadata writes fail with the same message, reads keep working, and
    // the database opens again once there is room.
    let filler = tmpfs.0.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=1M", "count=64"])
        .arg(format!("of={}", filler.display()))
        .stderr(Stdio::null())
        .status();
    let tagged = g.run(&["tag", &busybox, "localhost/other:1"]);
    if !tagged.status.success() {
        let e = String::from_utf8_lossy(&tagged.stderr);
        assert!(e.contains("no space left on"), "{e}");
    }
    assert!(g
        .ok(&["images", "--format", "json"])
        .contains("testbed/busybox"));
    std::fs::remove_file(&filler).unwrap();
    g.ok(&["tag", &busybox, "localhost/other:2"]);
    assert!(g.run(&["fsck"]).status.success(), "fsck after a full disk");

    // Room for the blob but not for its unpacked copy: the unpack fails the same way, leaves
    // no partial unpack, and the image stays unlisted.
    tmpfs.resize("50m");
    let out = g.run(&["pull", &big]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no space left on") && err.contains("/snapshots"),
        "{err}"
    );
    assert_eq!(
        g.temporaries(),
        Vec::<String>::new(),
        "a partial unpack was left"
    );
    let list = g.ok(&["images", "--format", "json"]);
    assert!(!list.contains("testbed/big"), "{list}");

    // Room again: the big image pulls, and busybox runs.
    tmpfs.resize("120m");
    g.ok(&["pull", &big]);
    let out = g.ok(&["run", "--rm", &busybox, "sh", "-c", "echo ran"]);
    assert_eq!(out.trim(), "ran");
    let fsck = g.run(&["fsck"]);
    assert!(
        fsck.status.success() && fsck.stdout.is_empty(),
        "fsck not clean"
    );
}
