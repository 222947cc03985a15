//! Compile and load time of a profile the size of podman's and containerd's defaults (~300 syscalls allowed,
//! default EPERM, three x86 ABIs, a handful of argument rules).

use super::profile;
use crate::seccomp::compile;
use crate::testutil::{child_case, run_child};
use libseccomp::{ScmpArch, ScmpSyscall};
use std::time::{Duration, Instant};

/// A default-profile-shaped `linux.seccomp`, built from libseccomp's own syscall table (no profile copied).
pub(super) fn default_sized_profile_json() -> String {
    let skip = [
        "personality",
        "clone",
        "clone3",
        "socket",
        "ptrace",
        "kexec_load",
        "init_module",
        "mount",
        "umount2",
    ];
    let names: Vec<String> = (0..460)
        .filter_map(|nr| {
            ScmpSyscall::from(nr)
                .get_name_by_arch(ScmpArch::Native)
                .ok()
        })
        .filter(|n| !skip.contains(&n.as_str()))
        .take(300)
        .collect();
    assert_eq!(names.len(), 300);
    let personality: Vec<String> = [0u64, 8, 0x20000, 0x20008, 0xffff_ffff]
        .iter()
        .map(|v| {
            format!(
                r#"{{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                     "args": [{{"index": 0, "value": {v}, "op": "SCMP_CMP_EQ"}}]}}"#
            )
        })
        .collect();
    format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
              {{"names": {names}, "action": "SCMP_ACT_ALLOW"}},
              {personality},
              {{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                "args": [{{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}}]}},
              {{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}},
              {{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
                "args": [{{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}}]}}
            ]}}"#,
        names = serde_json::to_string(&names).unwrap(),
        personality = personality.join(",")
    )
}

fn micros(d: Duration) -> u128 {
    d.as_micros()
}

#[test]
fn a_default_sized_profile_compiles_and_loads_fast() {
    child_case("speed-load", || {
        let p = profile(&default_sized_profile_json());
        let t0 = Instant::now();
        let f = compile(&p).unwrap();
        let t1 = Instant::now();
        rustix::thread::set_no_new_privs(true).unwrap();
        let t2 = Instant::now();
        f.load().unwrap();
        let t3 = Instant::now();
        println!("RESULT {} {}", micros(t1 - t0), micros(t3 - t2));
        0
    });
    let p = profile(&default_sized_profile_json());
    let mut compile_times: Vec<Duration> = (0..15)
        .map(|_| {
            let t = Instant::now();
            let f = compile(&p).unwrap();
            let d = t.elapsed();
            assert!(f.unknown_syscalls().is_empty());
            d
        })
        .collect();
    compile_times.sort();
    let median = compile_times[compile_times.len() / 2];

    let out = run_child(
        "seccomp::tests::speed::a_default_sized_profile_compiles_and_loads_fast",
        "speed-load",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let nums: Vec<u128> = out.results[0]
        .split(' ')
        .map(|s| s.parse().unwrap())
        .collect();
    let filter = compile(&p).unwrap();
    let t = Instant::now();
    let program = filter.program().unwrap();
    let generate = t.elapsed();
    let bpf_len = program.instructions();
    eprintln!(
        "seccomp default-sized profile (300 syscalls, 3 ABIs, {bpf_len} BPF instructions): compile median {} us \
         (min {} us, in-process, 15 runs); BPF generation alone (Filter::program) {} us; in a fresh child: \
         compile {} us (cold), load {} us (BPF generation + seccomp(2))",
        micros(median),
        micros(compile_times[0]),
        micros(generate),
        nums[0],
        nums[1]
    );
    // Generous bounds for a debug build on a busy 2-core machine; a regression to per-rule re-parsing or
    // repeated exports would blow through them.
    assert!(
        median < Duration::from_millis(50),
        "compile took {median:?}"
    );
    assert!(nums[1] < 50_000, "load took {} us", nums[1]);
}
