//! What `compile` builds, read back through libseccomp's PFC export; and what it refuses.

use super::profile;
use crate::seccomp::compile;

fn pfc(json: &str) -> String {
    compile(&profile(json)).unwrap().export_pfc().unwrap()
}

fn err(json: &str) -> String {
    compile(&profile(json)).unwrap_err().to_string()
}

#[test]
fn errno_rules_default_to_eperm_and_keep_errno_ret() {
    let p = pfc(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
        {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"}]}"#);
    assert!(p.contains("action ERRNO(18);"), "{p}");
    assert!(p.contains("action ERRNO(1);"), "{p}");
    assert!(p.contains("action ALLOW;"), "{p}");
}

#[test]
fn default_errno_ret_is_used() {
    let p = pfc(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
                    "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    assert!(p.contains("action ERRNO(38);"), "{p}");
}

#[test]
fn args_on_distinct_indices_are_one_anded_rule() {
    let p = pfc(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdirat"],
        "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 0, "value": 7, "op": "SCMP_CMP_EQ"},
            {"index": 2, "value": 448, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    // One rule: the second comparison is nested inside the first.
    let a0 = p.find("$a0.lo32 == 7").expect(&p);
    let a2 = p.find("$a2.lo32 == 448").expect(&p);
    assert!(a0 < a2, "{p}");
    assert_eq!(p.matches("action ERRNO(1);").count(), 1, "{p}");
}

#[test]
fn args_on_the_same_index_are_separate_ored_rules() {
    let p = pfc(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdirat"],
        "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 2, "value": 448, "op": "SCMP_CMP_EQ"},
            {"index": 2, "value": 457, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    assert!(p.contains("$a2.lo32 == 448"), "{p}");
    assert!(p.contains("$a2.lo32 == 457"), "{p}");
    assert_eq!(p.matches("action ERRNO(1);").count(), 2, "{p}");
}

#[test]
fn every_operator_compiles() {
    let ops = ["NE", "LT", "LE", "EQ", "GE", "GT"];
    for op in ops {
        let json = format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{{"names": ["personality"],
                "action": "SCMP_ACT_ERRNO", "args": [{{"index": 0, "value": 8, "op": "SCMP_CMP_{op}"}}]}}]}}"#
        );
        let p = pfc(&json);
        assert!(p.contains("$a0"), "{op}: {p}");
    }
    let p = pfc(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["personality"],
        "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 255, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#,
    );
    assert!(p.contains("($a0.lo32 & 0x000000ff == 8)"), "{p}");
}

#[test]
fn unknown_syscalls_are_skipped_and_reported() {
    let f = compile(&profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "no_such_syscall_x", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["another_fake"], "action": "SCMP_ACT_ALLOW"}]}"#,
    ))
    .unwrap();
    assert_eq!(f.unknown_syscalls(), ["no_such_syscall_x", "another_fake"]);
    let p = f.export_pfc().unwrap();
    assert!(p.contains("\"read\"") && p.contains("\"write\""), "{p}");
}

#[test]
fn rules_with_the_default_action_are_skipped() {
    let p = pfc(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#);
    assert!(!p.contains("\"mkdir\""), "{p}");
}

#[test]
fn extra_architectures_are_added_and_native_twice_is_fine() {
    let p = pfc(r#"{"defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#);
    assert!(p.contains("filter for arch x86_64"), "{p}");
    assert!(p.contains("filter for arch x86 "), "{p}");
    assert!(p.contains("filter for arch x32"), "{p}");
}

#[test]
fn flags_are_set_or_refused_by_name() {
    let f = compile(&profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}"#,
    ))
    .unwrap();
    assert!(f.ctx.get_ctl_log().unwrap());
    assert!(f.ctx.get_ctl_ssb().unwrap());
    // The filter never sets no_new_privs behind the runtime's back.
    assert!(!f.ctx.get_ctl_nnp().unwrap());
    // WAIT_KILLABLE_RECV needs libseccomp >= 2.6; with an older one it must be a clear error, not a silent no-op.
    let v = libseccomp::ScmpVersion::current().unwrap();
    let r = compile(&profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#,
    ));
    if (v.major, v.minor) < (2, 6) {
        let e = r.unwrap_err().to_string();
        assert!(
            e.starts_with("linux.seccomp.flags[0]: seccomp flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported"),
            "{e}"
        );
    } else {
        assert!(r.unwrap().ctx.get_ctl_waitkill().unwrap());
    }
}

