//! What this build can do with `linux.seccomp`, for the `features` verb (runtime-spec features.md): the names
//! the runtime recognizes and the flags and architectures libseccomp and the kernel accept here.

use super::convert::{arch, json_name};
use libseccomp::{ScmpAction, ScmpFilterContext};
use oci_spec::runtime::{
    Arch, LinuxSeccompAction as Act, LinuxSeccompFilterFlag as Flag, LinuxSeccompOperator as Op,
};

/// The seccomp part of the `features` document, as `SCMP_*`/`SECCOMP_*` names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Support {
    /// Whether a filter can be built at all (libseccomp usable).
    pub enabled: bool,
    /// Every action `compile` recognizes.
    pub actions: Vec<String>,
    /// Every argument operator `compile` recognizes.
    pub operators: Vec<String>,
    /// The architectures this libseccomp can add to a filter.
    pub archs: Vec<String>,
    /// The filter flags `compile` recognizes.
    pub known_flags: Vec<String>,
    /// The filter flags that libseccomp and the kernel accept on this host.
    pub supported_flags: Vec<String>,
}

const ACTIONS: [Act; 9] = [
    Act::ScmpActKill,
    Act::ScmpActKillThread,
    Act::ScmpActKillProcess,
    Act::ScmpActTrap,
    Act::ScmpActErrno,
    Act::ScmpActNotify,
    Act::ScmpActTrace,
    Act::ScmpActLog,
    Act::ScmpActAllow,
];

const OPERATORS: [Op; 7] = [
    Op::ScmpCmpNe,
    Op::ScmpCmpLt,
    Op::ScmpCmpLe,
    Op::ScmpCmpEq,
    Op::ScmpCmpGe,
    Op::ScmpCmpGt,
    Op::ScmpCmpMaskedEq,
];

/// Every architecture of the spec (all but `SCMP_ARCH_NATIVE`).
pub(crate) const ARCHS: [Arch; 23] = [
    Arch::ScmpArchX86,
    Arch::ScmpArchX86_64,
    Arch::ScmpArchX32,
    Arch::ScmpArchArm,
    Arch::ScmpArchAarch64,
    Arch::ScmpArchMips,
    Arch::ScmpArchMips64,
    Arch::ScmpArchMips64n32,
    Arch::ScmpArchMipsel,
    Arch::ScmpArchMipsel64,
    Arch::ScmpArchMipsel64n32,
    Arch::ScmpArchPpc,
    Arch::ScmpArchPpc64,
    Arch::ScmpArchPpc64le,
    Arch::ScmpArchS390,
    Arch::ScmpArchS390x,
    Arch::ScmpArchParisc,
    Arch::ScmpArchParisc64,
    Arch::ScmpArchRiscv64,
    Arch::ScmpArchLoongarch64,
    Arch::ScmpArchM68k,
    Arch::ScmpArchSh,
    Arch::ScmpArchSheb,
];

const FLAGS: [Flag; 4] = [
    Flag::SeccompFilterFlagTsync,
    Flag::SeccompFilterFlagLog,
    Flag::SeccompFilterFlagSpecAllow,
    Flag::SeccompFilterFlagWaitKillableRecv,
];

fn names<T: serde::Serialize>(v: &[T]) -> Vec<String> {
    v.iter().map(json_name).collect()
}

/// Probes libseccomp (one throw-away filter context, no syscall into seccomp) and lists what is supported.
pub fn support() -> Support {
    let Ok(mut ctx) = ScmpFilterContext::new(ScmpAction::Allow) else {
        return Support {
            enabled: false,
            ..Support::default()
        };
    };
    let archs = ARCHS
        .iter()
        .filter(|a| {
            let token = arch(**a);
            ctx.is_arch_present(token).unwrap_or(false) || ctx.add_arch(token).is_ok()
        })
        .map(json_name)
        .collect();
    let supported_flags = FLAGS
        .iter()
        .filter(|f| match f {
            Flag::SeccompFilterFlagTsync => true,
            Flag::SeccompFilterFlagLog => ctx.set_ctl_log(true).is_ok(),
            Flag::SeccompFilterFlagSpecAllow => ctx.set_ctl_ssb(true).is_ok(),
            Flag::SeccompFilterFlagWaitKillableRecv => ctx.set_ctl_waitkill(true).is_ok(),
        })
        .map(json_name)
        .collect();
    Support {
        enabled: true,
        actions: names(&ACTIONS),
        operators: names(&OPERATORS),
        archs,
        known_flags: names(&FLAGS),
        supported_flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_lists_names_as_config_json_spells_them() {
        let s = support();
        assert!(s.enabled);
        assert_eq!(s.actions.len(), 9);
        assert!(s.actions.contains(&"SCMP_ACT_KILL_PROCESS".to_owned()));
        assert_eq!(s.operators[6], "SCMP_CMP_MASKED_EQ");
        for a in [
            "SCMP_ARCH_X86_64",
            "SCMP_ARCH_X86",
            "SCMP_ARCH_X32",
            "SCMP_ARCH_AARCH64",
        ] {
            assert!(s.archs.contains(&a.to_owned()), "{a}: {:?}", s.archs);
        }
        assert_eq!(s.known_flags.len(), 4);
        // TSYNC is always accepted (ignored); LOG and SPEC_ALLOW work on any kernel >= 4.17 with libseccomp 2.5.
        for f in [
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        ] {
            assert!(
                s.supported_flags.contains(&f.to_owned()),
                "{f}: {:?}",
                s.supported_flags
            );
        }
        // Every supported flag and arch must compile.
        for f in &s.supported_flags {
            let p = super::super::tests::profile(&format!(
                r#"{{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["{f}"]}}"#
            ));
            super::super::compile(&p).unwrap();
        }
        for a in &s.archs {
            let p = super::super::tests::profile(&format!(
                r#"{{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["{a}"]}}"#
            ));
            super::super::compile(&p).unwrap();
        }
    }
}
