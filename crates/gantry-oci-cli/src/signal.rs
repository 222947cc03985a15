//! Signal names and numbers as `kill` accepts them: `9`, `KILL`, `SIGKILL`, `sigkill`,
//! `RTMIN+3`. Numbers are this architecture's (from libc), as runc uses the host's table.

/// A signal argument that is neither a known name nor a number in 0..=64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signal {0:?}: give a number (1-64) or a name such as TERM, SIGKILL or RTMIN+1")]
pub struct SignalError(pub String);

/// The highest signal number on Linux (`_NSIG - 1`).
pub const SIGMAX: i32 = 64;

/// First real-time signal as user space sees it (glibc reserves 32 and 33, musl 32-34).
#[cfg(target_env = "musl")]
const SIGRTMIN: i32 = 35;
#[cfg(not(target_env = "musl"))]
const SIGRTMIN: i32 = 34;

const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// Parses a signal the way `runc kill` does: a decimal number, or a name with or without the
/// `SIG` prefix in any case. Also takes `RTMIN`, `RTMIN+n`, `RTMAX`, `RTMAX-n`.
pub fn parse_signal(raw: &str) -> Result<i32, SignalError> {
    let err = || SignalError(raw.to_owned());
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        return match raw.parse::<i32>() {
            Ok(n) if n <= SIGMAX => Ok(n),
            _ => Err(err()),
        };
    }
    let upper = raw.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = NAMES.iter().find(|(k, _)| *k == name) {
        return Ok(n);
    }
    let offset = |s: &str| -> Result<i32, SignalError> {
        if s.is_empty() {
            return Ok(0);
        }
        s.parse::<u8>().map(i32::from).map_err(|_| err())
    };
    let n = if let Some(rest) = name.strip_prefix("RTMIN") {
        SIGRTMIN
            + offset(
                rest.strip_prefix('+')
                    .unwrap_or(if rest.is_empty() { "" } else { "x" }),
            )?
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        SIGMAX
            - offset(
                rest.strip_prefix('-')
                    .unwrap_or(if rest.is_empty() { "" } else { "x" }),
            )?
    } else {
        return Err(err());
    };
    if (SIGRTMIN..=SIGMAX).contains(&n) {
        Ok(n)
    } else {
        Err(err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        for s in ["9", "KILL", "SIGKILL", "sigkill", "kill", "SigKill"] {
            assert_eq!(parse_signal(s), Ok(9), "{s}");
        }
        assert_eq!(parse_signal("TERM"), Ok(15));
        assert_eq!(parse_signal("SIGHUP"), Ok(1));
        assert_eq!(parse_signal("0"), Ok(0));
        assert_eq!(parse_signal("64"), Ok(64));
        assert_eq!(parse_signal("SIGRTMIN"), Ok(SIGRTMIN));
        assert_eq!(parse_signal("RTMIN+2"), Ok(SIGRTMIN + 2));
        assert_eq!(parse_signal("RTMAX-1"), Ok(63));
    }

    #[test]
    fn rejects_junk() {
        for s in [
            "",
            "65",
            "-9",
            "SIG",
            "SIGFOO",
            "RTMIN+40",
            "RTMINx",
            "RTMAX+1",
            "9x",
            "99999999999",
        ] {
            assert!(parse_signal(s).is_err(), "{s}");
        }
        assert!(parse_signal("FOO")
            .unwrap_err()
            .to_string()
            .contains("\"FOO\""));
    }
}
