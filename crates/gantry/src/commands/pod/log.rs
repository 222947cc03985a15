//! Per-app log files of a detached pod. The supervisor reads each app's stdout and stderr from pipes and
//! appends lines in the CRI log format (`<RFC 3339 time> <stdout|stderr> <F|P> <text>`; `P` marks a piece of a
//! line longer than the buffer), so `gantry logs --since` can filter by time. A file that grows past
//! [`MAX_LOG_BYTES`] is renamed to `<app>.log.1` (replacing the previous one) and a new file is started: at
//! most twice the limit per app stays on disk.

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Size at which an app's log is rotated (`GANTRY_LOG_MAX_BYTES` overrides it, for tests and small disks).
pub const MAX_LOG_BYTES: u64 = 10 << 20;

/// Longest piece written as one record; longer lines are split into `P` pieces.
const MAX_LINE: usize = 16 << 10;

/// The rotation size in effect.
pub fn max_log_bytes() -> u64 {
    std::env::var("GANTRY_LOG_MAX_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(MAX_LOG_BYTES)
}

/// An app's log file, appended to by its stdout and stderr pipes.
pub struct LogFile {
    path: PathBuf,
    file: File,
    size: u64,
    limit: u64,
}

impl LogFile {
    /// Opens (appending) `path`.
    pub fn open(path: &Path, limit: u64) -> anyhow::Result<LogFile> {
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening the log {}", path.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogFile {
            path: path.to_owned(),
            file,
            size,
            limit,
        })
    }

    /// Appends one record; rotates first when the file is full.
    fn record(&mut self, stream: &str, partial: bool, text: &[u8]) -> anyhow::Result<()> {
        if self.size >= self.limit {
            self.rotate()?;
        }
        let ts = gantry_container::time::rfc3339(std::time::SystemTime::now());
        let mut line = Vec::with_capacity(text.len() + 48);
        line.extend_from_slice(ts.as_bytes());
        line.push(b' ');
        line.extend_from_slice(stream.as_bytes());
        line.extend_from_slice(if partial { b" P " } else { b" F " });
        line.extend_from_slice(text);
        line.push(b'\n');
        self.file
            .write_all(&line)
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.size += line.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> anyhow::Result<()> {
        let old = self.path.with_extension("log.1");
        std::fs::rename(&self.path, &old)
            .with_context(|| format!("rotating {}", self.path.display()))?;
        *self = LogFile::open(&self.path, self.limit)?;
        Ok(())
    }
}

/// One pipe of an app (its stdout or its stderr) and the unfinished line read from it.
pub struct LogPipe {
    /// The read end (non-blocking, close-on-exec).
    pub fd: OwnedFd,
    /// `stdout` or `stderr`.
    pub stream: &'static str,
    pending: Vec<u8>,
}

impl LogPipe {
    /// Wraps a pipe's read end.
    pub fn new(fd: OwnedFd, stream: &'static str) -> LogPipe {
        LogPipe {
            fd,
            stream,
            pending: Vec::new(),
        }
    }

    /// Reads what is available into `log`; returns false at end of file (every writer closed), after writing
    /// the unfinished line.
    pub fn drain(&mut self, log: &mut LogFile) -> anyhow::Result<bool> {
        let mut buf = [0u8; 8192];
        loop {
            match rustix::io::read(&self.fd, &mut buf) {
                Ok(0) => {
                    if !self.pending.is_empty() {
                        log.record(self.stream, false, &std::mem::take(&mut self.pending))?;
                    }
                    return Ok(false);
                }
                Ok(n) => self.push(&buf[..n], log)?,
                Err(rustix::io::Errno::AGAIN) => return Ok(true),
                // A pty master reads EIO once the app's side is closed: that is its end of file.
                Err(rustix::io::Errno::IO) => {
                    if !self.pending.is_empty() {
                        log.record(self.stream, false, &std::mem::take(&mut self.pending))?;
                    }
                    return Ok(false);
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e).context("reading an app's output"),
            }
        }
    }

    fn push(&mut self, data: &[u8], log: &mut LogFile) -> anyhow::Result<()> {
        self.pending.extend_from_slice(data);
        while let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=i).collect();
            // A terminal ends lines with CR LF: the log keeps the text only.
            let text = &line[..line.len() - 1];
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            log.record(self.stream, false, text)?;
        }
        while self.pending.len() >= MAX_LINE {
            let piece: Vec<u8> = self.pending.drain(..MAX_LINE).collect();
            log.record(self.stream, true, &piece)?;
        }
        Ok(())
    }
}

/// One record of a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// RFC 3339 time.
    pub time: &'a str,
    /// `stdout` or `stderr`.
    pub stream: &'a str,
    /// A piece of a longer line (no newline after it).
    pub partial: bool,
    /// The text.
    pub text: &'a str,
}

/// Parses one record (`None` for a malformed line).
pub fn parse_line(line: &str) -> Option<Entry<'_>> {
    let mut it = line.splitn(4, ' ');
    let time = it.next()?;
    let stream = it.next()?;
    let tag = it.next()?;
    let text = it.next().unwrap_or("");
    Some(Entry {
        time,
        stream,
        partial: tag == "P",
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_recorded_and_rotated() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("a.log");
        let mut log = LogFile::open(&path, 200).unwrap();
        let (r, w) = rustix::pipe::pipe_with(
            rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
        )
        .unwrap();
        let mut p = LogPipe::new(r, "stdout");
        rustix::io::write(&w, b"one\ntw").unwrap();
        assert!(p.drain(&mut log).unwrap());
        rustix::io::write(&w, b"o\n").unwrap();
        assert!(p.drain(&mut log).unwrap());
        let s = std::fs::read_to_string(&path).unwrap();
        let e: Vec<_> = s.lines().filter_map(parse_line).collect();
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].text, e[1].text, e[1].stream),
            ("one", "two", "stdout")
        );
        for _ in 0..10 {
            rustix::io::write(&w, b"0123456789012345678901234567890123456789\n").unwrap();
            p.drain(&mut log).unwrap();
        }
        rustix::io::write(&w, b"last").unwrap();
        drop(w);
        assert!(!p.drain(&mut log).unwrap());
        assert!(d.path().join("a.log.1").exists());
        let s = std::fs::read_to_string(&path).unwrap();
        assert!(s.len() < 400 && s.ends_with(" stdout F last\n"), "{s}");
    }
}
