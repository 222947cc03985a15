//! Rough cost of the hot path (`Bundle::load` = read + parse + validate) on runc's default
//! config. Ignored by default; run with
//! `cargo test -p gantry-spec --test timing -- --ignored --nocapture` (add `--release` for real
//! numbers). It asserts a generous bound only, so it stays meaningful on a loaded CI machine.

use std::time::Instant;

use gantry_spec::Bundle;

#[test]
#[ignore]
fn bundle_load_cost() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rootfs")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        include_str!("fixtures/runc-1.1-spec.json"),
    )
    .unwrap();
    let n = 2000;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(Bundle::load(dir.path()).unwrap());
    }
    let per = start.elapsed() / n;
    println!("Bundle::load (runc default config.json): {per:?} per call");
    assert!(per.as_millis() < 5, "{per:?}");
}
