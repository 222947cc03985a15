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

/// CPU time this thread has used: unlike wall time, it does not grow when other processes compete for the CPU.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs `f`, returning its result, wall time and CPU time.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Duration) {
    let (w, c) = (Instant::now(), thread_cpu());
    let r = f();
    (r, w.elapsed(), thread_cpu() - c)
}

#[test]
fn a_default_sized_profile_compiles_and_loads_fast() {
    child_case("speed-load", || {
        let p = profile(&default_sized_profile_json());
        let (f, compile_wall, compile_cpu) = timed(|| compile(&p).unwrap());
        rustix::thread::set_no_new_privs(true).unwrap();
        let (r, load_wall, load_cpu) = timed(|| f.load());
        r.unwrap();
        println!(
            "RESULT {} {} {} {}",
            micros(compile_wall),
            micros(compile_cpu),
            micros(load_wall),
            micros(load_cpu)
        );
        0
    });
    let p = profile(&default_sized_profile_json());
    let mut runs: Vec<(Duration, Duration)> = (0..15)
        .map(|_| {
            let (f, wall, cpu) = timed(|| compile(&p).unwrap());
            assert!(f.unknown_syscalls().is_empty());
            (cpu, wall)
        })
        .collect();
    runs.sort();
    let (median_cpu, median_wall) = runs[runs.len() / 2];

    let filter = compile(&p).unwrap();
    let (program, generate_wall, generate_cpu) = timed(|| filter.program().unwrap());

    let out = run_child(
        "seccomp::tests::speed::a_default_sized_profile_compiles_and_loads_fast",
        "speed-load",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let n: Vec<u128> = out.results[0]
        .split(' ')
        .map(|s| s.parse().unwrap())
        .collect();
    eprintln!(
        "seccomp default-sized profile (300 syscalls, 3 ABIs, {} BPF instructions), CPU time (wall): \
         compile median {} us ({} us) over 15 runs; BPF generation alone (Filter::program) {} us ({} us); \
         in a fresh child: compile {} us ({} us), load {} us ({} us) = BPF generation + seccomp(2)",
        program.instructions(),
        micros(median_cpu),
        micros(median_wall),
        micros(generate_cpu),
        micros(generate_wall),
        n[1],
        n[0],
        n[3],
        n[2]
    );
    // Bounds on CPU time (stable on a busy machine), generous for a debug build: a regression to per-rule
    // re-parsing or repeated program generation would blow through them.
    assert!(
        median_cpu < Duration::from_millis(30),
        "compile took {median_cpu:?} of CPU"
    );
    assert!(n[3] < 30_000, "load took {} us of CPU", n[3]);
}
