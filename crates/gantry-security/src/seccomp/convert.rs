//! One-to-one conversions from the OCI seccomp vocabulary to libseccomp's, with runc's defaults.

use crate::SecurityError;
use libseccomp::{ScmpAction, ScmpArch, ScmpCompareOp};
use oci_spec::runtime::{Arch, LinuxSeccompAction as Act, LinuxSeccompOperator as Op};

/// The errno of `SCMP_ACT_ERRNO` (and the message of `SCMP_ACT_TRACE`) when the spec gives none: EPERM, as runc.
pub const DEFAULT_ERRNO_RET: u32 = 1;

/// The spelling of a spec enum value as it appears in `config.json` (only used in error messages).
pub(crate) fn json_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// The libseccomp action for `act`, with `errno_ret` from `field_errno` (the `errnoRet` or `defaultErrnoRet`
/// field).
///
/// `SCMP_ACT_KILL` is the old name of `SCMP_ACT_KILL_THREAD`. The runtime spec says a runtime MUST fail when an
/// errno is given for an action that returns none, so that is an error naming the field.
pub(crate) fn action(
    act: Act,
    errno_ret: Option<u32>,
    field_errno: impl Fn() -> String,
) -> Result<ScmpAction, SecurityError> {
    let ret = |max: u32| -> Result<u32, SecurityError> {
        let v = errno_ret.unwrap_or(DEFAULT_ERRNO_RET);
        if v > max {
            return Err(SecurityError::BadErrnoRet {
                field: field_errno(),
                reason: format!("{v} is out of range (at most {max})"),
            });
        }
        Ok(v)
    };
    let no_ret = |a: ScmpAction| -> Result<ScmpAction, SecurityError> {
        match errno_ret {
            None => Ok(a),
            Some(v) => Err(SecurityError::BadErrnoRet {
                field: field_errno(),
                reason: format!(
                    "{v} given, but {} returns no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one); \
                     remove it",
                    json_name(&act)
                ),
            }),
        }
    };
    Ok(match act {
        // The errno lands in SECCOMP_RET_DATA; the kernel caps it at MAX_ERRNO (4095).
        Act::ScmpActErrno => ScmpAction::Errno(ret(4095)? as i32),
        Act::ScmpActTrace => ScmpAction::Trace(ret(u32::from(u16::MAX))? as u16),
        Act::ScmpActKill | Act::ScmpActKillThread => no_ret(ScmpAction::KillThread)?,
        Act::ScmpActKillProcess => no_ret(ScmpAction::KillProcess)?,
        Act::ScmpActTrap => no_ret(ScmpAction::Trap)?,
        Act::ScmpActNotify => no_ret(ScmpAction::Notify)?,
        Act::ScmpActLog => no_ret(ScmpAction::Log)?,
        Act::ScmpActAllow => no_ret(ScmpAction::Allow)?,
    })
}

/// The libseccomp architecture token for a spec architecture.
pub(crate) fn arch(a: Arch) -> ScmpArch {
    match a {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

/// The libseccomp comparison for a spec operator. For `SCMP_CMP_MASKED_EQ` the spec's `value` is the mask and
/// `valueTwo` the value the masked argument must equal (as runc and libseccomp read them); returns the datum to
/// compare with.
pub(crate) fn compare(op: Op, value: u64, value_two: Option<u64>) -> (ScmpCompareOp, u64) {
    match op {
        Op::ScmpCmpNe => (ScmpCompareOp::NotEqual, value),
        Op::ScmpCmpLt => (ScmpCompareOp::Less, value),
        Op::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, value),
        Op::ScmpCmpEq => (ScmpCompareOp::Equal, value),
        Op::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, value),
        Op::ScmpCmpGt => (ScmpCompareOp::Greater, value),
        Op::ScmpCmpMaskedEq => (ScmpCompareOp::MaskedEqual(value), value_two.unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_defaults_to_eperm_and_is_refused_where_meaningless() {
        let f = || "linux.seccomp.syscalls[0].errnoRet".to_owned();
        assert_eq!(
            action(Act::ScmpActErrno, None, f).unwrap(),
            ScmpAction::Errno(1)
        );
        assert_eq!(
            action(Act::ScmpActErrno, Some(18), f).unwrap(),
            ScmpAction::Errno(18)
        );
        assert_eq!(
            action(Act::ScmpActTrace, None, f).unwrap(),
            ScmpAction::Trace(1)
        );
        assert_eq!(
            action(Act::ScmpActKill, None, f).unwrap(),
            ScmpAction::KillThread
        );
        let e = action(Act::ScmpActAllow, Some(1), f)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("linux.seccomp.syscalls[0].errnoRet: 1 given, but SCMP_ACT_ALLOW"),
            "{e}"
        );
        let e = action(Act::ScmpActErrno, Some(70000), f)
            .unwrap_err()
            .to_string();
        assert!(e.contains("70000 is out of range"), "{e}");
    }

    #[test]
    fn masked_eq_takes_mask_from_value() {
        assert_eq!(
            compare(Op::ScmpCmpMaskedEq, 0xff, Some(0x12)),
            (ScmpCompareOp::MaskedEqual(0xff), 0x12)
        );
        assert_eq!(
            compare(Op::ScmpCmpGt, 5, Some(9)),
            (ScmpCompareOp::Greater, 5)
        );
    }

    #[test]
    fn arch_names_round_trip() {
        assert_eq!(json_name(&Arch::ScmpArchX86_64), "SCMP_ARCH_X86_64");
        assert_eq!(arch(Arch::ScmpArchX86_64), ScmpArch::X8664);
    }
}
