//! Parsing of `/proc/self/mountinfo` for cgroup mounts only (pure; see proc(5)).

use crate::error::CgroupError;
use std::path::PathBuf;

/// One cgroup filesystem mount found in mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CgroupMount {
    /// A cgroup v1 hierarchy with its controllers (named hierarchies appear as `name=<name>`).
    V1 {
        mount_point: PathBuf,
        controllers: Vec<String>,
    },
    /// The cgroup2 (unified) hierarchy.
    V2 { mount_point: PathBuf },
}

/// Super options of a v1 cgroup mount that are not controllers.
const NON_CONTROLLER_OPTIONS: &[&str] = &[
    "rw",
    "ro",
    "clone_children",
    "noprefix",
    "xattr",
    "cpuset_v2_mode",
    "favordynmods",
    "all",
    "none",
];

/// Returns every cgroup mount of `text`, in mountinfo order.
pub(crate) fn cgroup_mounts(text: &str) -> Result<Vec<CgroupMount>, CgroupError> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let line_no = index + 1;
        // Fields: id parent maj:min root mount_point options [optional...] - fstype source super_options
        let (left, right) = line.split_once(" - ").ok_or(CgroupError::MountInfo {
            line: line_no,
            reason: "missing ' - ' separator",
        })?;
        let mut right = right.split(' ');
        let fstype = right.next().unwrap_or_default();
        let mount_point = left.split(' ').nth(4).ok_or(CgroupError::MountInfo {
            line: line_no,
            reason: "fewer than 5 fields before ' - '",
        })?;
        let mount_point = PathBuf::from(unescape(mount_point));
        // A later mount on the same mount point hides an earlier cgroup mount (e.g. a tmpfs over the hybrid
        // host's /sys/fs/cgroup/unified): only the top one counts.
        out.retain(|m: &CgroupMount| m.mount_point() != mount_point.as_path());
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let _source = right.next();
        let super_options = right.next().unwrap_or_default();
        if fstype == "cgroup2" {
            out.push(CgroupMount::V2 { mount_point });
            continue;
        }
        let controllers: Vec<String> = super_options
            .split(',')
            .filter(|o| {
                !o.is_empty()
                    && !NON_CONTROLLER_OPTIONS.contains(o)
                    && !o.starts_with("release_agent=")
            })
            .map(str::to_owned)
            .collect();
        if controllers.is_empty() {
            continue;
        }
        out.push(CgroupMount::V1 {
            mount_point,
            controllers,
        });
    }
    Ok(out)
}

impl CgroupMount {
    fn mount_point(&self) -> &std::path::Path {
        match self {
            CgroupMount::V1 { mount_point, .. } | CgroupMount::V2 { mount_point } => mount_point,
        }
    }
}

/// Decodes the octal escapes (`\040` for space, ...) mountinfo uses in paths.
fn unescape(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_owned();
    }
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 4 <= bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            if let Ok(byte) = u8::try_from(value) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hybrid_host() {
        let text = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n\
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd\n\
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";
        let mounts = cgroup_mounts(text).unwrap();
        assert_eq!(
            mounts,
            vec![
                CgroupMount::V1 {
                    mount_point: "/sys/fs/cgroup/cpu".into(),
                    controllers: vec!["cpu".into()]
                },
                CgroupMount::V1 {
                    mount_point: "/sys/fs/cgroup/systemd".into(),
                    controllers: vec!["name=systemd".into()]
                },
                CgroupMount::V2 {
                    mount_point: "/sys/fs/cgroup/unified".into()
                },
            ]
        );
    }

    #[test]
    fn comounted_controllers_and_escapes() {
        let text = "1 2 0:3 / /cg\\040x rw - cgroup cgroup rw,cpu,cpuacct\n";
        assert_eq!(
            cgroup_mounts(text).unwrap(),
            vec![CgroupMount::V1 {
                mount_point: "/cg x".into(),
                controllers: vec!["cpu".into(), "cpuacct".into()]
            }]
        );
    }

    #[test]
    fn overmounted_cgroup_mount_is_hidden() {
        let text = "30 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n\
                    31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
                    90 30 0:50 / /sys/fs/cgroup/unified rw - tmpfs lifecycle rw,size=65536k\n";
        let mounts = cgroup_mounts(text).unwrap();
        assert_eq!(mounts.len(), 1);
        assert!(matches!(&mounts[0], CgroupMount::V1 { .. }));
    }

    #[test]
    fn rejects_malformed_line() {
        assert!(matches!(
            cgroup_mounts("garbage\n"),
            Err(CgroupError::MountInfo { line: 1, .. })
        ));
    }
}
