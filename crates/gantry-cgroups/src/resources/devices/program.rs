//! Device rules and the eBPF program that enforces them on cgroup v2 (pure; unit-tested with a small interpreter).
//!
//! Semantics, shared with the v1 path: access starts **denied**; rules are applied in order, so the last rule that
//! matches a request decides it. An allow rule matches a request whose access it covers entirely; a deny rule
//! matches a request that asks for any of its access bits (the kernel's v1 semantics for exceptions).

use crate::error::CgroupError;
use crate::resources::target::invalid;
use gantry_sys::bpf::Insn;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// Read access (`r`), as in `bpf_cgroup_dev_ctx.access_type >> 16`.
pub const ACCESS_READ: u8 = 2;
/// Write access (`w`).
pub const ACCESS_WRITE: u8 = 4;
/// mknod access (`m`).
pub const ACCESS_MKNOD: u8 = 1;
const ACCESS_ALL: u8 = ACCESS_READ | ACCESS_WRITE | ACCESS_MKNOD;

/// Device kinds a rule can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// Every kind (`a`).
    All,
    /// Character devices (`c`, or `u`).
    Char,
    /// Block devices (`b`).
    Block,
}

/// One checked entry of `linux.resources.devices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    /// Allow (true) or deny (false).
    pub allow: bool,
    /// Which kind of device.
    pub kind: DeviceKind,
    /// Major number, `None` for any.
    pub major: Option<u32>,
    /// Minor number, `None` for any.
    pub minor: Option<u32>,
    /// Access bits ([`ACCESS_READ`] | [`ACCESS_WRITE`] | [`ACCESS_MKNOD`]), never empty.
    pub access: u8,
}

