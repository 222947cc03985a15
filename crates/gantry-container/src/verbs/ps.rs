//! `ps`: the container's processes (every PID in its cgroup and below), and the filter that keeps only those
//! lines of the host's `ps` output.

use crate::error::{Error, Result};
use crate::state::StateRoot;

/// The host PIDs of the container's processes.
pub fn pids(root: &StateRoot, id: &str) -> Result<Vec<i32>> {
    let dir = root.open(id)?;
    let state = dir.read_state()?.ok_or_else(|| Error::WrongState {
        id: id.into(),
        status: "creating",
        op: "ps",
    })?;
    let mut pids = match &state.cgroup {
        Some(cg) => cg.procs()?,
        None => Vec::new(),
    };
    pids.sort_unstable();
    Ok(pids)
}

/// Keeps the header and the lines of `ps` output whose PID column holds one of `pids`. Fails when the header has
/// no `PID` column (the ps options must include it, as with runc).
pub fn filter_ps_output(output: &str, pids: &[i32]) -> Result<String> {
    let mut lines = output.lines();
    let header = lines.next().unwrap_or("");
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::Unsupported {
            field: "ps options".into(),
            reason: "the ps output has no PID column; include it (e.g. -ef or -o pid,...)".into(),
        })?;
    let mut out = String::with_capacity(output.len());
    out.push_str(header);
    out.push('\n');
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_header_and_container_lines() {
        let text = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 05:00 ? 00:00:01 init\nroot 42 1 0 05:01 ? 00:00:00 sleep 9\n";
        let out = filter_ps_output(text, &[42]).unwrap();
        assert_eq!(
            out,
            "UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 05:01 ? 00:00:00 sleep 9\n"
        );
    }

    #[test]
    fn needs_a_pid_column() {
        assert!(filter_ps_output("CMD\nx\n", &[1]).is_err());
    }
}
