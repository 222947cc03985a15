//! `linux.personality` (config-linux.md "Personality"): the execution domain and flags given to `personality(2)`
//! by the init before exec.

use gantry_sys::sched as s;
use oci_spec::runtime::{LinuxPersonality, LinuxPersonalityDomain};

/// The `personality(2)` argument for `p`; unknown flag names are refused with the field that names them.
pub fn persona(p: &LinuxPersonality) -> Result<u64, String> {
    let mut v = match p.domain() {
        LinuxPersonalityDomain::PerLinux => s::PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => s::PER_LINUX32,
    };
    for (i, f) in p.flags().iter().flatten().enumerate() {
        v |= flag(f).ok_or_else(|| {
            format!(
                "linux.personality.flags[{i}]: unknown flag {f:?} (known: ADDR_NO_RANDOMIZE, ADDR_COMPAT_LAYOUT, \
                 READ_IMPLIES_EXEC, ADDR_LIMIT_32BIT, ADDR_LIMIT_3GB, SHORT_INODE, WHOLE_SECONDS, \
                 STICKY_TIMEOUTS, MMAP_PAGE_ZERO, UNAME26, FDPIC_FUNCPTRS)"
            )
        })?;
    }
    Ok(v)
}

fn flag(name: &str) -> Option<u64> {
    Some(match name {
        "ADDR_NO_RANDOMIZE" => s::ADDR_NO_RANDOMIZE,
        "ADDR_COMPAT_LAYOUT" => s::ADDR_COMPAT_LAYOUT,
        "READ_IMPLIES_EXEC" => s::READ_IMPLIES_EXEC,
        "ADDR_LIMIT_32BIT" => s::ADDR_LIMIT_32BIT,
        "ADDR_LIMIT_3GB" => s::ADDR_LIMIT_3GB,
        "SHORT_INODE" => s::SHORT_INODE,
        "WHOLE_SECONDS" => s::WHOLE_SECONDS,
        "STICKY_TIMEOUTS" => s::STICKY_TIMEOUTS,
        "MMAP_PAGE_ZERO" => s::MMAP_PAGE_ZERO,
        "UNAME26" => s::UNAME26,
        "FDPIC_FUNCPTRS" => s::FDPIC_FUNCPTRS,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> LinuxPersonality {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn domains_and_flags() {
        assert_eq!(persona(&parse(r#"{"domain": "LINUX"}"#)).unwrap(), 0);
        assert_eq!(persona(&parse(r#"{"domain": "LINUX32"}"#)).unwrap(), 8);
        assert_eq!(
            persona(&parse(
                r#"{"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]}"#
            ))
            .unwrap(),
            0x0004_0008
        );
    }

    #[test]
    fn unknown_flags_name_the_field() {
        let e = persona(&parse(r#"{"domain": "LINUX", "flags": ["X"]}"#)).unwrap_err();
        assert!(
            e.starts_with("linux.personality.flags[0]: unknown flag \"X\""),
            "{e}"
        );
    }
}
