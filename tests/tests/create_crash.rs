//! `create` killed by SIGKILL at any moment must leave nothing that `delete --force` cannot remove: no process
//! (in or outside the container's cgroup), no cgroup directory, no state. runc's contract as containerd uses it:
//! a shim that times out a `create` kills it and then deletes the container by id.
//! Spec: runtime.md "Delete" (resources created during create MUST be removed); runtime.md "Create".

use gantry_tests::{host, known_deviation, TestCtx};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Processes whose command line names `id` (a runtime process: `create ... ID`, or its init before exec).
fn processes_naming(id: &str) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let cmdline = host::cmdline(pid);
        if cmdline.split(['\0', ' ']).any(|a| a == id) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// A small xorshift generator: the test prints its seed, so a failing round can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn kill_9_of_create_at_random_moments_then_delete_force_leaves_nothing() {
    let t = TestCtx::new("create_crash");
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.write();
    // How long one create takes here (the kills are spread over it, and a little past it).
    let probe = t.id();
    let o = t.create(&b, &probe);
    o.assert_success();
    let span = o.elapsed.as_micros() as u64 * 12 / 10;
    t.rt(&["delete", "--force", &probe]).assert_success();
    t.assert_nothing_left(&probe, &b);

    let seed = std::env::var("GANTRY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("create_crash: seed {seed} (GANTRY_CRASH_SEED), create takes ~{span} us");
    let mut rng = Rng(seed);
    let started = Instant::now();
    known_deviation(
        "runc",
        "runc 1.1 leaves the cgroup of a create killed before it saved its state",
        || rounds(&t, &b, span, seed, &mut rng),
    );
    eprintln!("create_crash: 100 rounds in {:?}", started.elapsed());
}

/// 100 rounds: start `create`, SIGKILL it after a random delay below `span` us, `delete --force`, check.
fn rounds(t: &TestCtx, b: &gantry_tests::Bundle, span: u64, seed: u64, rng: &mut Rng) {
    for round in 0..100 {
        let id = t.id();
        let delay = Duration::from_micros(rng.below(span));
        let mut create = Command::new(&t.rt.binary)
            .arg("--root")
            .arg(&t.rt.root)
            .args(["create", "--bundle"])
            .arg(&b.dir)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start create");
        std::thread::sleep(delay);
        let _ = create.kill();
        let _ = create.wait();
        let what = format!("round {round} (kill after {delay:?}, seed {seed})");
        let o = t.rt(&["delete", "--force", &id]);
        assert!(o.success(), "{what}: delete --force failed: {o}");
        let clean = host::wait_until(Duration::from_secs(3), || {
            processes_naming(&id).is_empty() && host::pids_in_cgroup(&b.cgroups_path).is_empty()
        });
        assert!(
            clean,
            "{what}: processes left: {:?}, in the cgroup: {:?}",
            processes_naming(&id),
            host::pids_in_cgroup(&b.cgroups_path)
        );
        let dirs = host::cgroup_dirs(&b.cgroups_path);
        assert!(dirs.is_empty(), "{what}: cgroup dirs left: {dirs:?}");
        assert!(
            !t.rt.root.join(&id).exists(),
            "{what}: state directory left"
        );
    }
}
