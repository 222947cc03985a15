//! Capability plans (pure) and, in a throw-away child process as root, the kernel state they produce.

use super::*;
use crate::testutil::{child_case, is_root, run_child};
use caps::Capability as C;

/// `process.capabilities` as config.json spells it (the spec types' builder fills unset sets with defaults).
fn caps_json(json: &str) -> LinuxCapabilities {
    serde_json::from_str(json).unwrap()
}

fn mask(caps: &[C]) -> CapMask {
    caps.iter().fold(CapMask::EMPTY, |m, c| m.with(*c))
}

/// The shape podman and containerd generate: the same list in bounding, effective and permitted.
fn default_like() -> LinuxCapabilities {
    let s = r#"["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETPCAP", "CAP_BPF"]"#;
    caps_json(&format!(
        r#"{{"bounding": {s}, "effective": {s}, "permitted": {s}}}"#
    ))
}

#[test]
fn plan_maps_every_set_and_leaves_unset_ones_empty() {
    let p = plan_for_kernel(&default_like(), 40).unwrap();
    let want = mask(&[
        C::CAP_CHOWN,
        C::CAP_KILL,
        C::CAP_NET_BIND_SERVICE,
        C::CAP_SETPCAP,
        C::CAP_BPF,
    ]);
    assert_eq!(p.set(CapSetKind::Bounding), want);
    assert_eq!(p.set(CapSetKind::Effective), want);
    assert_eq!(p.set(CapSetKind::Permitted), want);
    // CVE-2022-29162 / crun CVE-2022-27650: unset inheritable means empty, never "whatever we had".
    assert!(p.set(CapSetKind::Inheritable).is_empty());
    assert!(p.set(CapSetKind::Ambient).is_empty());
    assert!(p.warnings().is_empty());
    assert_eq!(p.bounding_to_drop(), CapMask::all_up_to(40).minus(want));
    assert_eq!(p.bounding_to_drop().indices().count(), 41 - 5);
}

#[test]
fn absent_capabilities_mean_none_at_all() {
    let p = plan_for_kernel(&caps_json("{}"), 40).unwrap();
    for kind in CapSetKind::ALL {
        assert!(p.set(kind).is_empty(), "{kind:?}");
    }
    assert_eq!(p, CapPlan::empty(40));
    assert_eq!(p.bounding_to_drop(), CapMask::all_up_to(40));
}

#[test]
fn capabilities_newer_than_the_kernel_are_skipped_with_a_warning() {
    // A 5.4-era kernel: last capability 37 (CAP_AUDIT_READ); CAP_BPF (39) does not exist there.
    let p = plan_for_kernel(&default_like(), 37).unwrap();
    assert!(!p.set(CapSetKind::Bounding).contains(C::CAP_BPF));
    assert!(!p.set(CapSetKind::Effective).contains(C::CAP_BPF));
    let w = p.warnings();
    assert_eq!(w.len(), 3, "{w:?}");
    assert_eq!(
        w[0].to_string(),
        "process.capabilities.bounding: CAP_BPF is not known to the running kernel (its last capability is \
         number 37); ignored"
    );
    // Dropping never touches numbers the kernel does not have.
    assert_eq!(p.bounding_to_drop().indices().max(), Some(37));
}

