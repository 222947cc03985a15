//! Read-only views of the host: cgroup hierarchies, mounts and processes, used to check
//! that a test left nothing behind.

use std::path::{Path, PathBuf};

/// One line of /proc/self/mountinfo, the fields the tests need.
#[derive(Debug, Clone)]
pub struct MountEntry {
    /// Mount point (octal escapes decoded).
    pub mount_point: String,
    /// Per-mount options (e.g. `ro,nosuid`).
    pub options: String,
    /// Optional fields (e.g. `shared:1`).
    pub optional: String,
    /// Filesystem type.
    pub fstype: String,
    /// Mount source.
    pub source: String,
    /// Per-superblock options (e.g. `size=1024k,mode=755`).
    pub super_options: String,
}

/// Decodes the `\040`-style escapes of mountinfo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let digits = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("x");
            if let Ok(v) = u8::from_str_radix(digits, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo text (of the host or read from inside a container).
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            if f.len() < 6 || r.len() < 3 {
                return None;
            }
            Some(MountEntry {
                mount_point: unescape(f[4]),
                options: f[5].to_string(),
                optional: f[6..].join(" "),
                fstype: r[0].to_string(),
                source: unescape(r[1]),
                super_options: r[2].to_string(),
            })
        })
        .collect()
}

/// The host's mounts (this process's mount namespace).
pub fn host_mounts() -> Vec<MountEntry> {
    parse_mountinfo(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
}

/// Mount points at or below `prefix` on the host.
pub fn mounts_under(prefix: &Path) -> Vec<PathBuf> {
    let p = prefix.to_string_lossy().to_string();
    host_mounts()
        .into_iter()
        .filter(|m| m.mount_point == p || m.mount_point.starts_with(&format!("{p}/")))
        .map(|m| PathBuf::from(m.mount_point))
        .collect()
}

/// Mount points of every cgroup hierarchy (v1 controllers and the unified cgroup2 mount).
pub fn cgroup_mounts() -> Vec<PathBuf> {
    host_mounts()
        .into_iter()
        .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
        .map(|m| PathBuf::from(m.mount_point))
        .collect()
}

/// Existing directories for the absolute `cgroups_path` in every hierarchy.
pub fn cgroup_dirs(cgroups_path: &str) -> Vec<PathBuf> {
    let rel = cgroups_path.trim_start_matches('/');
    cgroup_mounts()
        .into_iter()
        .map(|m| m.join(rel))
        .filter(|d| d.is_dir())
        .collect()
}

/// PIDs of processes whose /proc/PID/cgroup names `cgroups_path` (or a child of it).
pub fn pids_in_cgroup(cgroups_path: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(e.path().join("cgroup")) else {
            continue;
        };
        let hit = text.lines().any(|l| {
            let path = l.splitn(3, ':').nth(2).unwrap_or("");
            path == cgroups_path || path.starts_with(&format!("{cgroups_path}/"))
        });
        if hit {
            pids.push(pid);
        }
    }
    pids
}

/// True while a process with this PID exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s.rsplit_once(") ").and_then(|(_, r)| r.chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// Command line of a process (NULs turned into spaces), empty if it is gone.
pub fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// Sends `sig` to `pid`; errors (e.g. already gone) are ignored.
pub fn kill_pid(pid: i32, sig: rustix::process::Signal) {
    if pid > 1 {
        if let Some(p) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(p, sig);
        }
    }
}

/// Polls `f` until it returns true or `timeout` passes; returns the last result.
pub fn wait_until(timeout: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(2);
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_lines_with_escapes_and_optional_fields() {
        let text = "36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n\
                    37 35 0:5 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n\
                    garbage line\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].mount_point, "/mnt/with space");
        assert_eq!(m[0].optional, "master:1 shared:2");
        assert_eq!(m[0].fstype, "ext3");
        assert_eq!(m[0].super_options, "rw,errors=continue");
        assert_eq!(m[1].mount_point, "/dev");
        assert_eq!(m[1].optional, "");
        assert_eq!(m[1].options, "rw,nosuid");
    }
}
