//! What a pod can leave on the host after containerd removed it: shims, mounts, cgroups, network namespaces and
//! runtime state. Each check returns a description of every leftover it finds (empty: nothing left).

use gantry_tests::host;
use std::path::Path;

/// containerd-shim processes started by the containerd listening on `socket` (their command line names it with
/// `-address`), as `PID CMDLINE`.
pub fn shims_of(socket: &Path) -> Vec<String> {
    let sock = socket.to_string_lossy().to_string();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return vec!["cannot read /proc".to_string()];
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| host::pid_alive(pid))
        .filter_map(|pid| {
            let cmd = host::cmdline(pid);
            let words: Vec<&str> = cmd.split(' ').collect();
            let ours = cmd.contains("containerd-shim")
                && words.windows(2).any(|w| w[0] == "-address" && w[1] == sock);
            ours.then(|| format!("shim {pid}: {cmd}"))
        })
        .collect()
}

/// Mount points at or below `dir` (rootfs overlays, shm, netns bind mounts under containerd's state).
pub fn mounts_under(dir: &Path) -> Vec<String> {
    host::mounts_under(dir)
        .into_iter()
        .map(|m| format!("mount {}", m.display()))
        .collect()
}

/// Cgroup directories below the absolute `parent` in any hierarchy (the parent itself may exist).
pub fn cgroups_below(parent: &str) -> Vec<String> {
    let mut left = Vec::new();
    for dir in host::cgroup_dirs(parent) {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    left.push(format!("cgroup {}", e.path().display()));
                }
            }
        }
    }
    left
}

/// A network namespace path that is still a mount point (containerd bind-mounts the pod's netns there).
pub fn netns_left(path: &Path) -> Vec<String> {
    if path.as_os_str().is_empty() {
        return Vec::new();
    }
    let p = path.to_string_lossy().to_string();
    host::host_mounts()
        .into_iter()
        .filter(|m| m.mount_point == p)
        .map(|m| format!("netns {} ({})", m.mount_point, m.fstype))
        .collect()
}

/// Entries in a runtime's `--root` (one directory per container it still knows).
pub fn runtime_state_in(root: &Path) -> Vec<String> {
    match std::fs::read_dir(root) {
        Ok(rd) => rd
            .flatten()
            .map(|e| format!("runtime state {}", e.path().display()))
            .collect(),
        Err(_) => Vec::new(),
    }
}
