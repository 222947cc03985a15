//! The eBPF program that enforces device rules on cgroup v2 (pure; checked against the v1 emulator with a small
//! interpreter of the instructions it emits).

use super::emulator::Policy;
use super::rules::{DeviceKind, DeviceRule, ACCESS_ALL};
use gantry_sys::bpf::Insn;

// Opcodes (linux/bpf.h, linux/bpf_common.h).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU64_MOV_X: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
const ALU64_MOV_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// bpf_cgroup_dev_ctx device types.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// The `BPF_PROG_TYPE_CGROUP_DEVICE` program enforcing `rules` with v1 semantics (see the emulator module).
///
/// Registers after the prologue: r2 = device type, r3 = requested access, r4 = major, r5 = minor. The rules are
/// first reduced to a default plus exceptions; each exception is a block of checks that jump past the block on
/// mismatch and otherwise return the opposite of the default, which the program returns at its end.
pub fn device_filter(rules: &[DeviceRule]) -> Vec<Insn> {
    let policy = Policy::from_rules(rules);
    let mut prog = vec![
        Insn::new(LDX_MEM_W, 2, 1, 0, 0),
        Insn::new(ALU32_AND_K, 2, 0, 0, 0xffff),
        Insn::new(LDX_MEM_W, 3, 1, 0, 0),
        Insn::new(ALU32_RSH_K, 3, 0, 0, 16),
        Insn::new(LDX_MEM_W, 4, 1, 4, 0),
        Insn::new(LDX_MEM_W, 5, 1, 8, 0),
    ];
    let verdict = i32::from(!policy.default_allow);
    let mut block = Vec::with_capacity(9);
    for e in &policy.exceptions {
        block.clear();
        // Jumps are emitted with off = -1 and patched to "past the end of this block" below.
        match e.kind {
            DeviceKind::All => {}
            DeviceKind::Char => block.push(Insn::new(JMP_JNE_K, 2, 0, -1, DEV_CHAR)),
            DeviceKind::Block => block.push(Insn::new(JMP_JNE_K, 2, 0, -1, DEV_BLOCK)),
        }
        if e.access != ACCESS_ALL {
            block.push(Insn::new(ALU64_MOV_X, 1, 3, 0, 0));
            if policy.default_allow {
                // A deny exception bites when the request shares a bit with it: (access & denied) == 0 → skip.
                block.push(Insn::new(ALU32_AND_K, 1, 0, 0, i32::from(e.access)));
                block.push(Insn::new(JMP_JEQ_K, 1, 0, -1, 0));
            } else {
                // An allow exception covers the request only entirely: (access & ~allowed) != 0 → skip.
                block.push(Insn::new(
                    ALU32_AND_K,
                    1,
                    0,
                    0,
                    i32::from(!e.access & ACCESS_ALL),
                ));
                block.push(Insn::new(JMP_JNE_K, 1, 0, -1, 0));
            }
        }
        if let Some(major) = e.major {
            block.push(Insn::new(JMP_JNE_K, 4, 0, -1, major as i32));
        }
        if let Some(minor) = e.minor {
            block.push(Insn::new(JMP_JNE_K, 5, 0, -1, minor as i32));
        }
        block.push(Insn::new(ALU64_MOV_K, 0, 0, 0, verdict));
        block.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, insn) in block.iter_mut().enumerate() {
            if insn.off == -1 && (insn.code == JMP_JNE_K || insn.code == JMP_JEQ_K) {
                insn.off = (len - i - 1) as i16;
            }
        }
        prog.extend_from_slice(&block);
    }
    prog.push(Insn::new(
        ALU64_MOV_K,
        0,
        0,
        0,
        i32::from(policy.default_allow),
    ));
    prog.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
    prog
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::devices::rules::{parse_rules, ACCESS_MKNOD, ACCESS_READ, ACCESS_WRITE};
    use oci_spec::runtime::LinuxDeviceCgroup;

    /// Runs the subset of eBPF that `device_filter` emits on a `bpf_cgroup_dev_ctx`.
    fn run(prog: &[Insn], kind: i32, major: u32, minor: u32, access: u8) -> u64 {
        let ctx = [((access as u32) << 16) | kind as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let insn = prog[pc];
            let (dst, src) = (insn.dst() as usize, insn.src() as usize);
            pc += 1;
            let imm = insn.imm as i64 as u64;
            match insn.code {
                LDX_MEM_W => {
                    assert_eq!(src, 1, "loads only from the context");
                    r[dst] = u64::from(ctx[insn.off as usize / 4]);
                }
                ALU32_AND_K => r[dst] = u64::from((r[dst] as u32) & insn.imm as u32),
                ALU32_RSH_K => r[dst] = u64::from((r[dst] as u32) >> insn.imm),
                ALU64_MOV_X => r[dst] = r[src],
                ALU64_MOV_K => r[dst] = imm,
                JMP_JNE_K => {
                    if r[dst] != imm {
                        pc += insn.off as usize;
                    }
                }
                JMP_JEQ_K => {
                    if r[dst] == imm {
                        pc += insn.off as usize;
                    }
                }
                JMP_EXIT => return r[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
            assert!(pc < prog.len(), "jumped out of the program");
        }
    }

    fn rules(json: &str) -> Vec<DeviceRule> {
        let spec: Vec<LinuxDeviceCgroup> = serde_json::from_str(json).unwrap();
        parse_rules(&spec)
            .unwrap()
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }

    const R: u8 = ACCESS_READ;
    const W: u8 = ACCESS_WRITE;
    const M: u8 = ACCESS_MKNOD;

    /// The program agrees with the v1 emulator on every request over a grid of devices and access sets.
    fn check_against_emulator(rules: &[DeviceRule]) {
        let prog = device_filter(rules);
        let policy = Policy::from_rules(rules);
        for (kind, dev) in [(DeviceKind::Char, DEV_CHAR), (DeviceKind::Block, DEV_BLOCK)] {
            for major in [0, 1, 5, 8, 136] {
                for minor in [0, 1, 3, 5, 9] {
                    for access in 1..=ACCESS_ALL {
                        let want = policy.allows(kind, major, minor, access);
                        let got = run(&prog, dev, major, minor, access) == 1;
                        assert_eq!(
                            got, want,
                            "{kind:?} {major}:{minor} access {access:#b} under {rules:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn typical_container_policy() {
        let prog = device_filter(&rules(
            r#"[{"allow":false,"access":"rwm"},
                {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
                {"allow":true,"type":"c","major":136,"access":"rw"},
                {"allow":true,"type":"c","major":1,"minor":9,"access":"r"}]"#,
        ));
        assert_eq!(run(&prog, DEV_CHAR, 1, 3, R | W), 1, "/dev/null");
        assert_eq!(run(&prog, DEV_CHAR, 1, 3, M), 1);
        assert_eq!(
            run(&prog, DEV_BLOCK, 1, 3, R),
            0,
            "block 1:3 is not /dev/null"
        );
        assert_eq!(run(&prog, DEV_CHAR, 136, 7, R | W), 1, "any pts");
        assert_eq!(run(&prog, DEV_CHAR, 136, 7, M), 0, "pts without mknod");
        assert_eq!(run(&prog, DEV_CHAR, 1, 9, R), 1);
        assert_eq!(run(&prog, DEV_CHAR, 1, 9, R | W), 0, "urandom read-only");
        assert_eq!(
            run(&prog, DEV_CHAR, 1, 1, R),
            0,
            "/dev/mem denied by default"
        );
        assert_eq!(run(&prog, DEV_BLOCK, 8, 0, R), 0);
    }

    #[test]
    fn default_allow_with_partial_denies() {
        let prog = device_filter(&rules(
            r#"[{"allow":true,"type":"a","access":"rwm"},
                {"allow":false,"type":"c","major":1,"minor":3,"access":"w"}]"#,
        ));
        assert_eq!(run(&prog, DEV_CHAR, 1, 3, R), 1);
        assert_eq!(run(&prog, DEV_CHAR, 1, 3, R | W), 0);
        assert_eq!(
            run(&prog, DEV_BLOCK, 8, 1, R | W | M),
            1,
            "allow-all default"
        );
        let prog = device_filter(&rules(
            r#"[{"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
                {"allow":false,"access":"rwm"}]"#,
        ));
        assert_eq!(prog.len(), 8, "rules before a final reset are forgotten");
        assert_eq!(run(&prog, DEV_CHAR, 1, 3, R), 0);
    }

    #[test]
    fn program_matches_the_v1_emulator() {
        for json in [
            r#"[]"#,
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
                {"allow":true,"type":"c","major":136,"access":"rw"},{"allow":true,"type":"b","minor":1,"access":"m"}]"#,
            r#"[{"allow":true,"type":"c","major":1,"minor":3,"access":"r"},{"allow":true,"type":"c","major":1,"minor":3,"access":"w"},
                {"allow":true,"type":"c","access":"m"},{"allow":false,"type":"c","major":1,"minor":3,"access":"r"}]"#,
            r#"[{"allow":true,"access":"rwm"},{"allow":false,"type":"b","major":8,"access":"w"},
                {"allow":false,"type":"a","major":5,"access":"rm"},{"allow":true,"type":"b","major":8,"access":"w"}]"#,
            r#"[{"allow":true,"type":"a","major":1,"minor":5,"access":"rw"}]"#,
        ] {
            check_against_emulator(&rules(json));
        }
    }

    #[test]
    fn empty_rules_deny_everything() {
        let prog = device_filter(&[]);
        assert_eq!(run(&prog, DEV_CHAR, 1, 3, R), 0);
    }

    #[test]
    fn parsing_checks_fields() {
        let spec: Vec<LinuxDeviceCgroup> = serde_json::from_str(
            r#"[{"allow":true,"type":"p"},{"allow":true,"type":"u","major":-1,"access":""}]"#,
        )
        .unwrap();
        let parsed = parse_rules(&spec).unwrap();
        assert_eq!(parsed.len(), 1, "fifo rules are dropped");
        assert_eq!(parsed[0].0, 1);
        assert_eq!(parsed[0].1.v1_line(), "c *:* rwm");
        let spec: Vec<LinuxDeviceCgroup> =
            serde_json::from_str(r#"[{"allow":true,"type":"a","major":1,"access":"r"}]"#).unwrap();
        let lines: Vec<String> = parse_rules(&spec)
            .unwrap()
            .iter()
            .map(|(_, r)| r.v1_line())
            .collect();
        assert_eq!(
            lines,
            ["c 1:* r", "b 1:* r"],
            "a numbered 'a' rule is not a reset"
        );
        let bad: Vec<LinuxDeviceCgroup> =
            serde_json::from_str(r#"[{"allow":true,"access":"rx"}]"#).unwrap();
        let err = parse_rules(&bad).unwrap_err();
        assert!(
            err.to_string()
                .contains("linux.resources.devices[0].access"),
            "{err}"
        );
        let bad: Vec<LinuxDeviceCgroup> =
            serde_json::from_str(r#"[{"allow":true,"major":-7}]"#).unwrap();
        assert!(parse_rules(&bad)
            .unwrap_err()
            .to_string()
            .contains("devices[0].major"));
    }
}
