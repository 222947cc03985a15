//! Signalling every process of a cgroup.

use crate::cgroup::Cgroup;
use crate::error::CgroupError;
use crate::fsutil;
use rustix::process::{kill_process, Pid, Signal};
use std::io;

impl Cgroup {
    /// Sends `signal` to every process in the cgroup and its sub-cgroups.
    ///
    /// `SIGKILL` goes through `cgroup.kill` when the unified hierarchy has it (Linux ≥ 5.14), which also catches
    /// processes forking meanwhile. Otherwise the cgroup is frozen, every process signalled, then thawed, so no
    /// child escapes by forking between listing and signalling (runc's approach); without a freezer the processes
    /// are signalled as listed. Processes that exit meanwhile are not an error. An empty cgroup (the usual case at
    /// `delete`: the init is gone and took its PID namespace with it) is left alone: nothing can enter it but by
    /// being moved there, and freezing it is not free (on v1 the first freeze flips a kernel static key, which
    /// patches kernel text and interrupts every CPU: ~5 % of a whole `run`'s CPU time measured in a VM).
    pub fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        let sig = Signal::from_named_raw(signal).ok_or(CgroupError::UnsupportedSignal(signal))?;
        if sig == Signal::KILL {
            if let Some(dir) = self.unified_dir() {
                let file = dir.join("cgroup.kill");
                match fsutil::write(&file, b"1") {
                    Ok(()) => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(CgroupError::io("write", file, e)),
                }
            }
        }
        if self.procs()?.is_empty() {
            return Ok(());
        }
        let frozen = match self.freeze() {
            Ok(()) => true,
            Err(CgroupError::MissingController { .. }) => false,
            Err(e) => {
                tracing::warn!(error = %e, "could not freeze the cgroup before signalling; signalling anyway");
                false
            }
        };
        let result = self.signal_each(sig);
        let thawed = if frozen { self.thaw() } else { Ok(()) };
        result.and(thawed)
    }

    fn signal_each(&self, sig: Signal) -> Result<(), CgroupError> {
        for pid in self.procs()? {
            let Some(pid) = Pid::from_raw(pid) else {
                continue;
            };
            match kill_process(pid, sig) {
                Ok(()) | Err(rustix::io::Errno::SRCH) => {}
                Err(e) => {
                    return Err(CgroupError::io(
                        "kill",
                        format!("/proc/{}", pid.as_raw_nonzero()),
                        e.into(),
                    ));
                }
            }
        }
        Ok(())
    }
}
