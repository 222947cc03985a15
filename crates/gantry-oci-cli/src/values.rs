//! Parsers for flag values with runc's syntax: `UID[:GID]`, memory sizes (`512m`, `1.5g`, `-1`),
//! Go durations (`5s`, `1m30s`, `250ms`) and container ids.

use std::time::Duration;

/// A flag value that does not follow runc's syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?}: {expected}")]
pub struct ValueError {
    /// The value given.
    pub value: String,
    /// What was expected instead.
    pub expected: &'static str,
}

fn bad(value: &str, expected: &'static str) -> ValueError {
    ValueError {
        value: value.to_owned(),
        expected,
    }
}

/// `exec --user`: a numeric uid with an optional numeric gid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserSpec {
    /// The uid.
    pub uid: u32,
    /// The gid, when given.
    pub gid: Option<u32>,
}

/// Parses `UID[:GID]` (numbers only, as runc).
pub fn parse_user(s: &str) -> Result<UserSpec, ValueError> {
    const EXPECTED: &str = "expected UID or UID:GID with numeric ids";
    let (uid, gid) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let num = |v: &str| {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(s, EXPECTED));
        }
        v.parse::<u32>().map_err(|_| bad(s, EXPECTED))
    };
    Ok(UserSpec {
        uid: num(uid)?,
        gid: gid.map(num).transpose()?,
    })
}

/// Parses a memory size as runc's `update` does: bytes, or a number with a binary unit
/// (`k`, `m`, `g`, `t`, `p`, optionally followed by `b`/`ib`, any case, fraction allowed);
/// `-1` means unlimited.
pub fn parse_mem_bytes(s: &str) -> Result<i64, ValueError> {
    const EXPECTED: &str = "expected a size in bytes such as 268435456, 256m or 1.5g, or -1";
    if s == "-1" {
        return Ok(-1);
    }
    let t = s.strip_suffix(['b', 'B']).unwrap_or(s);
    let t = t.strip_suffix(['i', 'I']).unwrap_or(t);
    let (num, shift) = match t.as_bytes().last().map(u8::to_ascii_lowercase) {
        Some(b'k') => (&t[..t.len() - 1], 10),
        Some(b'm') => (&t[..t.len() - 1], 20),
        Some(b'g') => (&t[..t.len() - 1], 30),
        Some(b't') => (&t[..t.len() - 1], 40),
        Some(b'p') => (&t[..t.len() - 1], 50),
        _ => (t, 0),
    };
    let num = num.strip_suffix(' ').unwrap_or(num);
    let well_formed = match num.split_once('.') {
        Some((int, frac)) => all_digits(int) && all_digits(frac),
        None => all_digits(num),
    };
    if !well_formed {
        return Err(bad(s, EXPECTED));
    }
    let value: f64 = num.parse().map_err(|_| bad(s, EXPECTED))?;
    let bytes = value * (1u64 << shift) as f64;
    if !(0.0..9.2e18).contains(&bytes) {
        return Err(bad(s, EXPECTED));
    }
    Ok(bytes as i64)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a Go duration (`300ms`, `5s`, `1m30s`, `2h`, `1.5s`); it must be > 0.
pub fn parse_go_duration(s: &str) -> Result<Duration, ValueError> {
    const EXPECTED: &str = "expected a positive duration such as 5s, 500ms or 1m30s";
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad(s, EXPECTED));
    }
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| bad(s, EXPECTED))?;
        let value: f64 = rest[..end].parse().map_err(|_| bad(s, EXPECTED))?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad(s, EXPECTED)),
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    if total <= 0.0 || !total.is_finite() || total > 1e12 {
        return Err(bad(s, EXPECTED));
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users() {
        assert_eq!(
            parse_user("1000"),
            Ok(UserSpec {
                uid: 1000,
                gid: None
            })
        );
        assert_eq!(
            parse_user("0:5"),
            Ok(UserSpec {
                uid: 0,
                gid: Some(5)
            })
        );
        for s in ["", ":", "a", "1:", ":1", "1:2:3", "-1", "4294967296"] {
            assert!(parse_user(s).is_err(), "{s}");
        }
    }

    #[test]
    fn memory() {
        assert_eq!(parse_mem_bytes("1024"), Ok(1024));
        assert_eq!(parse_mem_bytes("256m"), Ok(256 << 20));
        assert_eq!(parse_mem_bytes("256M"), Ok(256 << 20));
        assert_eq!(parse_mem_bytes("1g"), Ok(1 << 30));
        assert_eq!(parse_mem_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_mem_bytes("1gb"), Ok(1 << 30));
        assert_eq!(parse_mem_bytes("1.5k"), Ok(1536));
        assert_eq!(parse_mem_bytes("-1"), Ok(-1));
        for s in ["", "m", "-2", "1x", "1.2.3m", ".5m", "1..", "1bb"] {
            assert!(parse_mem_bytes(s).is_err(), "{s}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        for s in ["", "5", "0s", "s", "5x", "-1s", "1.2.3s"] {
            assert!(parse_go_duration(s).is_err(), "{s}");
        }
    }
}
