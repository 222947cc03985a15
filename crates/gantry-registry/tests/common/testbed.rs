//! The shared testbed's loopback registry (`/work/shared/testbed/registry.sh`), started once per test
//! process and stopped when the last test using it finishes. Failing to start is a test failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Where the testbed scripts live: `$GANTRY_TESTBED`, else `../shared/testbed` beside the project
/// root (where DEVELOPERS.md puts it), else `/work/shared/testbed`.
pub fn scripts() -> PathBuf {
    if let Some(p) = std::env::var_os("GANTRY_TESTBED") {
        return PathBuf::from(p);
    }
    let beside_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testbed");
    for c in [beside_root, PathBuf::from("/work/shared/testbed")] {
        if c.join("registry.sh").is_file() {
            return c;
        }
    }
    panic!("testbed scripts not found: set GANTRY_TESTBED to the directory holding registry.sh and images.sh")
}

pub const STATE: &str = "/tmp/gantry-reg-testbed";
pub const IMAGES: &str = "/tmp/gantry-reg-imgs";

struct Shared {
    users: usize,
    addr: String,
}

static SHARED: Mutex<Option<Shared>> = Mutex::new(None);

/// A handle on the running registry; dropping the last one stops it.
pub struct Registry {
    pub addr: String,
}

fn run(script: &str, args: &[&str]) -> String {
    let path = scripts().join(script);
    let out = Command::new(&path)
        .args(args)
        .env("TESTBED_STATE", STATE)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n{}\n{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Registry {
    pub fn acquire() -> Registry {
        let mut g = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = g.as_mut() {
            s.users += 1;
            return Registry {
                addr: s.addr.clone(),
            };
        }
        run("images.sh", &[IMAGES]);
        let addr = run("registry.sh", &["start"])
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .to_string();
        assert!(
            addr.starts_with("127.0.0.1:"),
            "registry.sh start printed {addr:?}"
        );
        run("registry.sh", &["push", &format!("{IMAGES}/oci")]);
        *g = Some(Shared {
            users: 1,
            addr: addr.clone(),
        });
        Registry { addr }
    }

    /// Manifest digest of a tag of the OCI layout, from images.sh's `images.txt`.
    pub fn layout_digest(tag: &str) -> String {
        let text =
            std::fs::read_to_string(Path::new(IMAGES).join("images.txt")).expect("images.txt");
        text.lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f.first() == Some(&tag)).then(|| f[1].to_string())
            })
            .unwrap_or_else(|| panic!("tag {tag} not in images.txt"))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let mut g = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        let last = g.as_mut().map(|s| {
            s.users -= 1;
            s.users == 0
        });
        if last == Some(true) {
            *g = None;
            // Never panic in drop (a failing test is already unwinding): report instead.
            let stop = Command::new(scripts().join("registry.sh"))
                .arg("stop")
                .env("TESTBED_STATE", STATE)
                .status();
            if !matches!(stop, Ok(s) if s.success()) {
                eprintln!("registry.sh stop failed: {stop:?}");
            }
        }
    }
}