#[test]
fn effective_outside_permitted_is_refused_on_the_host() {
    let c = caps_json(r#"{"effective": ["CAP_SYS_ADMIN"], "permitted": ["CAP_CHOWN"]}"#);
    let e = plan_for_kernel(&c, 40).unwrap_err().to_string();
    assert!(
        e.starts_with("process.capabilities.effective: CAP_SYS_ADMIN is not in process.capabilities.permitted"),
        "{e}"
    );
}

#[test]
fn ambient_needs_permitted_and_inheritable() {
    let c = caps_json(
        r#"{"bounding": ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"], "permitted": ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
            "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]}"#,
    );
    let p = plan_for_kernel(&c, 40).unwrap();
    assert_eq!(p.ambient_to_raise(), mask(&[C::CAP_NET_BIND_SERVICE]));
    assert_eq!(
        p.warnings(),
        vec![CapWarning::AmbientNotRaisable {
            cap: C::CAP_NET_RAW
        }]
    );
}

#[test]
fn exec_cap_adds_everywhere_but_inheritable() {
    let mut p = plan_for_kernel(&default_like(), 40).unwrap();
    p.add_exec_caps(&["CAP_SYS_ADMIN", "net_admin"]).unwrap();
    let added = mask(&[C::CAP_SYS_ADMIN, C::CAP_NET_ADMIN]);
    for kind in [
        CapSetKind::Bounding,
        CapSetKind::Effective,
        CapSetKind::Permitted,
        CapSetKind::Ambient,
    ] {
        assert_eq!(p.set(kind).intersect(added), added, "{kind:?}");
    }
    // CVE-2022-29162: `exec --cap` must not make inheritable non-empty.
    assert!(p.set(CapSetKind::Inheritable).is_empty());
    // ...so the kernel will not raise them as ambient, and the caller hears about it.
    assert!(p.ambient_to_raise().is_empty());
    assert_eq!(p.warnings().len(), 2);

    let e = p.add_exec_caps(&["CAP_FOO"]).unwrap_err().to_string();
    assert!(
        e.starts_with("exec --cap: unknown capability \"CAP_FOO\""),
        "{e}"
    );
}

#[test]
fn the_running_kernel_is_read() {
    let p = plan(&default_like()).unwrap();
    assert_eq!(p.last_cap(), read_last_cap().unwrap());
}

/// This thread's capability lines of /proc/thread-self/status as masks: (Inh, Prm, Eff, Bnd, Amb).
/// (Capabilities are per thread, and libtest may run the test on a thread of its own.)
fn proc_status_caps() -> [u64; 5] {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line[name.len()..].trim(), 16).unwrap()
    };
    [
        field("CapInh:"),
        field("CapPrm:"),
        field("CapEff:"),
        field("CapBnd:"),
        field("CapAmb:"),
    ]
}

fn apply_case_plan() -> CapPlan {
    let c = caps_json(
        r#"{"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
            "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
            "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}"#,
    );
    plan(&c).unwrap()
}

#[test]
fn apply_sets_exactly_the_plan_and_clears_inherited_inheritable() {
    child_case("caps-apply", || {
        // The runtime was started with non-empty inheritable caps (the CVE-2022-29162 setup).
        let mut sets = rustix::thread::capabilities(None).unwrap();
        sets.inheritable =
            rustix::thread::CapabilitySet::SYS_ADMIN | rustix::thread::CapabilitySet::NET_ADMIN;
        rustix::thread::set_capabilities(None, sets).unwrap();
        assert_ne!(proc_status_caps()[0], 0);

        let p = apply_case_plan();
        p.drop_bounding().unwrap();
        p.apply().unwrap();
        let [inh, prm, eff, bnd, amb] = proc_status_caps();
        println!("RESULT {inh:x} {prm:x} {eff:x} {bnd:x} {amb:x}");
        0
    });
    assert!(is_root(), "this test needs root (CI runs as root)");
    let out = run_child(
        "caps::tests::apply_sets_exactly_the_plan_and_clears_inherited_inheritable",
        "caps-apply",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let p = apply_case_plan();
    let want = format!(
        "{:x} {:x} {:x} {:x} {:x}",
        p.set(CapSetKind::Inheritable).bits(),
        p.set(CapSetKind::Permitted).bits(),
        p.set(CapSetKind::Effective).bits(),
        p.set(CapSetKind::Bounding).bits(),
        p.ambient_to_raise().bits()
    );
    assert_eq!(out.results, vec![want]);
    assert_eq!(p.ambient_to_raise(), mask(&[C::CAP_NET_BIND_SERVICE]));
}

#[test]
fn apply_with_nothing_leaves_no_capability() {
    child_case("caps-empty", || {
        let p = CapPlan::empty(read_last_cap().unwrap());
        p.drop_bounding().unwrap();
        p.apply().unwrap();
        let c = proc_status_caps();
        println!("RESULT {:?}", c);
        0
    });
    assert!(is_root(), "this test needs root (CI runs as root)");
    let out = run_child(
        "caps::tests::apply_with_nothing_leaves_no_capability",
        "caps-empty",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.results, vec!["[0, 0, 0, 0, 0]".to_owned()]);
}
