//! Session keyrings (runc's behaviour, which podman and containerd rely on): by default each container gets a new
//! session keyring named after it, so it cannot use the caller's keys; `--no-new-keyring` keeps the caller's.
//! Checked from inside through /proc/keys (unmasked for the test).

use gantry_tests::TestCtx;

fn keys_bundle(t: &TestCtx) -> gantry_tests::Bundle {
    let mut b = t.bundle();
    b.masked_paths(&[]).sh("cat /proc/keys");
    b
}

#[test]
fn a_container_gets_its_own_session_keyring() {
    let t = TestCtx::new("keyring_new");
    let b = keys_bundle(&t);
    let id = t.id();
    let o = t.run_id(&b, &id, &[]);
    o.assert_success();
    assert!(
        o.stdout
            .lines()
            .any(|l| l.contains("keyring") && l.trim_end().ends_with(&format!("{id}: empty"))),
        "no session keyring named {id} in /proc/keys:\n{}",
        o.stdout
    );
}

#[test]
fn no_new_keyring_keeps_the_callers() {
    let t = TestCtx::new("keyring_keep");
    let b = keys_bundle(&t);
    let id = t.id();
    let o = t.run_id(&b, &id, &["--no-new-keyring"]);
    o.assert_success();
    assert!(
        !o.stdout.contains(&format!(" {id}: ")),
        "--no-new-keyring still made a keyring named {id}:\n{}",
        o.stdout
    );
}
