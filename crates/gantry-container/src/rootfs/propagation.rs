//! Mount propagation of the container's root (`linux.rootfsPropagation`), done as runc does: the flag (by default
//! `rslave`) is applied to `/` of the new mount namespace *before* the rootfs is bind-mounted, so that with
//! `shared`/`rshared` the container's mounts stay peers of the host's (a bind mount with `rshared` propagation,
//! CRI's "Bidirectional", then shows the container's mounts on the host); after pivot_root it is applied again to
//! the new `/`.

use crate::process::fail::{invalid, Context, StepResult};

/// The default: host mount events flow in, never out.
pub const DEFAULT: u64 = libc::MS_SLAVE | libc::MS_REC;

/// The `MS_*` flags of a `linux.rootfsPropagation` value.
pub fn flag(value: &str) -> StepResult<u64> {
    Ok(match value {
        "shared" => libc::MS_SHARED,
        "rshared" => libc::MS_SHARED | libc::MS_REC,
        "slave" => libc::MS_SLAVE,
        "rslave" => libc::MS_SLAVE | libc::MS_REC,
        "private" => libc::MS_PRIVATE,
        "rprivate" => libc::MS_PRIVATE | libc::MS_REC,
        "unbindable" => libc::MS_UNBINDABLE,
        "runbindable" => libc::MS_UNBINDABLE | libc::MS_REC,
        other => {
            return Err(invalid(format!(
                "linux.rootfsPropagation: unknown value {other:?} (use one of shared, rshared, slave, rslave, \
                 private, rprivate, unbindable, runbindable)"
            )))
        }
    })
}

/// The propagation `spec` asks for `/` (`linux.rootfsPropagation`, by default [`DEFAULT`]).
pub fn of_root(spec: &oci_spec::runtime::Spec) -> StepResult<u64> {
    match spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
    {
        Some(p) => flag(p),
        None => Ok(DEFAULT),
    }
}

/// Whether, after `/` got `flag`, mounts below it may still propagate to the host (so the rootfs bind mount must
/// be kept from doing so, and the old root made a slave before it is detached).
pub fn may_propagate_out(flag: u64) -> bool {
    let recursive = flag & libc::MS_REC != 0;
    !(recursive && flag & (libc::MS_SLAVE | libc::MS_PRIVATE) != 0)
}

/// Sets `/`'s propagation in the container's new mount namespace before the rootfs is bind-mounted; where mounts
/// may still propagate out, makes the mount holding `rootfs` private (in this namespace only), so the rootfs bind
/// mount does not appear on the host and pivot_root accepts it.
pub fn prepare_root(flag: u64, rootfs: &std::path::Path) -> StepResult {
    gantry_sys::mount::mount(None, "/", None, flag, None)
        .ctx(|| "make / a recursive slave mount (or linux.rootfsPropagation)".into())?;
    if !may_propagate_out(flag) {
        return Ok(());
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .ctx(|| "read /proc/self/mountinfo".into())?;
    let real =
        std::fs::canonicalize(rootfs).ctx(|| format!("resolve rootfs {}", rootfs.display()))?;
    let Some((mount_point, shared)) = parent_mount(&mountinfo, &real) else {
        return Ok(());
    };
    if shared {
        gantry_sys::mount::mount(None, &mount_point, None, libc::MS_PRIVATE, None)
            .ctx(|| format!("make {mount_point}, which holds the rootfs, private"))?;
    }
    Ok(())
}

/// The mount point holding `path` (the last mounted, deepest one) and whether it is shared.
fn parent_mount(mountinfo: &str, path: &std::path::Path) -> Option<(String, bool)> {
    let mut best: Option<(String, bool)> = None;
    for line in mountinfo.lines() {
        let mut fields = line.split(' ');
        let Some(mount_point) = fields.nth(4).map(unescape) else {
            continue;
        };
        let optional: Vec<&str> = fields.skip(1).take_while(|f| *f != "-").collect();
        if !path.starts_with(&mount_point) {
            continue;
        }
        let deeper = best
            .as_ref()
            .is_none_or(|(b, _)| mount_point.len() >= b.len());
        if deeper {
            let shared = optional.iter().any(|f| f.starts_with("shared:"));
            best = Some((mount_point, shared));
        }
    }
    best
}

/// Decodes mountinfo's octal escapes (`\040` for a space, ...).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:40 / /var/lib rw,relatime shared:7 - xfs /dev/sdb rw
31 22 0:41 / /tmp/a\\040b rw,relatime - tmpfs tmpfs rw
";

    #[test]
    fn finds_the_deepest_mount_holding_the_path() {
        let p = |s: &str| parent_mount(MOUNTINFO, std::path::Path::new(s));
        assert_eq!(p("/var/lib/x/rootfs"), Some(("/var/lib".into(), true)));
        assert_eq!(p("/var/library"), Some(("/".into(), true)));
        assert_eq!(p("/tmp/a b/rootfs"), Some(("/tmp/a b".into(), false)));
    }

    #[test]
    fn only_recursive_slave_or_private_keeps_mounts_in() {
        assert!(!may_propagate_out(DEFAULT));
        assert!(!may_propagate_out(libc::MS_PRIVATE | libc::MS_REC));
        assert!(may_propagate_out(libc::MS_SHARED | libc::MS_REC));
        assert!(may_propagate_out(libc::MS_SLAVE));
    }

    #[test]
    fn unknown_values_are_refused_by_name() {
        assert_eq!(flag("rshared").unwrap(), libc::MS_SHARED | libc::MS_REC);
        assert!(flag("bogus").is_err());
    }
}
