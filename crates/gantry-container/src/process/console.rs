//! `process.terminal`: the init opens a pty in the container's own devpts, hands the master to the caller over
//! `--console-socket` (SCM_RIGHTS, as runc does), binds the slave onto `/dev/console` through descriptors
//! (CVE-2025-52565) and makes it the controlling terminal and stdio.

use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
use rustix::pty::OpenptFlags;

use crate::process::fail::{invalid, Context, StepResult};
use crate::rootfs::options::MountOptions;

const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;

/// Sets up the console after pivot_root and sends the master to `socket`. Returns the slave (now fds 0-2).
pub fn setup(socket: BorrowedFd<'_>, size: Option<(u16, u16)>) -> StepResult {
    let (master, slave) = open_pty(size)?;
    bind_console(&slave)?;
    send_master(socket, &master)?;
    drop(master);
    make_controlling(&slave)
}

/// `process.consoleSize` as (rows, cols).
pub(crate) fn console_size(process: &oci_spec::runtime::Process) -> Option<(u16, u16)> {
    process
        .console_size()
        .as_ref()
        .map(|b| (b.height() as u16, b.width() as u16))
}

/// Opens a pty pair in the devpts at the current root's `/dev/pts` (checked to be devpts), sized `(rows, cols)`.
pub(crate) fn open_pty(size: Option<(u16, u16)>) -> StepResult<(OwnedFd, OwnedFd)> {
    let what = || "process.terminal: open a pty in the container's devpts".to_string();
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .ctx(what)?;
    if rustix::fs::fstatfs(&master).ctx(what)?.f_type as i64 != DEVPTS_SUPER_MAGIC {
        return Err(invalid(
            "process.terminal: /dev/ptmx is not a devpts multiplexer (mount devpts on /dev/pts)"
                .into(),
        ));
    }
    rustix::pty::unlockpt(&master).ctx(what)?;
    let slave = rustix::pty::ioctl_tiocgptpeer(&master, OpenptFlags::RDWR | OpenptFlags::NOCTTY)
        .ctx(what)?;
    if let Some((h, w)) = size {
        let ws = rustix::termios::Winsize {
            ws_row: h,
            ws_col: w,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&master, ws).ctx(|| "process.consoleSize".into())?;
    }
    Ok((master, slave))
}

/// Sends the pty master (with its name) to the `--console-socket` connection.
pub(crate) fn send_master(socket: BorrowedFd<'_>, master: &OwnedFd) -> StepResult {
    let name = rustix::pty::ptsname(master, Vec::new())
        .ctx(|| "process.terminal: name of the pty".into())?;
    send_fd(socket, name.as_bytes(), master.as_fd())
        .ctx(|| "send the pty master to --console-socket".into())
}

/// Starts a new session with the pty slave as controlling terminal and stdio.
pub(crate) fn make_controlling(slave: &OwnedFd) -> StepResult {
    rustix::process::setsid().ctx(|| "setsid".into())?;
    rustix::process::ioctl_tiocsctty(slave)
        .ctx(|| "make the pty the controlling terminal".into())?;
    for fd in 0..3 {
        dup_onto(slave, fd).ctx(|| format!("dup the pty onto fd {fd}"))?;
    }
    Ok(())
}

fn bind_console(slave: &OwnedFd) -> StepResult {
    let what = || "bind the pty onto /dev/console".to_string();
    let root = rustix::fs::open(
        "/",
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ctx(what)?;
    // Whatever the image put at /dev/console (a symlink to a procfs file, say) is replaced, never followed
    // (CVE-2025-52565).
    let dev =
        crate::rootfs::resolve::mkdir_all(root.as_fd(), Path::new("/dev"), 0o755).ctx(what)?;
    match rustix::fs::unlinkat(&dev, "console", rustix::fs::AtFlags::empty()) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(e).ctx(what),
    }
    drop(
        rustix::fs::openat(
            &dev,
            "console",
            rustix::fs::OFlags::CREATE
                | rustix::fs::OFlags::EXCL
                | rustix::fs::OFlags::NOFOLLOW
                | rustix::fs::OFlags::WRONLY
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .ctx(what)?,
    );
    let target = rustix::fs::openat(
        &dev,
        "console",
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ctx(what)?;
    let tree = rustix::mount::open_tree(
        slave,
        "",
        rustix::mount::OpenTreeFlags::OPEN_TREE_CLONE
            | rustix::mount::OpenTreeFlags::OPEN_TREE_CLOEXEC
            | rustix::mount::OpenTreeFlags::AT_EMPTY_PATH,
    )
    .ctx(what)?;
    crate::rootfs::mounts::attach(tree.as_fd(), target.as_fd(), &MountOptions::default()).ctx(what)
}

fn dup_onto(fd: &OwnedFd, target: i32) -> std::io::Result<()> {
    gantry_sys::fd::dup_onto(fd.as_fd(), target)
}

/// Sends `payload` with one descriptor over a connected unix socket.
pub fn send_fd(socket: BorrowedFd<'_>, payload: &[u8], fd: BorrowedFd<'_>) -> std::io::Result<()> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    let fds = [fd];
    cmsg.push(SendAncillaryMessage::ScmRights(&fds));
    let payload = if payload.is_empty() {
        b"console".as_slice()
    } else {
        payload
    };
    rustix::net::sendmsg(
        socket,
        &[IoSlice::new(payload)],
        &mut cmsg,
        SendFlags::NOSIGNAL,
    )?;
    Ok(())
}

/// Receives one descriptor sent with [`send_fd`] over a connected unix socket.
pub fn recv_fd(socket: BorrowedFd<'_>) -> std::io::Result<OwnedFd> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = RecvAncillaryBuffer::new(&mut space);
    let mut buf = [0u8; 256];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    rustix::net::recvmsg(socket, &mut iov, &mut cmsg, RecvFlags::CMSG_CLOEXEC)?;
    for msg in cmsg.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
            if let Some(fd) = fds.next() {
                return Ok(fd);
            }
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the console message carried no descriptor",
    ))
}
