//! The ENOSYS prologue: syscalls newer than anything the profile names fail with ENOSYS, not the default action.
//!
//! A profile written before a syscall existed denies it with its default action, typically EPERM. Programs and
//! libcs probe new syscalls (clone3, fchmodat2, ...) and fall back only on ENOSYS, so EPERM breaks them inside
//! the container. runc therefore patches the filter: per architecture, a syscall numbered above the highest
//! number the profile mentions returns ENOSYS. This module builds that prologue (own code, same rule) and puts
//! it in front of libseccomp's program; no jump of the original program changes, since they are all relative
//! and forward.
//!
//! Not handled (yet): s390/s390x, where unknown syscalls arrive as the multiplexer `setup` (0) and runc adds a
//! rule for it; a profile spanning so many architectures that a conditional jump would exceed 255 instructions
//! (refused with an error rather than mis-jumping).

use super::convert::arch as scmp_arch;
use super::features::ARCHS;
use crate::SecurityError;
use libseccomp::{ScmpAction, ScmpArch, ScmpSyscall};
use oci_spec::runtime::{Arch, LinuxSeccomp};

/// `AUDIT_ARCH_X86_64`: x86_64 and x32 share it; x32 syscall numbers carry [`X32_SYSCALL_BIT`].
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// The bit that marks an x32 syscall number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// `SECCOMP_RET_ERRNO | ENOSYS`.
const RET_ENOSYS: u32 = 0x0005_0000 | 38;

// Classic BPF opcodes used by the prologue.
const LD_W_ABS: u16 = 0x20;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
/// `offsetof(struct seccomp_data, nr)` and `arch`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;

/// One `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

impl Insn {
    const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.code.to_ne_bytes());
        out.push(self.jt);
        out.push(self.jf);
        out.extend_from_slice(&self.k.to_ne_bytes());
    }
}

/// The highest syscall number the profile names, per kernel architecture (x32 separately).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct LastSyscalls {
    /// `(AUDIT_ARCH_*, last number)` for every architecture but x86_64/x32.
    plain: Vec<(u32, u32)>,
    /// Last x86_64 number, when x86_64 is in the filter.
    x86_64: Option<u32>,
    /// Last x32 number (with [`X32_SYSCALL_BIT`]), when x32 is in the filter.
    x32: Option<u32>,
}

/// The kernel audit token of a spec architecture (x32 reports as x86_64).
fn audit_arch(a: Arch) -> u32 {
    match a {
        Arch::ScmpArchX32 => AUDIT_ARCH_X86_64,
        // The spec's values are libseccomp's tokens, which are the kernel's AUDIT_ARCH_* for real architectures.
        other => other as u32,
    }
}

/// The spec architecture libseccomp runs natively here.
fn native_arch() -> Option<Arch> {
    let native = ScmpArch::native();
    ARCHS.iter().copied().find(|a| scmp_arch(*a) == native)
}

impl LastSyscalls {
    /// Collects, for the native architecture and every one the profile adds, the highest number among the
    /// profile's syscall names that this libseccomp knows for that architecture.
    pub(crate) fn of(s: &LinuxSeccomp) -> LastSyscalls {
        let mut arches: Vec<Arch> = native_arch().into_iter().collect();
        for a in s.architectures().as_deref().unwrap_or(&[]) {
            let a = if *a == Arch::ScmpArchNative {
                native_arch()
            } else {
                Some(*a)
            };
            if let Some(a) = a.filter(|a| !arches.contains(a)) {
                arches.push(a);
            }
        }
        let mut last = LastSyscalls::default();
        for a in arches {
            let token = scmp_arch(a);
            let max = s
                .syscalls()
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .flat_map(|c| c.names())
                .filter_map(|n| ScmpSyscall::from_name_by_arch(n, token).ok())
                .map(ScmpSyscall::as_raw_syscall)
                // Negative numbers are libseccomp's pseudo-syscalls for calls this arch does not have.
                .filter_map(|nr| u32::try_from(nr).ok())
                .max();
            let Some(max) = max else { continue };
            match a {
                Arch::ScmpArchX86_64 => last.x86_64 = Some(max),
                Arch::ScmpArchX32 => last.x32 = Some(max | X32_SYSCALL_BIT),
                other => last.plain.push((audit_arch(other), max)),
            }
        }
        last
    }

