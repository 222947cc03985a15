//! `/proc/self/exe` protection (CVE-2019-5736) that costs one `statfs` when the binary is already installed on a
//! read-only mount, and otherwise one re-exec: the binary is re-executed through a detached, read-only bind mount
//! of itself (`open_tree` + `mount_setattr` + `execveat`), so a container that reaches our executable through
//! `/proc/<pid>/exe` can only find a read-only file. No copy of the binary is ever made.

use std::os::fd::AsFd;

use rustix::mount::OpenTreeFlags;

/// Ensures the running executable cannot be opened for writing through `/proc/self/exe`; may re-exec.
pub fn ensure_sealed() -> anyhow::Result<()> {
    let st = rustix::fs::statvfs("/proc/self/exe")?;
    if st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY) {
        return Ok(());
    }
    let tree = match rustix::mount::open_tree(
        rustix::fs::CWD,
        "/proc/self/exe",
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    ) {
        Ok(t) => t,
        // Unprivileged (rootless): cannot make mounts; the binary is not writable by the container's users either.
        Err(rustix::io::Errno::PERM) => return Ok(()),
        Err(e) => {
            return Err(anyhow::anyhow!(
                "seal the runtime binary: open_tree /proc/self/exe: {e}"
            ))
        }
    };
    gantry_sys::mount::mount_setattr(
        tree.as_fd(),
        false,
        gantry_sys::mount::MOUNT_ATTR_RDONLY,
        0,
        0,
    )
    .map_err(|e| anyhow::anyhow!("seal the runtime binary: make the bind read-only: {e}"))?;
    let args: Vec<String> = std::env::args().collect();
    let env: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    let argv = gantry_sys::exec::CStringArray::new(&args).map_err(anyhow::Error::msg)?;
    let envp = gantry_sys::exec::CStringArray::new(&env).map_err(anyhow::Error::msg)?;
    let err = gantry_sys::exec::execveat_fd(tree.as_fd(), &argv, &envp);
    Err(anyhow::anyhow!("seal the runtime binary: re-exec: {err}"))
}