impl DeviceRule {
    /// Checks entry `index` of `linux.resources.devices`. FIFO rules (`p`) are not managed by the device
    /// controller and yield `None`; an empty access means `rwm`; major/minor `-1` or absent mean "any".
    pub fn from_spec(
        rule: &LinuxDeviceCgroup,
        index: usize,
    ) -> Result<Option<DeviceRule>, CgroupError> {
        let kind = match rule.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => DeviceKind::All,
            LinuxDeviceType::C | LinuxDeviceType::U => DeviceKind::Char,
            LinuxDeviceType::B => DeviceKind::Block,
            LinuxDeviceType::P => return Ok(None),
        };
        let number = |value: Option<i64>, name: &str| -> Result<Option<u32>, CgroupError> {
            match value {
                None | Some(-1) => Ok(None),
                // Device numbers fit easily in 31 bits (12-bit major, 20-bit minor); the program compares them as
                // sign-extended 32-bit immediates.
                Some(v) => i32::try_from(v)
                    .ok()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| {
                        invalid(
                            &format!("linux.resources.devices[{index}].{name}"),
                            format!("{v} is neither -1 nor a device number"),
                        )
                    }),
            }
        };
        let mut access = 0;
        for c in rule.access().as_deref().unwrap_or("rwm").bytes() {
            access |= match c {
                b'r' => ACCESS_READ,
                b'w' => ACCESS_WRITE,
                b'm' => ACCESS_MKNOD,
                _ => {
                    return Err(invalid(
                        &format!("linux.resources.devices[{index}].access"),
                        format!(
                            "{:?} may only contain r, w and m",
                            rule.access().as_deref().unwrap_or_default()
                        ),
                    ))
                }
            };
        }
        Ok(Some(DeviceRule {
            allow: rule.allow(),
            kind,
            major: number(rule.major(), "major")?,
            minor: number(rule.minor(), "minor")?,
            access: if access == 0 { ACCESS_ALL } else { access },
        }))
    }

    /// Whether this rule matches every request (`a *:* rwm`).
    pub fn matches_everything(&self) -> bool {
        self.kind == DeviceKind::All
            && self.major.is_none()
            && self.minor.is_none()
            && self.access == ACCESS_ALL
    }

    /// The rule in the syntax of v1 `devices.allow`/`devices.deny`, e.g. `c 1:3 rwm`.
    pub fn v1_line(&self) -> String {
        let kind = match self.kind {
            DeviceKind::All => 'a',
            DeviceKind::Char => 'c',
            DeviceKind::Block => 'b',
        };
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        let mut access = String::with_capacity(3);
        for (bit, c) in [(ACCESS_READ, 'r'), (ACCESS_WRITE, 'w'), (ACCESS_MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        format!("{kind} {}:{} {access}", num(self.major), num(self.minor))
    }
}

/// Checks every entry of `linux.resources.devices`, dropping FIFO rules.
pub(crate) fn parse_rules(rules: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>, CgroupError> {
    let mut out = Vec::with_capacity(rules.len());
    for (index, rule) in rules.iter().enumerate() {
        out.extend(DeviceRule::from_spec(rule, index)?);
    }
    Ok(out)
}

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

/// The `BPF_PROG_TYPE_CGROUP_DEVICE` program enforcing `rules` (see the module docs for the semantics).
///
/// Registers after the prologue: r2 = device type, r3 = requested access, r4 = major, r5 = minor. Rules are
/// emitted last first; each is a block of checks that jump past the block on mismatch, then returns its verdict.
/// Rules before the last `a *:* rwm` rule can never decide and are not emitted.
pub fn device_filter(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut prog = vec![
        Insn::new(LDX_MEM_W, 2, 1, 0, 0),
        Insn::new(ALU32_AND_K, 2, 0, 0, 0xffff),
        Insn::new(LDX_MEM_W, 3, 1, 0, 0),
        Insn::new(ALU32_RSH_K, 3, 0, 0, 16),
        Insn::new(LDX_MEM_W, 4, 1, 4, 0),
        Insn::new(LDX_MEM_W, 5, 1, 8, 0),
    ];
    let mut default_allow = false;
    let mut block = Vec::with_capacity(8);
    for rule in rules.iter().rev() {
        if rule.matches_everything() {
            default_allow = rule.allow;
            break;
        }
        block.clear();
        // Jumps are emitted with off = -1 and patched to "past the end of this block" below.
        match rule.kind {
            DeviceKind::All => {}
            DeviceKind::Char => block.push(Insn::new(JMP_JNE_K, 2, 0, -1, DEV_CHAR)),
            DeviceKind::Block => block.push(Insn::new(JMP_JNE_K, 2, 0, -1, DEV_BLOCK)),
        }
        if rule.allow && rule.access != ACCESS_ALL {
            // Skip unless every requested bit is allowed: (access & ~allowed) != 0 → skip.
            block.push(Insn::new(ALU64_MOV_X, 1, 3, 0, 0));
            block.push(Insn::new(
                ALU32_AND_K,
                1,
                0,
                0,
                i32::from(!rule.access & ACCESS_ALL),
            ));
            block.push(Insn::new(JMP_JNE_K, 1, 0, -1, 0));
        } else if !rule.allow && rule.access != ACCESS_ALL {
            // Skip unless some requested bit is denied: (access & denied) == 0 → skip.
            block.push(Insn::new(ALU64_MOV_X, 1, 3, 0, 0));
            block.push(Insn::new(ALU32_AND_K, 1, 0, 0, i32::from(rule.access)));
            block.push(Insn::new(JMP_JEQ_K, 1, 0, -1, 0));
        }
        if let Some(major) = rule.major {
            block.push(Insn::new(JMP_JNE_K, 4, 0, -1, major as i32));
        }
        if let Some(minor) = rule.minor {
            block.push(Insn::new(JMP_JNE_K, 5, 0, -1, minor as i32));
        }
        block.push(Insn::new(ALU64_MOV_K, 0, 0, 0, i32::from(rule.allow)));
        block.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, insn) in block.iter_mut().enumerate() {
            if insn.off == -1 && (insn.code == JMP_JNE_K || insn.code == JMP_JEQ_K) {
                insn.off = (len - i - 1) as i16;
            }
        }
        prog.extend_from_slice(&block);
    }
    prog.push(Insn::new(ALU64_MOV_K, 0, 0, 0, i32::from(default_allow)));
    prog.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
    prog
}

#[cfg(test)]
mod tests {
    use super::*;

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
        parse_rules(&spec).unwrap()
    }

    const R: u8 = ACCESS_READ;
    const W: u8 = ACCESS_WRITE;
    const M: u8 = ACCESS_MKNOD;

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
    fn later_rules_win_and_partial_denies_bite() {
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
        assert_eq!(prog.len(), 8, "rules before a final deny-all are dropped");
        assert_eq!(run(&prog, DEV_CHAR, 1, 3, R), 0);
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
        assert_eq!(parsed[0].v1_line(), "c *:* rwm");
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
