//! Lifecycle hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"): each hook is executed with the
//! container state on stdin, its own `env` only, and an optional `timeout` in seconds.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{Error, Result};

/// Runs `hooks` (the list named `kind`) in order; the first failure stops the list and is returned.
pub fn run_all(kind: &'static str, hooks: &[Hook], state_json: &[u8]) -> Result<()> {
    for (index, hook) in hooks.iter().enumerate() {
        run_one(hook, state_json).map_err(|reason| Error::Hook {
            kind,
            index,
            path: hook.path().display().to_string(),
            reason,
        })?;
    }
    Ok(())
}

/// Runs every hook of the list, logging (not returning) failures: for `poststart` and `poststop`, whose failures
/// the spec says must not stop the lifecycle.
pub fn run_all_warn(kind: &'static str, hooks: &[Hook], state_json: &[u8]) {
    for (index, hook) in hooks.iter().enumerate() {
        if let Err(reason) = run_one(hook, state_json) {
            let e = Error::Hook {
                kind,
                index,
                path: hook.path().display().to_string(),
                reason,
            };
            tracing::warn!("{e}");
            eprintln!("warning: {e}");
        }
    }
}

fn run_one(hook: &Hook, state_json: &[u8]) -> std::result::Result<(), String> {
    let mut cmd = Command::new(hook.path());
    if let Some(args) = hook.args() {
        if let Some((arg0, rest)) = args.split_first() {
            cmd.arg0(arg0).args(rest);
        }
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        match kv.split_once('=') {
            Some((k, v)) => cmd.env(k, v),
            None => cmd.env(kv, ""),
        };
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot execute: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook may exit without reading its stdin: EPIPE is not a failure of the hook.
        let _ = stdin.write_all(state_json);
    }
    let status = match hook.timeout() {
        Some(t) if t > 0 => {
            let deadline = Instant::now() + Duration::from_secs(t as u64);
            loop {
                if let Some(s) = child.try_wait().map_err(|e| format!("wait: {e}"))? {
                    break s;
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("timed out after {t}s (timeout) and was killed"));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        _ => child.wait().map_err(|e| format!("wait: {e}"))?,
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    let stderr = stderr.trim();
    Err(format!(
        "{status}{}{stderr}",
        if stderr.is_empty() { "" } else { ": " }
    ))
}
