//! A small classic-BPF interpreter for seccomp programs, to check what a [`Program`] returns for a syscall
//! without loading it; and the ENOSYS prologue checked with it.

use super::profile;
use super::speed::default_sized_profile_json;
use crate::seccomp::{compile, Program};

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_BIT: u32 = 0x4000_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_EPERM: u32 = 0x0005_0001;
const RET_ENOSYS: u32 = 0x0005_0026;

/// Runs a seccomp program on `struct seccomp_data { nr, arch, ip, args[6] }` and returns its verdict.
pub(super) fn run(bpf: &[u8], nr: u32, arch: u32, args: [u64; 6]) -> u32 {
    let mut data = Vec::with_capacity(64);
    data.extend_from_slice(&nr.to_ne_bytes());
    data.extend_from_slice(&arch.to_ne_bytes());
    data.extend_from_slice(&0u64.to_ne_bytes());
    for a in args {
        data.extend_from_slice(&a.to_ne_bytes());
    }
    let word = |k: u32| {
        let k = k as usize;
        u32::from_ne_bytes(data[k..k + 4].try_into().unwrap())
    };
    let insns: Vec<(u16, u8, u8, u32)> = bpf
        .chunks_exact(8)
        .map(|c| {
            (
                u16::from_ne_bytes([c[0], c[1]]),
                c[2],
                c[3],
                u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            )
        })
        .collect();
    let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
    let mut pc = 0usize;
    loop {
        let (code, jt, jf, k) = insns[pc];
        pc += 1;
        let cond = |v: bool| if v { usize::from(jt) } else { usize::from(jf) };
        match code {
            0x20 => a = word(k),            // ld [k]
            0x00 => a = k,                  // ld #k
            0x60 => a = mem[k as usize],    // ld M[k]
            0x01 => x = k,                  // ldx #k
            0x61 => x = mem[k as usize],    // ldx M[k]
            0x02 => mem[k as usize] = a,    // st M[k]
            0x03 => mem[k as usize] = x,    // stx M[k]
            0x54 => a &= k,                 // and #k
            0x44 => a |= k,                 // or #k
            0x07 => x = a,                  // tax
            0x87 => a = x,                  // txa
            0x05 => pc += k as usize,       // ja
            0x15 => pc += cond(a == k),     // jeq #k
            0x25 => pc += cond(a > k),      // jgt #k
            0x35 => pc += cond(a >= k),     // jge #k
            0x45 => pc += cond(a & k != 0), // jset #k
            0x1d => pc += cond(a == x),     // jeq x
            0x2d => pc += cond(a > x),      // jgt x
            0x3d => pc += cond(a >= x),     // jge x
            0x06 => return k,               // ret #k
            0x16 => return a,               // ret a
            other => panic!("instruction {other:#x} at {} not interpreted", pc - 1),
        }
    }
}

fn program(json: &str) -> Program {
    compile(&profile(json)).unwrap().program().unwrap()
}