#[test]
fn bad_profiles_are_refused_naming_the_field() {
    let e = err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    assert!(
        e.starts_with("linux.seccomp.syscalls[1].args[0].index: argument index 6 is out of range"),
        "{e}"
    );

    let e = err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL", "errnoRet": 5}]}"#,
    );
    assert!(
        e.starts_with(
            "linux.seccomp.syscalls[0].errnoRet: 5 given, but SCMP_ACT_KILL returns no errno"
        ),
        "{e}"
    );

    let e = err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5}"#);
    assert!(
        e.starts_with("linux.seccomp.defaultErrnoRet: 5 given, but SCMP_ACT_ALLOW"),
        "{e}"
    );

    let e = err(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#);
    assert!(
        e.starts_with("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"),
        "{e}"
    );

    let e = err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    );
    assert!(
        e.starts_with(
            "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY cannot be used for \"write\""
        ),
        "{e}"
    );

    let e = err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    );
    assert!(
        e.starts_with(
            "linux.seccomp.listenerPath: SCMP_ACT_NOTIFY is used by a rule, but no listenerPath"
        ),
        "{e}"
    );

    // libseccomp's own refusals name the entry and the syscall.
    let e = err(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22, "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    assert!(
        e.starts_with("linux.seccomp.syscalls[1]: adding the rule for \"socket\": "),
        "{e}"
    );

    // Unknown architectures and actions never reach compile: the spec types refuse them when config.json is
    // parsed (gantry-spec reports the field path).
    assert!(serde_json::from_str::<oci_spec::runtime::LinuxSeccomp>(
        r#"{"defaultAction": "SCMP_ACT_FOO"}"#
    )
    .is_err());
    assert!(serde_json::from_str::<oci_spec::runtime::LinuxSeccomp>(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}"#
    )
    .is_err());
}

#[test]
fn architectures_this_libseccomp_lacks_are_refused_naming_the_field() {
    // SuperH arrived in libseccomp 2.6; with 2.5 this must be an error that names the entry.
    let v = libseccomp::ScmpVersion::current().unwrap();
    let r = compile(&profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_SH"]}"#,
    ));
    if (v.major, v.minor) < (2, 6) {
        let e = r.unwrap_err().to_string();
        assert!(
            e.starts_with(
                "linux.seccomp.architectures[1]: architecture SCMP_ARCH_SH is not supported"
            ),
            "{e}"
        );
    } else {
        assert!(r.is_ok());
    }
}

#[test]
fn notify_is_detected_only_when_a_rule_uses_it() {
    let f = compile(&profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    ))
    .unwrap();
    assert!(f.uses_notify());
    let f = compile(&profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["not_a_syscall"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    ))
    .unwrap();
    assert!(!f.uses_notify());
}

#[test]
fn the_program_carries_the_bpf_and_the_load_flags() {
    let f = compile(&profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"], "listenerPath": "/run/a.sock",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    ))
    .unwrap();
    let p = f.program().unwrap();
    assert_eq!(p.bpf(), f.export_bpf().unwrap());
    assert!(p.instructions() > 3 && p.bpf().len() == p.instructions() * 8);
    assert_eq!(
        p.flags(),
        crate::seccomp::FLAG_LOG | crate::seccomp::FLAG_NEW_LISTENER
    );
    assert!(p.has_listener());

    let plain = compile(&profile(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#))
        .unwrap()
        .program()
        .unwrap();
    assert_eq!(plain.flags(), 0);
    // The last instruction of a filter is a return (BPF_RET | BPF_K = 0x06).
    let last = &plain.bpf()[plain.bpf().len() - 8..];
    assert_eq!(u16::from_ne_bytes([last[0], last[1]]), 0x06);
}

#[test]
fn load_with_hands_bpf_and_flags_to_the_loader_and_checks_the_listener() {
    let f = compile(&profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    ))
    .unwrap();
    let p = f.program().unwrap();
    let fake_listener =
        || rustix::fs::memfd_create("fake-listener", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
    let fd = p
        .load_with(|bpf, flags| {
            assert_eq!(bpf, p.bpf());
            assert_eq!(flags, crate::seccomp::FLAG_NEW_LISTENER);
            Ok(Some(fake_listener()))
        })
        .unwrap();
    assert!(fd.is_some());
    let e = p.load_with(|_, _| Ok(None)).unwrap_err().to_string();
    assert!(e.contains("no listener fd"), "{e}");
    let e = p
        .load_with(|_, _| Err(std::io::Error::from_raw_os_error(22)))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("loading the seccomp BPF program (seccomp(2) flags 0x8): "),
        "{e}"
    );

    let plain = compile(&profile(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#))
        .unwrap()
        .program()
        .unwrap();
    assert!(plain.load_with(|_, _| Ok(None)).unwrap().is_none());
    assert!(plain.load_with(|_, _| Ok(Some(fake_listener()))).is_err());
}
