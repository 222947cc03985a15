//! `/proc/self/exe` protection (CVE-2019-5736) that costs one `statfs` when the binary is already installed on a
//! read-only mount, and otherwise one re-exec: the binary is re-executed through a detached, read-only bind mount
//! of itself (`open_tree` + `mount_setattr` + `execveat`), so a container that reaches our executable through
//! `/proc/<pid>/exe` can only find a read-only file. No copy of the binary is ever made.
//!
//! `main` calls it first, before parsing the command line: everything done before a re-exec is done twice.

use std::ffi::OsStr;
use std::os::fd::AsFd;

use rustix::mount::OpenTreeFlags;

/// Whether the command line `args` (without argv\[0\]) runs a verb that starts processes in a container (`create`,
/// `run`, `exec`), which must run sealed. A cheap look at the first word that is neither a flag nor a global flag's
/// value; the real parse comes later, so a malformed line at worst seals a command that did not need it.
pub fn needed_for<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> bool {
    // The global flags that take a separate value (`--root DIR`, Go style `-root DIR` too).
    const WITH_VALUE: &[&str] = &["root", "log", "log-format", "rootless", "criu"];
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(arg) = arg.as_ref().to_str() else {
            return false;
        };
        match arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) {
            Some(flag) => {
                if WITH_VALUE.contains(&flag) {
                    args.next();
                }
            }
            None => return matches!(arg, "create" | "run" | "exec"),
        }
    }
    false
}

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

#[cfg(test)]
mod tests {
    use super::needed_for;

    #[test]
    fn verbs_that_start_container_processes_need_the_seal() {
        assert!(needed_for(["create", "-b", "/b", "x"]));
        assert!(needed_for(["--root", "/run/x", "run", "x"]));
        assert!(needed_for([
            "-root", "/run/x", "--log=/l", "--debug", "exec", "x", "true"
        ]));
        assert!(needed_for([
            "--log-format",
            "json",
            "--systemd-cgroup",
            "run",
            "x"
        ]));
    }

    #[test]
    fn other_verbs_and_flag_values_do_not() {
        assert!(!needed_for(["state", "run"]));
        assert!(!needed_for(["--root", "run", "state", "x"]));
        assert!(!needed_for(["--log", "exec", "list"]));
        assert!(!needed_for(["--version"]));
        assert!(!needed_for::<[&str; 0], &str>([]));
    }
}