#[test]
fn the_interpreter_agrees_with_the_kernel_tested_rules() {
    // The same MASKED_EQ rule the load tests check in a real kernel: deny when (mode & 7) == 7.
    let p = program(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO",
            "errnoRet": 18, "args": [{"index": 2, "value": 7, "valueTwo": 7, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#,
    );
    let mkdirat = 258;
    assert_eq!(
        run(p.bpf(), mkdirat, AUDIT_ARCH_X86_64, [0, 0, 0o777, 0, 0, 0]),
        0x0005_0012
    );
    assert_eq!(
        run(p.bpf(), mkdirat, AUDIT_ARCH_X86_64, [0, 0, 0o750, 0, 0, 0]),
        RET_ALLOW
    );
    assert_eq!(run(p.bpf(), 0, AUDIT_ARCH_X86_64, [0; 6]), RET_ALLOW);
}

#[test]
fn syscalls_newer_than_the_profile_get_enosys_on_every_abi() {
    let p = program(&default_sized_profile_json());
    let f = compile(&profile(&default_sized_profile_json())).unwrap();
    let plain = f.export_bpf().unwrap();
    assert_eq!(
        p.instructions(),
        plain.len() / 8 + 14,
        "prologue: 5 (i386) + 7 (x86_64/x32) + 2"
    );

    // x86_64: read (0) allowed, a denied syscall below the profile's last one stays EPERM (ptrace = 101),
    // anything after the last named syscall is ENOSYS instead of EPERM.
    // The profile's last x86_64 syscall is the last number with a verdict of its own (clone3's ENOSYS rule).
    let last_x86_64 = (0..1000u32)
        .rev()
        .find(|nr| run(&plain, *nr, AUDIT_ARCH_X86_64, [0; 6]) != RET_EPERM)
        .unwrap();
    assert_eq!(last_x86_64, 435);
    assert_eq!(run(p.bpf(), 0, AUDIT_ARCH_X86_64, [0; 6]), RET_ALLOW);
    assert_eq!(run(p.bpf(), 101, AUDIT_ARCH_X86_64, [0; 6]), RET_EPERM);
    assert_eq!(
        run(&plain, last_x86_64 + 1, AUDIT_ARCH_X86_64, [0; 6]),
        RET_EPERM
    );
    assert_eq!(
        run(p.bpf(), last_x86_64 + 1, AUDIT_ARCH_X86_64, [0; 6]),
        RET_ENOSYS
    );
    assert_eq!(run(p.bpf(), 5000, AUDIT_ARCH_X86_64, [0; 6]), RET_ENOSYS);
    // Up to the last named syscall the verdicts are untouched, whatever the arguments.
    for nr in 0..=last_x86_64 {
        for args in [
            [0; 6],
            [u64::MAX; 6],
            [0xffff_ffff, 8, 0x7e02_0000, 1, 2, 3],
        ] {
            assert_eq!(
                run(p.bpf(), nr, AUDIT_ARCH_X86_64, args),
                run(&plain, nr, AUDIT_ARCH_X86_64, args),
                "{nr}"
            );
        }
    }

    // x32 (same audit arch, numbers with bit 30) and i386: the same rule with their own last numbers.
    for (arch, base) in [(AUDIT_ARCH_X86_64, X32_BIT), (AUDIT_ARCH_I386, 0)] {
        let last = (base..base + 1000)
            .rev()
            .find(|nr| run(&plain, *nr, arch, [0; 6]) != RET_EPERM)
            .unwrap();
        for nr in base..=last {
            assert_eq!(
                run(p.bpf(), nr, arch, [0; 6]),
                run(&plain, nr, arch, [0; 6]),
                "{arch:#x} {nr:#x}"
            );
        }
        assert_eq!(
            run(p.bpf(), last + 1, arch, [0; 6]),
            RET_ENOSYS,
            "{arch:#x}"
        );
    }

    // A foreign architecture still meets libseccomp's bad-arch action (kill).
    assert_eq!(
        run(p.bpf(), 0, 0xc000_00b7, [0; 6]),
        run(&plain, 0, 0xc000_00b7, [0; 6])
    );
}

#[test]
fn no_prologue_when_the_default_action_lets_syscalls_through() {
    for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"] {
        let json = format!(
            r#"{{"defaultAction": "{default}", "syscalls": [{{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}}]}}"#
        );
        let f = compile(&profile(&json)).unwrap();
        assert_eq!(
            f.program().unwrap().bpf(),
            f.export_bpf().unwrap(),
            "{default}"
        );
    }
    // With an errno default the prologue is there even for a one-syscall profile.
    let f = compile(&profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
    ))
    .unwrap();
    let p = f.program().unwrap();
    assert_eq!(run(p.bpf(), 0, AUDIT_ARCH_X86_64, [0; 6]), RET_ALLOW);
    assert_eq!(run(p.bpf(), 1, AUDIT_ARCH_X86_64, [0; 6]), RET_ENOSYS);
    // x32 is not in this filter: its syscalls keep the filter's verdict.
    assert_eq!(
        run(p.bpf(), X32_BIT | 1, AUDIT_ARCH_X86_64, [0; 6]),
        run(
            &f.export_bpf().unwrap(),
            X32_BIT | 1,
            AUDIT_ARCH_X86_64,
            [0; 6]
        )
    );
}
