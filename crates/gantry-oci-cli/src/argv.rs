//! runc parses flags with Go's `flag` package, which also takes long flags with one dash
//! (`runc -root /x list`). Clap does not, so known long names written with one dash are
//! rewritten to two before parsing. Short flags are single letters, so no word is ambiguous.
//! Rewriting stops at the container id's verb arguments (`--`, or `exec`/`ps` trailing commands
//! are never touched because they follow a non-flag word that is not a flag value).

use std::ffi::OsString;

/// Every long flag name of the CLI (global and per verb).
const LONG_FLAGS: &[&str] = &[
    "root",
    "log",
    "log-format",
    "debug",
    "rootless",
    "systemd-cgroup",
    "criu",
    "version",
    "help",
    "bundle",
    "console-socket",
    "pid-file",
    "no-pivot",
    "no-new-keyring",
    "preserve-fds",
    "detach",
    "keep",
    "no-subreaper",
    "all",
    "force",
    "format",
    "quiet",
    "process",
    "tty",
    "cwd",
    "env",
    "user",
    "additional-gids",
    "cap",
    "no-new-privs",
    "apparmor",
    "process-label",
    "cgroup",
    "ignore-paused",
    "resources",
    "blkio-weight",
    "cpu-period",
    "cpu-quota",
    "cpu-share",
    "cpu-rt-period",
    "cpu-rt-runtime",
    "cpuset-cpus",
    "cpuset-mems",
    "kernel-memory",
    "kernel-memory-tcp",
    "memory",
    "memory-reservation",
    "memory-swap",
    "pids-limit",
    "l3-cache-schema",
    "mem-bw-schema",
    "stats",
    "interval",
    "image-path",
    "work-path",
    "parent-path",
    "leave-running",
    "tcp-established",
    "ext-unix-sk",
    "shell-job",
    "lazy-pages",
    "status-fd",
    "page-server",
    "file-locks",
    "pre-dump",
    "manage-cgroups-mode",
    "empty-ns",
    "auto-dedup",
    "lsm-profile",
    "lsm-mount-context",
];

/// Verbs after whose container id everything is passed through untouched.
const PASS_THROUGH_VERBS: &[&str] = &["exec", "ps"];

/// Rewrites `-name[=v]` to `--name[=v]` for known long flag names, up to the first `--` or, for
/// `exec`/`ps`, up to the container id. Allocates only for rewritten words.
pub fn normalize_single_dash<I>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = OsString>,
{
    let mut out = Vec::new();
    let mut verb: Option<String> = None;
    let mut positionals_after_verb = 0usize;
    let mut frozen = false;
    for (i, arg) in args.into_iter().enumerate() {
        if i == 0 || frozen {
            out.push(arg);
            continue;
        }
        let Some(s) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if s == "--" {
            frozen = true;
            out.push(arg);
            continue;
        }
        if let Some(name) = s.strip_prefix('-').filter(|n| !n.starts_with('-')) {
            let key = name.split_once('=').map_or(name, |(k, _)| k);
            if key.len() > 1 && LONG_FLAGS.contains(&key) {
                out.push(OsString::from(format!("-{s}")));
                continue;
            }
        } else if !s.starts_with('-') && !is_flag_value(&out, verb.as_deref()) {
            match &verb {
                None => verb = Some(s.to_owned()),
                Some(v) => {
                    positionals_after_verb += 1;
                    if PASS_THROUGH_VERBS.contains(&v.as_str()) && positionals_after_verb == 1 {
                        frozen = true;
                    }
                }
            }
        }
        out.push(arg);
    }
    out
}

/// Whether the previous word is a flag that takes a separate value (so this word is its value).
fn is_flag_value(out: &[OsString], verb: Option<&str>) -> bool {
    let Some(prev) = out.last().and_then(|p| p.to_str()) else {
        return false;
    };
    if prev.contains('=') || !prev.starts_with('-') {
        return false;
    }
    match prev.trim_start_matches('-') {
        // global --rootless takes true|false|auto; spec's --rootless is a switch
        "rootless" => verb.is_none(),
        // delete -f is --force; list/ps -f is --format VALUE
        "f" => verb != Some("delete"),
        name => !BOOL_FLAGS.contains(&name),
    }
}

/// Flags that take no value (long and short names).
const BOOL_FLAGS: &[&str] = &[
    "debug",
    "systemd-cgroup",
    "version",
    "v",
    "help",
    "h",
    "no-pivot",
    "no-new-keyring",
    "detach",
    "d",
    "keep",
    "no-subreaper",
    "all",
    "a",
    "force",
    "quiet",
    "q",
    "tty",
    "t",
    "no-new-privs",
    "ignore-paused",
    "stats",
    "leave-running",
    "tcp-established",
    "ext-unix-sk",
    "shell-job",
    "lazy-pages",
    "file-locks",
    "pre-dump",
    "auto-dedup",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_single_dash(args.iter().map(OsString::from))
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn rewrites_go_style_long_flags() {
        assert_eq!(
            norm(&[
                "r",
                "-root",
                "/x",
                "-log-format=json",
                "kill",
                "-a",
                "id",
                "9"
            ]),
            [
                "r",
                "--root",
                "/x",
                "--log-format=json",
                "kill",
                "-a",
                "id",
                "9"
            ]
        );
    }

    #[test]
    fn leaves_exec_command_alone() {
        assert_eq!(
            norm(&["r", "exec", "-tty", "id", "sh", "-cwd", "-env"]),
            ["r", "exec", "--tty", "id", "sh", "-cwd", "-env"]
        );
        assert_eq!(
            norm(&["r", "exec", "-cwd", "/tmp", "id", "ls", "-all"]),
            ["r", "exec", "--cwd", "/tmp", "id", "ls", "-all"]
        );
        assert_eq!(
            norm(&["r", "ps", "id", "-format"]),
            ["r", "ps", "id", "-format"]
        );
        assert_eq!(
            norm(&["r", "-rootless", "true", "exec", "id", "ls", "-all"]),
            ["r", "--rootless", "true", "exec", "id", "ls", "-all"]
        );
        assert_eq!(
            norm(&["r", "ps", "-f", "json", "id", "-ef"]),
            ["r", "ps", "-f", "json", "id", "-ef"]
        );
    }
}
