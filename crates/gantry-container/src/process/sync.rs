//! The messages between the runtime (parent) and the container's init (child) over a `SOCK_SEQPACKET` pair.
//! Each message is one packet: a tag byte, then its payload. A message that arrives out of order is an error.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::net::{self, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

/// A message on the sync socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// parent → child: id maps written and cgroup joined (unless it joins late: then [`Msg::Joined`] follows); go
    /// on with setup. Carries the init's host PID (for the state given to hooks).
    Go(i32),
    /// parent → child, after [`Msg::Go`] when the init joins its cgroup late (see `spawn::joins_late`): the init is
    /// in its cgroup now.
    Joined,
    /// child → parent: namespaces and mounts are ready; run the `prestart` and `createRuntime` hooks now.
    RunHooks,
    /// parent → child: hooks done.
    HooksDone,
    /// child → parent (staged mode): a new user namespace was unshared; write the id maps of this PID.
    MapsNeeded(i32),
    /// child → parent (staged mode): the grandchild with this host PID is the container's init.
    Init(i32),
    /// child → parent: the seccomp user-notification fd has this number in the init; take it (pidfd_getfd) and
    /// hand it to the listener, then answer `HooksDone`.
    NotifyFd(i32),
    /// child → parent: setup finished; the init waits for [`Msg::Recorded`], then at the start gate.
    Ready,
    /// parent → child: the container is recorded in its state directory (so `state` and `delete` find it): the init
    /// may now outlive the runtime. Until then, the runtime's death (EOF) ends the init.
    Recorded,
    /// child → parent: setup failed at `context` with `errno`.
    Failed {
        /// The OS error number.
        errno: i32,
        /// What was being done, naming the field or path.
        context: String,
    },
}

const GO: u8 = 1;
const RUN_HOOKS: u8 = 2;
const HOOKS_DONE: u8 = 3;
const MAPS_NEEDED: u8 = 4;
const INIT: u8 = 5;
const READY: u8 = 6;
const FAILED: u8 = 7;
const NOTIFY_FD: u8 = 8;
const RECORDED: u8 = 9;
const JOINED: u8 = 10;

/// Largest packet (an error context is cut to fit).
const MAX_PACKET: usize = 4096;

impl Msg {
    fn encode(&self, buf: &mut Vec<u8>) {
        match self {
            Msg::Go(pid) => {
                buf.push(GO);
                buf.extend_from_slice(&pid.to_le_bytes());
            }
            Msg::Joined => buf.push(JOINED),
            Msg::RunHooks => buf.push(RUN_HOOKS),
            Msg::HooksDone => buf.push(HOOKS_DONE),
            Msg::MapsNeeded(pid) => {
                buf.push(MAPS_NEEDED);
                buf.extend_from_slice(&pid.to_le_bytes());
            }
            Msg::Init(pid) => {
                buf.push(INIT);
                buf.extend_from_slice(&pid.to_le_bytes());
            }
            Msg::NotifyFd(fd) => {
                buf.push(NOTIFY_FD);
                buf.extend_from_slice(&fd.to_le_bytes());
            }
            Msg::Ready => buf.push(READY),
            Msg::Recorded => buf.push(RECORDED),
            Msg::Failed { errno, context } => {
                buf.push(FAILED);
                buf.extend_from_slice(&errno.to_le_bytes());
                let room = MAX_PACKET - buf.len();
                let mut end = context.len().min(room);
                while !context.is_char_boundary(end) {
                    end -= 1;
                }
                buf.extend_from_slice(&context.as_bytes()[..end]);
            }
        }
    }

    /// Decodes one packet.
    pub fn decode(p: &[u8]) -> io::Result<Msg> {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed sync message");
        let int = |p: &[u8]| -> io::Result<i32> {
            Ok(i32::from_le_bytes(
                p.get(1..5).ok_or_else(bad)?.try_into().map_err(|_| bad())?,
            ))
        };
        Ok(match *p.first().ok_or_else(bad)? {
            GO => Msg::Go(int(p)?),
            JOINED => Msg::Joined,
            RUN_HOOKS => Msg::RunHooks,
            HOOKS_DONE => Msg::HooksDone,
            MAPS_NEEDED => Msg::MapsNeeded(int(p)?),
            INIT => Msg::Init(int(p)?),
            NOTIFY_FD => Msg::NotifyFd(int(p)?),
            READY => Msg::Ready,
            RECORDED => Msg::Recorded,
            FAILED => Msg::Failed {
                errno: int(p)?,
                context: String::from_utf8_lossy(&p[5..]).into_owned(),
            },
            _ => return Err(bad()),
        })
    }
}

/// One end of the sync socket.
pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    /// A connected pair (parent end, child end), both close-on-exec.
    pub fn pair() -> io::Result<(Channel, Channel)> {
        let (a, b) = net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    /// Sends `msg`.
    pub fn send(&self, msg: &Msg) -> io::Result<()> {
        let mut buf = Vec::with_capacity(16);
        msg.encode(&mut buf);
        loop {
            match net::send(&self.fd, &buf, SendFlags::NOSIGNAL) {
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Receives one message; `Ok(None)` when the other end closed (it exited).
    pub fn recv(&self) -> io::Result<Option<Msg>> {
        let mut buf = [0u8; MAX_PACKET];
        loop {
            match net::recv(&self.fd, &mut buf, RecvFlags::empty()) {
                Ok((0, _)) => return Ok(None),
                Ok((n, _)) => return Msg::decode(&buf[..n]).map(Some),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Whether the other end is closed (its process exited), without waiting.
    pub fn peer_gone(&self) -> bool {
        let mut fds = [rustix::event::PollFd::new(
            &self.fd,
            rustix::event::PollFlags::empty(),
        )];
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(1))
            && fds[0].revents().contains(rustix::event::PollFlags::HUP)
    }

    /// Receives one message and checks it is `want`.
    pub fn expect(&self, want: &Msg) -> io::Result<()> {
        match self.recv()? {
            Some(ref m) if m == want => Ok(()),
            Some(m) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("sync: expected {want:?}, got {m:?}"),
            )),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("sync: peer closed while waiting for {want:?}"),
            )),
        }
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (a, b) = Channel::pair().unwrap();
        for m in [
            Msg::Go(42),
            Msg::Joined,
            Msg::RunHooks,
            Msg::HooksDone,
            Msg::MapsNeeded(7),
            Msg::Init(-1),
            Msg::NotifyFd(9),
            Msg::Ready,
            Msg::Recorded,
            Msg::Failed {
                errno: 2,
                context: "mount proc on /proc (mounts[0])".into(),
            },
        ] {
            a.send(&m).unwrap();
            assert_eq!(b.recv().unwrap(), Some(m));
        }
        assert!(!b.peer_gone());
        drop(a);
        assert!(b.peer_gone());
        assert_eq!(b.recv().unwrap(), None);
    }

    #[test]
    fn long_context_is_cut_on_a_char_boundary() {
        let mut buf = Vec::new();
        Msg::Failed {
            errno: 1,
            context: "é".repeat(5000),
        }
        .encode(&mut buf);
        assert!(buf.len() <= MAX_PACKET);
        assert!(matches!(Msg::decode(&buf).unwrap(), Msg::Failed { .. }));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(Msg::decode(&[]).is_err());
        assert!(Msg::decode(&[99]).is_err());
        assert!(Msg::decode(&[MAPS_NEEDED, 1]).is_err());
    }
}