    /// The prologue: per architecture, `nr > last` → ENOSYS; anything else falls through to the filter.
    fn prologue(&self) -> Result<Vec<Insn>, SecurityError> {
        // Built back to front: every jump target is counted from the end of the prologue, whose last two
        // instructions are `ja +1` (fall through to the filter) and `ret ENOSYS`.
        let mut tail: Vec<Insn> = vec![
            Insn::new(JMP_JA, 0, 0, 1),
            Insn::new(RET_K, 0, 0, RET_ENOSYS),
        ];
        let mut sections: Vec<(u32, Vec<Insn>)> = Vec::new();
        for &(audit, max) in &self.plain {
            sections.push((audit, vec![Insn::new(JMP_JGT_K, 0, 0, max)]));
        }
        if self.x86_64.is_some() || self.x32.is_some() {
            // jset X32 bit → x32 check, else x86_64 check; a missing ABI never gets ENOSYS.
            let x86 = self.x86_64.unwrap_or(u32::MAX);
            let x32 = self.x32.unwrap_or(u32::MAX);
            sections.push((
                AUDIT_ARCH_X86_64,
                vec![
                    Insn::new(JMP_JSET_K, 1, 0, X32_SYSCALL_BIT),
                    Insn::new(JMP_JGT_K, 0, 1, x86), // true: to ENOSYS (patched below); false: skip the x32 test
                    Insn::new(JMP_JGT_K, 0, 0, x32),
                ],
            ));
        }
        for (audit, checks) in sections.into_iter().rev() {
            // Layout of one section: ld arch; jeq audit ? next-insn : next-section; ld nr; checks...; ja filter.
            // `tail` holds everything after this section; ENOSYS is at tail.len()-1 from the start of tail.
            let mut section = Vec::with_capacity(checks.len() + 4);
            section.push(Insn::new(LD_W_ABS, 0, 0, OFF_ARCH));
            let body_len = checks.len() + 2; // ld nr + checks + ja
            section.push(Insn::new(JMP_JEQ_K, 0, jump(body_len)?, audit));
            section.push(Insn::new(LD_W_ABS, 0, 0, OFF_NR));
            let n = checks.len();
            for (i, mut c) in checks.into_iter().enumerate() {
                if c.code == JMP_JGT_K {
                    // Distance from the instruction after this one to `ret ENOSYS`: the remaining checks, the
                    // section's `ja`, then tail up to its last instruction.
                    c.jt = jump((n - i - 1) + 1 + (tail.len() - 1))?;
                }
                section.push(c);
            }
            // Nothing matched: jump over the rest of the prologue, straight to the filter.
            section.push(Insn::new(
                JMP_JA,
                0,
                0,
                u32::try_from(tail.len()).unwrap_or(u32::MAX),
            ));
            section.append(&mut tail);
            tail = section;
        }
        Ok(tail)
    }

    /// `bpf` with the prologue in front (unchanged when no architecture has a known syscall).
    pub(crate) fn patch(&self, bpf: Vec<u8>) -> Result<Vec<u8>, SecurityError> {
        if self.plain.is_empty() && self.x86_64.is_none() && self.x32.is_none() {
            return Ok(bpf);
        }
        let prologue = self.prologue()?;
        let mut out = Vec::with_capacity(prologue.len() * 8 + bpf.len());
        for insn in prologue {
            insn.write(&mut out);
        }
        out.extend_from_slice(&bpf);
        Ok(out)
    }
}

/// A conditional jump offset (cBPF has 8 bits for them).
fn jump(n: usize) -> Result<u8, SecurityError> {
    u8::try_from(n).map_err(|_| SecurityError::ProgramTooLarge { instructions: n })
}

/// Whether the ENOSYS prologue applies: not when the default action already lets unknown syscalls through
/// (allow, log, trace), as in runc.
pub(crate) fn wanted(default: ScmpAction) -> bool {
    !matches!(
        default,
        ScmpAction::Allow | ScmpAction::Log | ScmpAction::Trace(_)
    )
}
