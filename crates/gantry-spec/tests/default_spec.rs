//! `default_spec` written by `to_runc_json` equals `runc spec` (runc 1.1.5, ociVersion aside).
//! The fixtures are runc's output with ociVersion changed to 1.3.0; the rootless one was made as
//! root, so its mappings are for uid/gid 0 and the test substitutes the current ids.

use gantry_spec::{default_spec, parse_and_validate, to_runc_json};

#[test]
fn matches_runc_spec() {
    let ours = to_runc_json(&default_spec(false)).unwrap();
    assert_eq!(ours, include_str!("fixtures/runc-1.1-spec.json"));
}

#[test]
fn matches_runc_spec_rootless() {
    let ours = to_runc_json(&default_spec(true)).unwrap();
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    let want = include_str!("fixtures/runc-1.1-spec-rootless.json");
    let mut parts = want.split("\"hostID\": 0,");
    let want = format!(
        "{}\"hostID\": {uid},{}\"hostID\": {gid},{}",
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap()
    );
    assert_eq!(ours, want);
}

#[test]
fn output_is_stable_and_valid() {
    for rootless in [false, true] {
        let a = to_runc_json(&default_spec(rootless)).unwrap();
        for _ in 0..5 {
            assert_eq!(a, to_runc_json(&default_spec(rootless)).unwrap());
        }
        let back = parse_and_validate(a.as_bytes()).unwrap();
        assert_eq!(back, default_spec(rootless));
    }
}

/// Compares with the live runc binary too (`apt-get install runc`; scripts/test.sh installs it).
#[test]
fn matches_installed_runc() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("runc")
        .args(["spec", "--bundle"])
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!("running `runc spec` failed ({e}): install runc (apt-get install runc), as scripts/test.sh does")
        });
    assert!(out.status.success(), "{out:?}");
    let theirs = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(&theirs).unwrap();
    let mut ours = serde_json::to_value(default_spec(false)).unwrap();
    ours["ociVersion"] = theirs["ociVersion"].clone();
    for set in ["bounding", "effective", "permitted", "ambient"] {
        let caps = ours["process"]["capabilities"][set].as_array_mut().unwrap();
        caps.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    assert_eq!(ours, theirs);
}
