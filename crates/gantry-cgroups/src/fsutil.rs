//! Small, allocation-light helpers for reading and writing cgroupfs files.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::Path;

/// Writes `value` to an existing file with a single `write(2)` (cgroupfs files take one value per write). The file
/// is never created; `O_TRUNC` is what the kernel expects from `echo >` and keeps fake trees in tests exact.
pub(crate) fn write(path: &Path, value: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).truncate(true).open(path)?;
    let written = file.write(value)?;
    if written != value.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "short write to a cgroup file",
        ));
    }
    Ok(())
}

/// Reads a whole (small) file into `buf`, replacing its contents: `open`, `read` until EOF, `close` — without the
/// `statx`/`lseek` pair `std::fs::read_to_string` spends on sizing a buffer for a file that reports size 4096 anyway.
pub(crate) fn read_into(path: &Path, buf: &mut String) -> io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    read_open(&mut file, buf)
}

/// Reads `file` from its current offset to EOF into `buf`, replacing its contents.
pub(crate) fn read_open(file: &mut std::fs::File, buf: &mut String) -> io::Result<()> {
    let mut chunk = [0u8; 4096];
    let mut bytes = std::mem::take(buf).into_bytes();
    bytes.clear();
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    *buf = String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))?;
    Ok(())
}

/// Reads a whole (small) file.
pub(crate) fn read(path: &Path) -> io::Result<String> {
    let mut buf = String::new();
    read_into(path, &mut buf)?;
    Ok(buf)
}

/// Formats an integer into a stack buffer without allocating.
pub(crate) struct IntBuf {
    buf: [u8; 24],
    start: usize,
}

impl IntBuf {
    /// Formats `value` in decimal.
    pub(crate) fn new(value: i64) -> IntBuf {
        let mut buf = [0u8; 24];
        let mut pos = buf.len();
        let negative = value < 0;
        let mut rest = value.unsigned_abs();
        loop {
            pos -= 1;
            buf[pos] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if negative {
            pos -= 1;
            buf[pos] = b'-';
        }
        IntBuf { buf, start: pos }
    }

    /// The formatted digits.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// Parses the single number of a file like `pids.current`; `max` reads as `None`.
pub(crate) fn parse_limit(text: &str) -> Option<Option<u64>> {
    let text = text.trim();
    if text == "max" {
        return Some(None);
    }
    text.parse().ok().map(Some)
}

/// The value of `key` in a flat-keyed file such as `memory.events` or `cpu.stat` (`key value` per line).
pub(crate) fn keyed_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        if k == key {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_into_replaces_the_buffer() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, "new\n").unwrap();
        let mut buf = String::from("old contents");
        read_into(&file, &mut buf).unwrap();
        assert_eq!(buf, "new\n");
    }

    #[test]
    fn formats_integers() {
        for v in [0i64, 7, -1, 1234567890, i64::MIN, i64::MAX] {
            assert_eq!(IntBuf::new(v).as_bytes(), v.to_string().as_bytes());
        }
    }

    #[test]
    fn parses_keyed_files_and_limits() {
        assert_eq!(
            keyed_value("low 0\noom 2\noom_kill 3\n", "oom_kill"),
            Some(3)
        );
        assert_eq!(keyed_value("oom 2\n", "oom_kill"), None);
        assert_eq!(parse_limit("max\n"), Some(None));
        assert_eq!(parse_limit("42\n"), Some(Some(42)));
        assert_eq!(parse_limit("x"), None);
    }
}
