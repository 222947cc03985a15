//! Filters loaded for real, each in a re-executed child of the test binary, then probed with syscalls.

use super::profile;
use crate::seccomp::compile;
use crate::testutil::{child_case, is_root, run_child};
use rustix::fs::{mkdirat, Mode, CWD};
use std::os::unix::process::CommandExt;

const EXDEV: i32 = 18;

/// Compiles `json` and loads it in this (child) process, with no_new_privs first unless `nnp` is false.
fn load(json: &str, nnp: bool) {
    let f = compile(&profile(json)).unwrap();
    if nnp {
        rustix::thread::set_no_new_privs(true).unwrap();
    }
    assert!(f.load().unwrap().is_none());
}

/// `mkdirat(dir/name, mode)` → "ok" or the errno number.
fn try_mkdir(dir: &std::path::Path, name: &str, mode: u32) -> String {
    match mkdirat(CWD, dir.join(name), Mode::from_raw_mode(mode)) {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.raw_os_error().to_string(),
    }
}

#[test]
fn mkdir_gets_the_errno_of_the_profile_without_no_new_privs() {
    child_case("mkdir-exdev", || {
        let dir = tempfile::tempdir().unwrap();
        load(
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]}"#,
            false,
        );
        let via_std = std::fs::create_dir(dir.path().join("a"))
            .unwrap_err()
            .raw_os_error()
            .unwrap();
        println!("RESULT {via_std} {}", try_mkdir(dir.path(), "b", 0o755));
        0
    });
    assert!(
        is_root(),
        "loading a filter without no_new_privs needs CAP_SYS_ADMIN: run the tests as root"
    );
    let out = run_child(
        "seccomp::tests::load::mkdir_gets_the_errno_of_the_profile_without_no_new_privs",
        "mkdir-exdev",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.results, vec![format!("{EXDEV} {EXDEV}")]);
}

#[test]
fn masked_eq_matches_only_the_masked_bits() {
    child_case("masked-eq", || {
        let dir = tempfile::tempdir().unwrap();
        // Deny directories that are world-rwx: (mode & 0o7) == 0o7.
        load(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO",
                "errnoRet": 18, "args": [{"index": 2, "value": 7, "valueTwo": 7, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#,
            true,
        );
        println!(
            "RESULT {} {} {}",
            try_mkdir(dir.path(), "a", 0o777),
            try_mkdir(dir.path(), "b", 0o757),
            try_mkdir(dir.path(), "c", 0o750)
        );
        0
    });
    let out = run_child(
        "seccomp::tests::load::masked_eq_matches_only_the_masked_bits",
        "masked-eq",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.results, vec![format!("{EXDEV} {EXDEV} ok")]);
}

#[test]
fn conditions_on_one_index_are_ored_and_on_different_indices_anded() {
    child_case("or-and", || {
        let dir = tempfile::tempdir().unwrap();
        load(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18, "args": [
                    {"index": 2, "value": 448, "op": "SCMP_CMP_EQ"},
                    {"index": 2, "value": 457, "op": "SCMP_CMP_EQ"}]},
                {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [
                    {"index": 2, "value": 325, "op": "SCMP_CMP_EQ"},
                    {"index": 0, "value": 12345, "op": "SCMP_CMP_EQ"}]},
                {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [
                    {"index": 2, "value": 384, "op": "SCMP_CMP_EQ"},
                    {"index": 0, "value": 12345, "op": "SCMP_CMP_NE"}]}]}"#,
            true,
        );
        // 448 = 0o700, 457 = 0o711: either one is denied (OR). 325 = 0o505 and 384 = 0o600 are denied only if
        // the dirfd test (arg 0) holds too (AND): it fails for 0o505 and holds for 0o600.
        println!(
            "RESULT {} {} {} {} {}",
            try_mkdir(dir.path(), "a", 0o700),
            try_mkdir(dir.path(), "b", 0o711),
            try_mkdir(dir.path(), "c", 0o755),
            try_mkdir(dir.path(), "d", 0o505),
            try_mkdir(dir.path(), "e", 0o600)
        );
        0
    });
    let out = run_child(
        "seccomp::tests::load::conditions_on_one_index_are_ored_and_on_different_indices_anded",
        "or-and",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.results, vec![format!("{EXDEV} {EXDEV} ok ok 1")]);
}

/// Loads a profile that denies `personality(x)` with EPERM unless `x == allowed`, then execs
/// `setarch linux64 true`, which calls `personality(PER_LINUX)` (0) — the filter survives execve.
fn personality_child(allowed: u64) -> i32 {
    load(
        &format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{{"names": ["personality"],
                "action": "SCMP_ACT_ERRNO", "args": [{{"index": 0, "value": {allowed}, "op": "SCMP_CMP_NE"}}]}}]}}"#
        ),
        true,
    );
    let e = std::process::Command::new("setarch")
        .args(["linux64", "true"])
        .exec();
    eprintln!("exec setarch: {e}");
    127
}

#[test]
fn personality_is_allowed_only_for_the_listed_argument() {
    child_case("personality-query-only", || personality_child(0xffff_ffff));
    child_case("personality-linux", || personality_child(0));
    let name = "seccomp::tests::load::personality_is_allowed_only_for_the_listed_argument";
    let denied = run_child(name, "personality-query-only");
    assert_eq!(denied.code, Some(1), "{}", denied.stderr);
    assert!(
        denied.stderr.contains("Operation not permitted"),
        "{}",
        denied.stderr
    );
    let allowed = run_child(name, "personality-linux");
    assert_eq!(allowed.code, Some(0), "{}", allowed.stderr);
}

#[test]
fn loading_without_cap_sys_admin_or_no_new_privs_fails_with_a_clear_error() {
    child_case("load-eacces", || {
        let f = compile(&profile(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#)).unwrap();
        let mut sets = rustix::thread::capabilities(None).unwrap();
        sets.effective
            .remove(rustix::thread::CapabilitySet::SYS_ADMIN);
        rustix::thread::set_capabilities(None, sets).unwrap();
        let e = f.load().unwrap_err();
        let errno = match &e {
            crate::SecurityError::Load { source, .. } => source.errno().map(|e| format!("{e:?}")),
            _ => None,
        };
        println!("RESULT {errno:?}");
        println!("RESULT {e}");
        0
    });
    assert!(
        is_root(),
        "this test drops CAP_SYS_ADMIN, so it must start with it: run the tests as root"
    );
    let out = run_child(
        "seccomp::tests::load::loading_without_cap_sys_admin_or_no_new_privs_fails_with_a_clear_error",
        "load-eacces",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.results[0], "Some(\"EACCES\")");
    assert!(
        out.results[1].starts_with("loading the seccomp filter into the kernel: "),
        "{:?}",
        out.results
    );
    assert!(
        out.results[1].contains("needs CAP_SYS_ADMIN"),
        "{:?}",
        out.results
    );
}
