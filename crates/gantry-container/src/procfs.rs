//! Reading process facts from `/proc` (host side): liveness and start time, to tell a container's init from a
//! process that reused its PID.

use std::io;

/// What `/proc/<pid>/stat` says about a process that matters to the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// The state letter (`R`, `S`, `Z`, ...).
    pub state: u8,
    /// Start time in clock ticks after boot (field 22): with the PID it identifies a process uniquely.
    pub start_time: u64,
}

impl ProcStat {
    /// Whether the process has exited (zombie or dead).
    pub fn is_dead(&self) -> bool {
        matches!(self.state, b'Z' | b'X' | b'x')
    }
}

/// Reads `/proc/<pid>/stat`; `Ok(None)` when there is no such process.
pub fn stat(pid: i32) -> io::Result<Option<ProcStat>> {
    let mut buf = [0u8; 1024];
    let path = format!("/proc/{pid}/stat");
    let fd = match rustix::fs::open(
        path.as_str(),
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::SRCH) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let n = match rustix::io::read(&fd, &mut buf) {
        Ok(n) => n,
        Err(rustix::io::Errno::SRCH) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    parse_stat(&buf[..n])
        .map(Some)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("{path}: unparsable")))
}

/// Parses the text of `/proc/<pid>/stat` (the command name may contain spaces and parentheses).
pub fn parse_stat(text: &[u8]) -> Option<ProcStat> {
    let close = text.iter().rposition(|&b| b == b')')?;
    let mut fields = text[close + 1..]
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty());
    let state = *fields.next()?.first()?;
    // After the state (field 3), start time is field 22: skip fields 4..=21.
    let start = fields.nth(18)?;
    let start_time = std::str::from_utf8(start).ok()?.trim().parse().ok()?;
    Some(ProcStat { state, start_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_with_spaces_and_parens() {
        let line = b"4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.state, b'S');
        assert_eq!(s.start_time, 987654);
        assert!(!s.is_dead());
    }

    #[test]
    fn reads_own_stat() {
        let me = stat(std::process::id() as i32).unwrap().unwrap();
        assert!(me.start_time > 0);
        assert!(stat(i32::MAX).unwrap().is_none());
    }

    #[test]
    fn refuses_garbage() {
        assert!(parse_stat(b"nonsense").is_none());
        assert!(parse_stat(b"1 (x) S 1").is_none());
    }
}
