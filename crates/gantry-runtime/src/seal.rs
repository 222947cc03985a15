//! Which verbs need the `/proc/self/exe` protection (CVE-2019-5736) of [`gantry_sys::exe::seal`]: those that start
//! processes in a container. The seal costs one `statfs` when the binary is installed on a read-only mount, else
//! the running image is remapped from a detached read-only bind of itself (a re-exec through the bind where the
//! kernel refuses that); either way a container that reaches our executable through `/proc/<pid>/exe` can only find
//! a read-only file, and no copy is ever made.
//!
//! `main` seals first, before parsing the command line: everything done before a fallback re-exec is done twice.

use std::ffi::OsStr;

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
