//! Freezing and thawing a cgroup: v1 `freezer.state`, v2 `cgroup.freeze` + `cgroup.events`.

use crate::cgroup::{Cgroup, Version};
use crate::error::CgroupError;
use crate::fsutil;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long to wait for the kernel to finish freezing or thawing.
const PATIENCE: Duration = Duration::from_secs(5);

impl Cgroup {
    /// Freezes every process of the cgroup and returns once the kernel reports the cgroup frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        self.set_frozen(true)
    }

    /// Thaws the cgroup and returns once the kernel reports it thawed.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        self.set_frozen(false)
    }

    /// Whether the cgroup is currently frozen (for `state` to report `paused`).
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        match self.freezer()? {
            (Version::V1, dir) => {
                let file = dir.join("freezer.state");
                let text = fsutil::read(&file).map_err(|e| CgroupError::io("read", &file, e))?;
                Ok(text.trim() == "FROZEN")
            }
            (Version::V2, dir) => {
                let file = dir.join("cgroup.events");
                let text = fsutil::read(&file).map_err(|e| CgroupError::io("read", &file, e))?;
                Ok(fsutil::keyed_value(&text, "frozen") == Some(1))
            }
        }
    }

    fn freezer(&self) -> Result<(Version, &Path), CgroupError> {
        if let Some(dir) = self.v1_dir("freezer") {
            return Ok((Version::V1, dir));
        }
        match self.unified_dir() {
            Some(dir) => Ok((Version::V2, dir)),
            None => Err(CgroupError::MissingController {
                field: "pause/resume".into(),
                controller: "freezer",
                detail: String::new(),
            }),
        }
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        match self.freezer()? {
            (Version::V1, dir) => set_frozen_v1(dir, frozen),
            (Version::V2, dir) => set_frozen_v2(dir, frozen),
        }
    }
}

fn set_frozen_v1(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    let file = dir.join("freezer.state");
    let want = if frozen { "FROZEN" } else { "THAWED" };
    let deadline = Instant::now() + PATIENCE;
    let mut delay = Duration::from_micros(100);
    let mut buf = String::new();
    loop {
        // Re-writing the wanted state nudges a FREEZING cgroup whose tasks were busy (as runc does).
        fsutil::write(&file, want.as_bytes()).map_err(|e| CgroupError::io("write", &file, e))?;
        fsutil::read_into(&file, &mut buf).map_err(|e| CgroupError::io("read", &file, e))?;
        if buf.trim() == want {
            return Ok(());
        }
        if Instant::now() >= deadline {
            if frozen {
                // Leave it usable rather than half-frozen.
                let _ = fsutil::write(&file, b"THAWED");
            }
            return Err(CgroupError::Timeout {
                op: if frozen { "freeze" } else { "thaw" },
                path: dir.to_owned(),
            });
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(10));
    }
}

fn set_frozen_v2(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    let control = dir.join("cgroup.freeze");
    fsutil::write(&control, if frozen { b"1" } else { b"0" })
        .map_err(|e| CgroupError::io("write", &control, e))?;
    let events_path = dir.join("cgroup.events");
    let mut events =
        File::open(&events_path).map_err(|e| CgroupError::io("open", &events_path, e))?;
    let want = u64::from(frozen);
    let deadline = Instant::now() + PATIENCE;
    let mut buf = String::new();
    loop {
        events
            .seek(SeekFrom::Start(0))
            .map_err(|e| CgroupError::io("seek", &events_path, e))?;
        fsutil::read_open(&mut events, &mut buf)
            .map_err(|e| CgroupError::io("read", &events_path, e))?;
        if fsutil::keyed_value(&buf, "frozen") == Some(want) {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            if frozen {
                let _ = fsutil::write(&control, b"0");
            }
            return Err(CgroupError::Timeout {
                op: if frozen { "freeze" } else { "thaw" },
                path: dir.to_owned(),
            });
        }
        // cgroup.events signals changes with POLLPRI; the timeout bounds a missed notification.
        let left = (deadline - now).min(Duration::from_millis(50));
        let timeout = Timespec {
            tv_sec: 0,
            tv_nsec: left.subsec_nanos().into(),
        };
        let mut fds = [PollFd::new(&events, PollFlags::PRI)];
        poll(&mut fds, Some(&timeout))
            .map_err(|e| CgroupError::io("poll", &events_path, e.into()))?;
    }
}
