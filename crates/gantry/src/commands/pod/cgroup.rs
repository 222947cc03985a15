//! The pod's cgroup `/gantry/<pod>` in every hierarchy (v1 controllers, the unified mount, or a pure v2
//! root). Each app's cgroup below it is created and removed by the runtime library; the pod's own directory is
//! removed here once the apps' are gone.

use std::path::Path;

/// Where cgroup hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Removes `/gantry/<pod_id>` (and any app directory left inside, which must be empty: a cgroup with
/// processes cannot be removed) in every hierarchy; returns the directories that could not be removed.
pub fn remove_pod_cgroups(pod_id: &str) -> Vec<String> {
    let mut left = Vec::new();
    let mut roots = vec![Path::new(CGROUP_ROOT).to_path_buf()];
    if let Ok(rd) = std::fs::read_dir(CGROUP_ROOT) {
        roots.extend(rd.flatten().map(|e| e.path()));
    }
    for r in roots {
        let pod = r.join("gantry").join(pod_id);
        if !pod.is_dir() {
            continue;
        }
        if let Ok(rd) = std::fs::read_dir(&pod) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    let _ = remove_with_retry(&e.path());
                }
            }
        }
        if let Err(e) = remove_with_retry(&pod) {
            if e.kind() != std::io::ErrorKind::NotFound {
                left.push(format!("{}: {e}", pod.display()));
            }
        }
    }
    left
}

/// `rmdir`, retried for up to a second while the kernel still counts exiting tasks (EBUSY).
fn remove_with_retry(p: &Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::remove_dir(p) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            r => return r,
        }
    }
}

/// Whether any hierarchy still has `/gantry/<pod_id>`.
pub fn pod_cgroup_exists(pod_id: &str) -> bool {
    std::fs::read_dir(CGROUP_ROOT)
        .map(|rd| {
            rd.flatten()
                .any(|e| e.path().join("gantry").join(pod_id).exists())
        })
        .unwrap_or(false)
        || Path::new(CGROUP_ROOT).join("gantry").join(pod_id).exists()
}
