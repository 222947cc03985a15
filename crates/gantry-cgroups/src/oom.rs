//! OOM notifications: v1 `memory.oom_control` through `cgroup.event_control` and an eventfd, v2 `memory.events`.

use crate::cgroup::{Cgroup, Version};
use crate::error::CgroupError;
use crate::fsutil::{self, keyed_value};
use rustix::event::{eventfd, poll, EventfdFlags, PollFd, PollFlags, Timespec};
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

/// What an [`OomNotifier`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OomEvent {
    /// The OOM killer acted in the cgroup (v2: `count` is the cgroup's total `oom_kill` so far; v1: the number of
    /// notifications since the last one read).
    Oom {
        /// See above.
        count: u64,
    },
    /// The cgroup was removed; no further events will come.
    CgroupRemoved,
}

enum Source {
    V1 {
        eventfd: OwnedFd,
        _oom_control: File,
    },
    V2 {
        events: File,
        seen: u64,
    },
}

/// A source of OOM events for one cgroup, usable blocking ([`OomNotifier::wait`]) or from a poll loop
/// ([`OomNotifier::poll_fd`] + [`OomNotifier::check`]).
pub struct OomNotifier {
    source: Source,
    dir: PathBuf,
}

impl Cgroup {
    /// Starts watching the cgroup's memory controller for OOM kills.
    pub fn oom_notifier(&self) -> Result<OomNotifier, CgroupError> {
        let target = self.target("memory", "memory", "OOM notifications")?;
        let dir = target.dir.to_owned();
        let source = match target.version {
            Version::V1 => {
                let control_path = dir.join("memory.oom_control");
                let control = File::open(&control_path)
                    .map_err(|e| CgroupError::io("open", &control_path, e))?;
                let eventfd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
                    .map_err(|e| CgroupError::io("eventfd for", &control_path, e.into()))?;
                let line = format!("{} {}", eventfd.as_raw_fd(), control.as_raw_fd());
                let register = dir.join("cgroup.event_control");
                fsutil::write(&register, line.as_bytes())
                    .map_err(|e| CgroupError::io("write", &register, e))?;
                Source::V1 {
                    eventfd,
                    _oom_control: control,
                }
            }
            Version::V2 => {
                let path = dir.join("memory.events");
                let mut events =
                    File::open(&path).map_err(|e| CgroupError::io("open", &path, e))?;
                let seen =
                    read_oom_kills(&mut events).map_err(|e| CgroupError::io("read", &path, e))?;
                Source::V2 { events, seen }
            }
        };
        Ok(OomNotifier { source, dir })
    }
}

fn read_oom_kills(events: &mut File) -> io::Result<u64> {
    let mut text = String::new();
    events.seek(SeekFrom::Start(0))?;
    fsutil::read_open(events, &mut text)?;
    Ok(keyed_value(&text, "oom_kill").unwrap_or(0))
}

impl OomNotifier {
    /// The descriptor to poll and the readiness to wait for (`POLLIN` on v1, `POLLPRI` on v2).
    pub fn poll_fd(&self) -> (BorrowedFd<'_>, PollFlags) {
        match &self.source {
            Source::V1 { eventfd, .. } => (eventfd.as_fd(), PollFlags::IN),
            Source::V2 { events, .. } => (events.as_fd(), PollFlags::PRI),
        }
    }

    /// Reports an event if one happened since the last call; never blocks.
    pub fn check(&mut self) -> Result<Option<OomEvent>, CgroupError> {
        match &mut self.source {
            Source::V1 { eventfd, .. } => {
                let mut count = [0u8; 8];
                match rustix::io::read(&*eventfd, &mut count) {
                    Ok(_) => {}
                    Err(rustix::io::Errno::AGAIN) => return Ok(None),
                    Err(e) => return Err(CgroupError::io("read eventfd for", &self.dir, e.into())),
                }
                // The eventfd also fires when the cgroup goes away.
                if !self.dir.join("memory.oom_control").exists() {
                    return Ok(Some(OomEvent::CgroupRemoved));
                }
                Ok(Some(OomEvent::Oom {
                    count: u64::from_ne_bytes(count),
                }))
            }
            Source::V2 { events, seen } => match read_oom_kills(events) {
                Ok(count) if count > *seen => {
                    *seen = count;
                    Ok(Some(OomEvent::Oom { count }))
                }
                Ok(_) if !self.dir.exists() => Ok(Some(OomEvent::CgroupRemoved)),
                Ok(_) => Ok(None),
                Err(e) if matches!(e.raw_os_error(), Some(code) if code == rustix::io::Errno::NODEV.raw_os_error()) => {
                    Ok(Some(OomEvent::CgroupRemoved))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(OomEvent::CgroupRemoved)),
                Err(e) => Err(CgroupError::io("read", self.dir.join("memory.events"), e)),
            },
        }
    }

    /// Blocks until the next OOM kill or the removal of the cgroup.
    pub fn wait(&mut self) -> Result<OomEvent, CgroupError> {
        loop {
            if let Some(event) = self.check()? {
                return Ok(event);
            }
            let (fd, flags) = self.poll_fd();
            let mut fds = [PollFd::new(&fd, flags)];
            // A bounded wait: removal of a v2 cgroup is noticed by re-checking, not by a wake-up.
            let timeout = Timespec {
                tv_sec: 1,
                tv_nsec: 0,
            };
            match poll(&mut fds, Some(&timeout)) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(CgroupError::io("poll", &self.dir, e.into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{put, Fake};

    #[test]
    fn v2_reports_new_oom_kills_and_removal() {
        let fake = Fake::v2();
        let dir = fake.dir("");
        put(&dir, "memory.events", "low 0\nmax 0\noom 0\noom_kill 2\n");
        let mut notifier = fake.cgroup.oom_notifier().unwrap();
        assert_eq!(
            notifier.check().unwrap(),
            None,
            "earlier kills are not news"
        );
        put(&dir, "memory.events", "low 0\nmax 4\noom 3\noom_kill 3\n");
        assert_eq!(notifier.check().unwrap(), Some(OomEvent::Oom { count: 3 }));
        assert_eq!(notifier.check().unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(notifier.wait().unwrap(), OomEvent::CgroupRemoved);
    }

    #[test]
    fn v1_registration_names_the_file() {
        let fake = Fake::v1(&["memory"]);
        put(
            &fake.dir("memory"),
            "memory.oom_control",
            "oom_kill_disable 0\n",
        );
        let err = fake.cgroup.oom_notifier().err().unwrap();
        assert!(err.to_string().contains("cgroup.event_control"), "{err}");
    }
}
