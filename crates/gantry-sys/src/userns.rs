//! A user namespace with given id maps, as a descriptor: what an id-mapped mount (`MOUNT_ATTR_IDMAP`) is made
//! with. A short-lived child is cloned into a new user namespace, its maps are written, its namespace is opened,
//! and the child is ended and reaped before this returns.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};

/// Returns a descriptor of a new user namespace whose `uid_map` and `gid_map` hold `uid_map` and `gid_map`
/// (lines of `inside outside count`, as the kernel reads them).
///
/// The caller must be single-threaded (this forks). The child only blocks on a pipe and exits.
pub fn with_maps(uid_map: &str, gid_map: &str) -> io::Result<OwnedFd> {
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // SAFETY: the caller guarantees the process is single-threaded; the child below only calls read(2) and
    // _exit(2), which are safe after fork.
    let (cloned, _) = unsafe { crate::clone::clone_unchecked(libc::CLONE_NEWUSER as u64, None)? };
    let pid = match cloned {
        crate::clone::Cloned::Child => {
            drop(wr);
            let mut b = [0u8; 1];
            let _ = rustix::io::read(&rd, &mut b);
            crate::clone::exit_immediately(0)
        }
        crate::clone::Cloned::Parent(pid) => pid,
    };
    drop(rd);
    let result = (|| -> io::Result<OwnedFd> {
        write_proc(pid, "uid_map", uid_map)?;
        write_proc(pid, "gid_map", gid_map)?;
        let ns = format!("/proc/{pid}/ns/user");
        Ok(rustix::fs::open(
            ns.as_str(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    })();
    drop(wr);
    let p = rustix::process::Pid::from_raw(pid);
    if result.is_err() {
        if let Some(p) = p {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
    }
    let _ = rustix::process::waitpid(p, rustix::process::WaitOptions::empty());
    result
}

fn write_proc(pid: i32, name: &str, content: &str) -> io::Result<()> {
    let path = format!("/proc/{pid}/{name}");
    let fd = rustix::fs::open(
        path.as_str(),
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io::Error::new(e.kind(), format!("open {path}: {e}")))?;
    rustix::io::write(fd.as_fd(), content.as_bytes()).map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("write {path} ({content:?}): {e}"),
        )
    })?;
    Ok(())
}
